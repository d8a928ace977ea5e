"""The event registry's codec against the bare JSON step it rides on, in the same run.

Every event that crosses processes (``INBOX_REDIS_URL``) is encoded once by the publisher
and decoded once by every other process. This times, for a ``MessageCreated`` with a
realistic message and conversation (the commonest and largest event):

- **json only**: ``json.dumps`` + ``json.loads`` of the finished document (the floor: what
  any codec must pay for the text);
- **registry**: ``EventRegistry.to_json`` + ``from_json`` (the type-driven conversion to
  and from dataclasses, plus the same JSON step);
- **msgspec json** (when ``msgspec`` is importable): ``msgspec.json`` encode + decode of the
  same document, to show what a faster JSON layer alone would save.

Prints events per second for each and the ratio of the registry to the floor.

    .venv/bin/python -m bench.bench_event_codec [--events 20000]
"""

from __future__ import annotations

import argparse
import importlib
import json
import time
from collections.abc import Callable

from server.events import event_registry
from tests.redis.samples import ALL_EVENTS


def _rate(work: Callable[[], object], n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        work()
    return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    registry = event_registry()
    event = ALL_EVENTS[0]
    doc = registry.to_dict(event)
    text = registry.to_json(event)
    assert registry.from_json(text) == event

    floor = _rate(lambda: json.loads(json.dumps(doc, separators=(",", ":"))), args.events)
    ours = _rate(lambda: registry.from_json(registry.to_json(event)), args.events)
    print(f"event: {type(event).__name__}, {len(text)} bytes of JSON, {args.events} round trips")
    print(f"json only (floor)      {floor:>10,.0f} round trips/s")
    print(f"registry codec         {ours:>10,.0f} round trips/s   {ours / floor:.2f}x the floor")
    try:
        msgspec_json = importlib.import_module("msgspec.json")
    except ImportError:
        print("msgspec json           (msgspec not installed)")
        return
    encode, decode = msgspec_json.encode, msgspec_json.decode
    fast = _rate(lambda: decode(encode(doc)), args.events)
    print(f"msgspec json           {fast:>10,.0f} round trips/s   {fast / floor:.2f}x the floor")


if __name__ == "__main__":
    main()
