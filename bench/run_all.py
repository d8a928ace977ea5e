"""Run the quick version of every benchmark in ``bench/`` and print one JSON line each.

Each benchmark runs in its own process with its quick mode or small arguments (the table
below), so the whole set takes well under three minutes. Benchmarks that print their own
JSON line (``bench_http``) are passed through; for the older ones, which print text,
the line carries the exit code, the wall time and the last lines of their output, so a
smoke run shows what they said. Timings here are never a gate: the exit code is non-zero
only when a benchmark failed to run.

    python -m bench.run_all [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Final

_ROOT = Path(__file__).resolve().parent.parent

#: Each benchmark module and the arguments of its quick run.
QUICK: Final[dict[str, list[str]]] = {
    "bench_http": ["--quick"],
    "bench_memory": ["--quick"],
    "bench_routing_scale": ["--quick"],
    "bench_ingest": ["--messages", "300", "--concurrency", "32"],
    "bench_event_codec": ["--events", "2000"],
    "bench_telegram_convert": ["--updates", "2000"],
    "bench_routing_decisions": ["--operators", "50", "--backlog", "100", "--arrivals", "200"],
    "bench_routing_service": [
        "--operators", "50", "--conversations", "200", "--messages", "200", "--concurrency", "16",
    ],
    "bench_routing_sim": ["--small"],
    "bench_search": ["--conversations", "2000", "--repeat", "3"],
    "bench_reports": ["--conversations", "2000", "--months", "1", "--repeat", "1"],
    "bench_fanout": ["--quick"],
    # Reads INBOX_TEST_POSTGRES_URL and INBOX_TEST_REDIS_URL (passed through); without
    # both it prints a skipped line with ok true.
    "bench_two_processes": ["--quick"],
}  # fmt: skip
#: A benchmark still running after this long is stopped and reported as such.
TIMEOUT: Final = 90.0


def run(name: str, args: list[str]) -> tuple[dict[str, object], bool]:
    """Run one benchmark; its own JSON line if it printed one, else a summary line."""
    argv = [sys.executable, "-m", f"bench.{name}", *args]
    env = {**os.environ, "PYTHONPATH": str(_ROOT)}
    started = time.perf_counter()
    try:
        done = subprocess.run(  # noqa: S603 - our own argv
            argv, env=env, cwd=_ROOT, capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        return {"name": name, "args": args, "ok": False, "error": f"timeout {TIMEOUT:.0f} s"}, False
    seconds = round(time.perf_counter() - started, 1)
    lines = done.stdout.strip().splitlines()
    if done.returncode == 0 and lines:
        try:
            line = json.loads(lines[-1])
        except json.JSONDecodeError:
            pass
        else:
            if isinstance(line, dict) and "name" in line:
                line["wall_seconds"] = seconds
                return line, True
    tail = (lines or done.stderr.strip().splitlines())[-6:]
    ok = done.returncode == 0
    return {"name": name, "args": args, "ok": ok, "wall_seconds": seconds, "output": tail}, ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", choices=sorted(QUICK), help="run just these")
    chosen = parser.parse_args().only or list(QUICK)
    failed = 0
    for name in chosen:
        line, ok = run(name, QUICK[name])
        failed += not ok
        print(json.dumps(line, ensure_ascii=False), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
