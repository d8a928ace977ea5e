"""Telegram webhook bodies to inbound messages: the plain-text fast path against the full
path (python-telegram-bot's ``Update`` and the converter), in the same run.

Times, for the plain text update of the shared fixtures (distinct ids per update), what
the adapter does after the secret check: ``json.loads`` of the body, then either
:func:`channels.telegram.fast.convert_plain_text` or
:func:`channels.telegram.webhook.parse_update` + :func:`channels.telegram.converter.convert_update`.
The floor is ``json.loads`` alone. Prints updates per second for each, the ratio of the
fast path to the full one, and one JSON line.

    python -m bench.bench_telegram_convert [--updates 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from channels.telegram.converter import convert_update
from channels.telegram.fast import convert_plain_text
from channels.telegram.webhook import parse_update
from inbox.domain.ids import ChannelId

FIXTURE = Path("/work/shared/fixtures/telegram/telegram_update_text.json")
CHANNEL = ChannelId("bench")


def _bodies(n: int) -> list[bytes]:
    base: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    bodies = []
    for i in range(n):
        update = json.loads(json.dumps(base))
        update["update_id"] = 1_000_000 + i
        update["message"]["message_id"] = i + 1
        update["message"]["chat"]["id"] = update["message"]["from"]["id"] = 5_000_000 + i
        bodies.append(json.dumps(update, ensure_ascii=False).encode())
    return bodies


def _rate(bodies: list[bytes], work: Callable[[bytes], object]) -> float:
    started = time.perf_counter()
    for body in bodies:
        work(body)
    return len(bodies) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=20_000)
    args = parser.parse_args()
    bodies = _bodies(args.updates)

    def full(body: bytes) -> object:
        return convert_update(CHANNEL, parse_update(json.loads(body)))

    def fast(body: bytes) -> object:
        return convert_plain_text(CHANNEL, json.loads(body))

    assert fast(bodies[0]) == full(bodies[0])
    rates = {"json_only": _rate(bodies, json.loads), "full": _rate(bodies, full)}
    rates["fast"] = _rate(bodies, fast)
    for name, rate in rates.items():
        print(f"{name:9} {rate:12,.0f} updates/s")
    ratio = rates["fast"] / rates["full"]
    print(
        f"fast path / full path: x{ratio:.1f}; fast path / json.loads alone: "
        f"x{rates['fast'] / rates['json_only']:.2f}"
    )
    line = {
        "name": "telegram_convert",
        "updates": args.updates,
        "figures": {k: round(v) for k, v in rates.items()},
        "ratios": {"fast_vs_full": round(ratio, 2)},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    print(json.dumps(line))


if __name__ == "__main__":
    main()
