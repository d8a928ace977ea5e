"""Inbound throughput: group commit against one transaction per message.

Runs ``ingest_inbound`` for N customer messages arriving C at a time (different customers,
as on a busy webhook), first with the store's group commit (``batch_max=64``) and then with
``batch_max=1`` — the baseline of one transaction and one COMMIT per message — on the same
database engine in the same run, and prints both rates and their ratio. Each message's
``ingest_inbound`` call returns only after its COMMIT in both modes; only the batching
differs. Then it sends messages one at a time and prints the median time of one ingest
(the latency of a quiet server).

    python -m bench.bench_ingest [--messages 2000] [--concurrency 100] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import event

from inbox.bus import InProcessEventBus
from inbox.domain.channels import ChannelKind
from inbox.domain.clock import SystemClock
from inbox.domain.content import Text
from inbox.domain.messages import InboundMessage, SenderProfile
from inbox.usecases import Core, add_channel, ingest_inbound
from server.channels import CATALOG
from storage import migrate, open_store


async def _run(url: str, *, batch_max: int, messages: int, concurrency: int) -> tuple[float, int]:
    await migrate(url)
    store = await open_store(url, batch_max=batch_max)
    commits = 0

    def count(*_: object) -> None:
        nonlocal commits
        commits += 1

    event.listen(store.sync_engine, "commit", count)
    core = Core(store=store, bus=InProcessEventBus(), clock=SystemClock(), channels=CATALOG)
    channel = await add_channel(core, ChannelKind("webchat"), f"bench-{batch_max}", {})
    semaphore = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        async with semaphore:
            await ingest_inbound(
                core,
                InboundMessage(
                    channel_id=channel.id,
                    external_id=f"m{n}",
                    sender=SenderProfile(f"u{n % 500}", display_name=f"Customer {n % 500}"),
                    parts=(Text(f"message number {n}"),),
                ),
            )

    commits = 0
    started = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(messages)))
    elapsed = time.perf_counter() - started
    await store.close()
    return messages / elapsed, commits


async def _one_at_a_time(url: str, messages: int) -> float:
    """Median seconds per ingest, each message sent after the previous one committed."""
    await migrate(url)
    store = await open_store(url)
    core = Core(store=store, bus=InProcessEventBus(), clock=SystemClock(), channels=CATALOG)
    channel = await add_channel(core, ChannelKind("webchat"), "bench-sequential", {})
    took = []
    for n in range(messages):
        inbound = InboundMessage(
            channel_id=channel.id,
            external_id=f"s{n}",
            sender=SenderProfile(f"u{n % 50}", display_name=f"Customer {n % 50}"),
            parts=(Text(f"message number {n}"),),
        )
        started = time.perf_counter()
        await ingest_inbound(core, inbound)
        took.append(time.perf_counter() - started)
    await store.close()
    return statistics.median(took)


async def _bench(label: str, url_for: object, messages: int, concurrency: int) -> None:
    assert callable(url_for)
    batched, batched_commits = await _run(
        url_for("batched"), batch_max=64, messages=messages, concurrency=concurrency
    )
    single, single_commits = await _run(
        url_for("single"), batch_max=1, messages=messages, concurrency=concurrency
    )
    latency = await _one_at_a_time(url_for("sequential"), min(messages, 300))
    print(f"{label}: {messages} messages, {concurrency} at a time")
    print(f"  baseline, a transaction per message: {single:8.0f} msg/s, {single_commits} commits")
    print(f"  group commit:                        {batched:8.0f} msg/s, {batched_commits} commits")
    print(f"  ratio group commit / baseline: {batched / single:.2f}x")
    print(f"  one at a time: {latency * 1000:.2f} ms per message (median)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--postgres", help="also run on this PostgreSQL URL (a scratch database)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:

        def sqlite_url(name: str) -> str:
            return f"sqlite+aiosqlite:///{Path(tmp) / name}.db"

        asyncio.run(_bench("SQLite (WAL)", sqlite_url, args.messages, args.concurrency))
    if args.postgres:
        base: str = args.postgres

        def pg_url(name: str) -> str:
            return base  # one database; each run uses its own channel, so no dedup overlap

        asyncio.run(_bench("PostgreSQL", pg_url, args.messages, args.concurrency))


if __name__ == "__main__":
    main()
