"""Two processes: a Telegram webhook update posted to ``inbox serve`` process A reaches a
supervisor's socket on process B, both on one PostgreSQL schema with Redis carrying the
events between them (docs/performance.md).

Open loop: update i is due at ``start + i / rate`` and sent then, answered or not, stamped
with its due time; the figure is due time -> ``message.created`` frame on B's socket. The
baseline, in the same run on the same two processes: the same stream with the socket on A
(the frame does not cross Redis). A fresh schema is created for the run and dropped after.

    python -m bench.bench_two_processes [--quick] --postgres URL --redis URL
    (or INBOX_TEST_POSTGRES_URL / INBOX_TEST_REDIS_URL; without both it skips, exit 0)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from bench.bench_http import DRAIN_TIMEOUT, _fresh_postgres, _sql
from bench.http_clients import ANSWER_TIMEOUT, Poster, open_console, pct, update
from bench.http_support import Prepared, ServerProcess, machine, prepare, print_result
from tests.fakes.telegram_api import TelegramApiFake


async def stream(
    sender: ServerProcess, receiver: ServerProcess, prep: Prepared, rate: int, seconds: float
) -> dict[str, Any]:
    """Post ``rate * seconds`` updates to ``sender`` on schedule; frames read on ``receiver``."""
    total = int(rate * seconds)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        poster = Poster(
            http, f"{sender.url}/webhooks/telegram/{prep.telegram_id}", prep.telegram_secret
        )
        console = await open_console(http, receiver, prep.supervisor)
        reader = asyncio.create_task(console.read())
        base = int(uuid.uuid4().int % 10**9) * 1000
        answers: list[float] = []
        tasks: list[asyncio.Task[None]] = []

        async def send(n: int, due: float) -> None:
            body = update(base + n, base + n % 500, f"bench p{n} {due}")
            if await poster.post(body):
                answers.append(time.perf_counter() - due)

        start = time.perf_counter() + 0.05
        for n in range(total):
            due = start + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(n, due)))
        await asyncio.gather(*tasks)
        await console.wait_for(total, DRAIN_TIMEOUT)
        await console.ws.close()
        reader.cancel()
        return {
            "offered_rate": rate,
            "seconds": seconds,
            "sent": total,
            "answer_p50_ms": pct(answers, 50),
            "answer_p99_ms": pct(answers, 99),
            "frame_p50_ms": pct(console.latency, 50),
            "frame_p99_ms": pct(console.latency, 99),
            "non_2xx": poster.errors,
            "no_answer_in_time": poster.timeouts,
            "frames_missing": total - len(console.arrived),
        }


async def main_async(postgres: str, redis: str, rate: int, seconds: float) -> dict[str, Any]:
    url, schema = await _fresh_postgres(postgres)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-two-") as tmp_name:
            async with TelegramApiFake() as fake:
                prep = await prepare(url, Path(tmp_name), fake)
            env = {**prep.env, "INBOX_REDIS_URL": redis}
            async with ServerProcess.inbox(env) as a, ServerProcess.inbox(env) as b:
                # Same process first, so the cross-process run is not the one that warms up.
                same = await stream(a, a, prep, rate, seconds)
                cross = await stream(a, b, prep, rate, seconds)
    finally:
        await _sql(postgres, f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    ratio = (
        round(same["frame_p99_ms"] / cross["frame_p99_ms"], 3)
        if same["frame_p99_ms"] and cross["frame_p99_ms"]
        else None
    )
    p99 = cross["frame_p99_ms"]
    return {
        "figures": {"a_to_b": cross, "a_to_a": same},
        "ratios": {"same_process_vs_cross_frame_p99": ratio},
        "goals": {"a_to_b_frame_p99<=20ms": p99 is not None and p99 <= 20},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 s instead of 10 s")
    parser.add_argument(
        "--postgres", metavar="URL", default=os.environ.get("INBOX_TEST_POSTGRES_URL")
    )
    parser.add_argument("--redis", metavar="URL", default=os.environ.get("INBOX_TEST_REDIS_URL"))
    parser.add_argument("--rate", type=int, default=300, help="offered messages/s")
    args = parser.parse_args()
    if not args.postgres or not args.redis:
        print(
            "skipped: bench_two_processes needs --postgres URL and --redis URL "
            "(or INBOX_TEST_POSTGRES_URL and INBOX_TEST_REDIS_URL)"
        )
        print_result("bench_two_processes", {}, {}, ok=True, skipped="no PostgreSQL/Redis given")
        return
    seconds = 3.0 if args.quick else 10.0
    result = asyncio.run(main_async(args.postgres, args.redis, args.rate, seconds))
    for label, r in (
        ("A -> socket on B", result["figures"]["a_to_b"]),
        ("A -> socket on A", result["figures"]["a_to_a"]),
    ):
        print(
            f"{label}: {r['offered_rate']}/s for {r['seconds']} s, arrival->frame p50/p99 "
            f"{r['frame_p50_ms']}/{r['frame_p99_ms']} ms, answer p50/p99 "
            f"{r['answer_p50_ms']}/{r['answer_p99_ms']} ms; non-2xx {r['non_2xx']}, no answer "
            f"in {ANSWER_TIMEOUT:.0f} s {r['no_answer_in_time']}, "
            f"frames missing {r['frames_missing']}"
        )
    ratio = result["ratios"]["same_process_vs_cross_frame_p99"]
    print(f"same-process p99 / cross-process p99: {ratio} (goal: cross-process p99 <= 20 ms)")
    print_result(
        "bench_two_processes",
        result["figures"],
        result["ratios"],
        goals=result["goals"],
        machine=machine("postgresql+redis"),
        mode={"rate": args.rate, "seconds": seconds},
    )


if __name__ == "__main__":
    main()
