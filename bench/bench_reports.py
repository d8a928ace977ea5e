"""A month's reports at scale: 200,000 conversations and 1,000,000 messages.

Seeds (bulk inserts, not through the use cases) contacts, conversations spread evenly over
``--months`` months up to the end of March 2026, five messages each (customer, operator,
customer, operator, customer), one episode of facts each as the recorder keeps them, a
routing task with an SLA outcome for most, and an order for every tenth conversation
(half of them paid). Then times, over March 2026 in Europe/Moscow, through the reports
service as the REST API calls it:

- ``SELECT count(*)`` of the month's messages (the baseline: the plainest question one
  can ask of the month),
- the summary, the breakdowns by channel, operator and tag, and the heat map.

Each line is the median of ``--repeat`` runs and its ratio to the baseline measured in
the same run.

    python -m bench.bench_reports [--conversations 200000] [--repeat 5] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url

from inbox.domain.clock import SystemClock
from inbox.domain.content import Text, parts_to_json
from inbox.domain.ids import new_id
from payments.money import to_string
from reports import ReportQuery, ReportService
from reports.records import bucket_of
from storage import SqlStore, make_engine, migrate, open_store, tables
from storage.tables_reports import report_facts

CHUNK = 5000
END = datetime(2026, 3, 31, 21, 0, tzinfo=UTC)  # 2026-04-01 00:00 in Moscow
MARCH = ReportQuery("2026-03-01", "2026-03-31", "Europe/Moscow")
REASONS = ["Sold", "Question answered", "Not in stock", "Too expensive", "Spam", ""]
TAGS = [["vip"], ["wholesale"], [], [], [], []]


async def seed(store: SqlStore, count: int, months: int) -> None:
    rng = random.Random(14)
    span = timedelta(days=30.5 * months).total_seconds()
    start = END - timedelta(seconds=span)
    channel_ids, operator_ids, queue_ids = [new_id() for _ in range(4)], [], []
    async with store.engine.begin() as conn:
        for n, cid in enumerate(channel_ids):
            await conn.execute(
                insert(tables.channels).values(
                    id=cid,
                    kind="webchat",
                    name=f"Shop {n}",
                    created_at=start,
                    options={},
                    enabled=True,
                )
            )
        for n in range(30):
            operator_ids.append(new_id())
            await conn.execute(
                insert(tables.operators).values(
                    id=operator_ids[-1],
                    login=f"op{n}",
                    display_name=f"Op {n}",
                    role="operator",
                    password_hash="x",
                    created_at=start,
                    skills={},
                    capacity=5,
                    presence="online",
                    disabled=False,
                )
            )
        for n in range(3):
            queue_ids.append(new_id())
            await conn.execute(
                insert(tables.queues).values(
                    id=queue_ids[-1],
                    name=f"queue {n}",
                    settings={},
                    state={},
                    is_default=n == 0,
                    created_at=start,
                    updated_at=start,
                )
            )
    parts = parts_to_json([Text("Здравствуйте, где мой заказ?")])
    number = 1000
    for first in range(0, count, CHUNK):
        rows: dict[str, list[dict[str, Any]]] = {
            "contacts": [],
            "conversations": [],
            "messages": [],
            "facts": [],
            "tasks": [],
            "orders": [],
        }
        for i in range(first, min(first + CHUNK, count)):
            contact_id, conv_id = new_id(), new_id()
            channel_id = channel_ids[i % len(channel_ids)]
            received = start + timedelta(seconds=span * i / count)
            operator = rng.choice(operator_ids)
            answered = rng.random() < 0.85
            frt = rng.expovariate(1 / 180) if answered else None
            resolved = received + timedelta(seconds=rng.expovariate(1 / 3600) + (frt or 0))
            is_resolved = resolved < END and rng.random() < 0.9
            rows["contacts"].append(
                {
                    "id": contact_id,
                    "display_name": f"C {i}",
                    "created_at": received,
                    "phone": "",
                    "email": "",
                    "tags": TAGS[i % len(TAGS)],
                }
            )
            rows["conversations"].append(
                {
                    "id": conv_id,
                    "channel_id": channel_id,
                    "contact_id": contact_id,
                    "status": "resolved" if is_resolved else "assigned",
                    "created_at": received,
                    "updated_at": resolved,
                    "assignee_id": operator,
                    "last_message_seq": 5,
                    "last_message_at": resolved,
                    "unread_count": 0,
                    "queued_at": received,
                    "resolved_at": resolved if is_resolved else None,
                    "subject": "",
                    "preview": "",
                    "contact_name": f"C {i}",
                    "channel_kind": "webchat",
                    "thread_key": "",
                }
            )
            for seq in range(1, 6):
                customer = seq % 2 == 1
                rows["messages"].append(
                    {
                        "id": new_id(),
                        "conversation_id": conv_id,
                        "channel_id": channel_id,
                        "seq": seq,
                        "kind": "message",
                        "direction": "inbound" if customer else "outbound",
                        "author_kind": "customer" if customer else "operator",
                        "author_id": None if customer else operator,
                        "parts": parts,
                        "status": "received" if customer else "delivered",
                        "created_at": received + timedelta(seconds=60 * seq),
                        "author_name": "",
                        "meta": {},
                    }
                )
            queue_id = queue_ids[i % len(queue_ids)]
            sla = rng.random() < 0.8 if answered else False
            rows["tasks"].append(
                {
                    "conversation_id": conv_id,
                    "queue_id": queue_id,
                    "status": "done" if is_resolved else "assigned",
                    "channel_kind": "webchat",
                    "started_at": received,
                    "entered_queue_at": received,
                    "updated_at": resolved,
                    "priority": 0,
                    "declined_by": [],
                    "extra_skills": {},
                    "assignee_id": operator,
                    "sla_met": sla if is_resolved else None,
                }
            )
            rows["facts"].append(
                {
                    "conversation_id": conv_id,
                    "episode": 1,
                    "current": True,
                    "contact_id": contact_id,
                    "channel_id": channel_id,
                    "channel_kind": "webchat",
                    "received_at": received,
                    "received_bucket": bucket_of(received),
                    "new_customer": i % 3 != 0,
                    "queued_at": received,
                    "first_response_at": received + timedelta(seconds=frt) if frt else None,
                    "first_response_seconds": frt,
                    "first_response_business_seconds": frt,
                    "responder_id": operator if answered else None,
                    "operator_id": operator,
                    "queue_id": None,
                    "sla_met": None,
                    "resolved_at": resolved if is_resolved else None,
                    "resolution_seconds": (resolved - received).total_seconds()
                    if is_resolved
                    else None,
                    "close_reason": rng.choice(REASONS) if is_resolved else "",
                    "bot_resolved": False,
                    "csat_rating": rng.randint(1, 5) if rng.random() < 0.3 else None,
                    "csat_at": None,
                    "next_received_at": None,
                }
            )
            if i % 10 == 0:
                number += 1
                paid = rng.random() < 0.5
                rows["orders"].append(
                    {
                        "id": new_id(),
                        "number": number,
                        "conversation_id": conv_id,
                        "contact_id": contact_id,
                        "currency": "RUB",
                        "lines": [],
                        "total_minor": rng.randint(100, 10_000) * 100,
                        "status": "paid" if paid else "awaiting_payment",
                        "status_times": {},
                        "tracking_number": "",
                        "created_at": received + timedelta(minutes=5),
                        "updated_at": received + timedelta(minutes=5),
                    }
                )
        async with store.engine.begin() as conn:
            await conn.execute(insert(tables.contacts), rows["contacts"])
            await conn.execute(insert(tables.conversations), rows["conversations"])
            await conn.execute(insert(tables.messages), rows["messages"])
            await conn.execute(insert(tables.routing_tasks), rows["tasks"])
            await conn.execute(insert(report_facts), rows["facts"])
            await conn.execute(insert(tables.orders), rows["orders"])
    async with store.engine.begin() as conn:
        await conn.execute(text("ANALYZE"))


async def _median(repeat: int, work: Callable[[], Awaitable[object]]) -> float:
    await work()  # warm: statement caches, pages in memory
    took = []
    for _ in range(repeat):
        began = time.perf_counter()
        await work()
        took.append(time.perf_counter() - began)
    return statistics.median(took)


async def _bench(label: str, url: str, count: int, months: int, repeat: int) -> None:
    await migrate(url)
    store = await open_store(url)
    try:
        began = time.perf_counter()
        await seed(store, count, months)
        print(
            f"{label}: {count} conversations, {count * 5} messages over {months} months"
            f" seeded in {time.perf_counter() - began:.1f} s"
        )
        service = ReportService(store, SystemClock(), default_tz=lambda: "UTC", money=to_string)
        period_start = datetime(2026, 2, 28, 21, 0, tzinfo=UTC)
        m = tables.messages

        async def count_messages() -> object:
            async def work(tx: Any) -> int:
                stmt = (
                    select(func.count())
                    .select_from(m)
                    .where(m.c.created_at >= period_start, m.c.created_at < END)
                )
                return int((await tx.reports._conn.execute(stmt)).scalar_one())

            return await store.read(work)

        summary = await service.summary(None, MARCH)
        print(f"  March: {summary['received']} requests, {await count_messages()} messages")
        base = await _median(repeat, count_messages)
        print(f"  {'count(*) of the month messages (baseline)':<44} {base * 1000:8.1f} ms")
        for name, work in (
            ("summary", lambda: service.summary(None, MARCH)),
            ("breakdown by channel", lambda: service.breakdown(None, MARCH, "channel")),
            ("breakdown by operator", lambda: service.breakdown(None, MARCH, "operator")),
            ("breakdown by tag", lambda: service.breakdown(None, MARCH, "tag")),
            ("heat map", lambda: service.hours(None, MARCH)),
        ):
            took = await _median(repeat, work)
            print(f"  {name:<44} {took * 1000:8.1f} ms  {took / base:6.2f}x baseline")
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=200_000)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--postgres", help="also run on this PostgreSQL URL (in a scratch schema, dropped after)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'reports.db'}"
        asyncio.run(_bench("SQLite (WAL)", url, args.conversations, args.months, args.repeat))
    if args.postgres:
        asyncio.run(_on_scratch_schema(args.postgres, args.conversations, args.months, args.repeat))


async def _on_scratch_schema(base: str, count: int, months: int, repeat: int) -> None:
    """PostgreSQL in a schema of its own, dropped afterwards."""
    schema = f"bench_reports_{new_id()[:12]}"
    url = make_url(base).update_query_dict({"schema": schema}).render_as_string(False)
    await _execute(base, f"CREATE SCHEMA {schema}")
    try:
        await _bench("PostgreSQL", url, count, months, repeat)
    finally:
        await _execute(base, f"DROP SCHEMA IF EXISTS {schema} CASCADE")


async def _execute(url: str, statement: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


if __name__ == "__main__":
    main()
