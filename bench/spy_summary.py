"""Summarise a ``py-spy record --threads --idle --format raw`` file: per thread, how busy
it was and which functions the busy samples were in (inclusive, so the shares of nested
functions overlap), as docs/performance.md shows them.

    python -m bench.spy_summary FILE [--top 15]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter, defaultdict
from pathlib import Path

#: A sample of a thread that serves (the event loop, a SQLite worker) ...
_SERVING = ("BaseEventLoop._run_once", "SqliteWriter._serve", "SqliteReaders._serve")
#: ... is busy when it is inside one of these (a callback, a write batch, a read), else
#: it waits. Samples outside serving (start-up imports, shutdown) are left out.
_WORKING = ("Handle._run", "SqliteWriter._commit", "SqliteReaders._read")
#: Frames every busy sample of a thread passes through say nothing; shares above this
#: are not listed.
_WRAPPER = 0.97
_LINE = re.compile(r" \((.*?):\d+\)$")


def _name(frame: str) -> str:
    """``fn (path:line)`` without the line, so one function's samples add up."""
    match = _LINE.search(frame)
    return frame[: match.start()] + f" ({match.group(1)})" if match else frame


def summarise(path: Path, top: int) -> str:
    totals: Counter[str] = Counter()
    busy: Counter[str] = Counter()
    inclusive: dict[str, Counter[str]] = defaultdict(Counter)
    for raw in path.read_text("utf-8", "replace").splitlines():
        stack, _, count_text = raw.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        thread = re.sub(r"^thread \(\d+\): ", "", frames[0])
        names = [_name(f) for f in frames[1:]]
        if not any(n.startswith(_SERVING) for n in names):
            continue
        totals[thread] += count
        if not any(n.startswith(_WORKING) for n in names):
            continue
        busy[thread] += count
        for name in set(names):
            inclusive[thread][name] += count
    out = []
    for thread, total in totals.most_common():
        if busy[thread] < 5:
            continue
        share = busy[thread] / total
        out.append(
            f"{thread}: busy in {busy[thread]} of {total} samples while serving ({share:.0%})"
        )
        listed = [(n, c) for n, c in inclusive[thread].most_common() if c / busy[thread] < _WRAPPER]
        for name, count in listed[:top]:
            out.append(f"  {count / busy[thread]:6.1%}  {name}")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    print(summarise(args.file, args.top))


if __name__ == "__main__":
    main()
