# ruff: noqa: RUF001
"""The conversation list at scale: pages, filters, a deep cursor and full-text search.

Seeds N conversations (100,000 by default; bulk inserts, search rows included, as the
message repository writes them) with two Russian or English messages each, then times,
through ``list_conversations`` as a supervisor sees it (pages of 50):

- a primary-key read of one conversation (the baseline),
- the first page, the first page of a plain operator (the visibility rule in SQL),
- a filtered page (``status=queued`` and one channel),
- the 50th page, following ``next_cursor``,
- a search for a needle word (another form of it) that one conversation holds,
- a search for a common word ("заказа": thousands of matches, the newest 50 shown).

Each line is the median of ``--repeat`` runs and its ratio to the baseline.

    python -m bench.bench_search [--conversations 100000] [--repeat 20] [--postgres URL]
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

from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from inbox.bus import InProcessEventBus
from inbox.domain.clock import SystemClock
from inbox.domain.content import Text, parts_to_json
from inbox.domain.conversations import ConversationStatus
from inbox.domain.ids import ChannelId, ConversationId, OperatorId, new_id
from inbox.domain.operators import Operator, Role
from inbox.usecases import Core
from inbox.usecases.queries import list_conversations
from storage import SqlStore, make_engine, migrate, open_store, search, tables

PAGE = 50
CHUNK = 5000
T0 = datetime(2026, 1, 1, tzinfo=UTC)

RU = [
    "Здравствуйте, где мой заказ номер {n}?",
    "Подскажите, когда будет доставка заказа {n}",
    "Хочу вернуть товар, он не подошёл по размеру",
    "Оплатила картой, но статус заказа не изменился",
    "Можно ли изменить адрес доставки на улицу Ленина {n}?",
    "Спасибо, всё получила, курьер был вежливым",
    "Какие у вас есть линзы для астигматизма?",
    "Ваш заказ {n} передан в службу доставки",
]
EN = [
    "Hello, where is my order {n}?",
    "I would like to return the shoes, they are too small",
    "Can I change the delivery address to {n} Baker Street?",
    "My payment went through but the order still shows pending",
    "Thanks, the parcel arrived today",
    "Your order {n} has been shipped",
]
NAMES = ["Анна", "Мария", "Олег", "Дмитрий", "John", "Emily", "Сергей", "Ольга", "Peter"]
NEEDLE = "Трансцендентальный"
NEEDLE_QUERY = "трансцендентального"


class Seeded:
    def __init__(self) -> None:
        self.channel_ids: list[str] = []
        self.conversation_ids: list[str] = []
        self.operator = ""
        self.needle = ""


async def seed(store: SqlStore, count: int) -> Seeded:
    rng = random.Random(7)
    seeded = Seeded()
    postgres = store.engine.dialect.name == "postgresql"
    documents: dict[str, str] = {}
    async with store.engine.begin() as conn:
        for n in range(3):
            seeded.channel_ids.append(new_id())
            await conn.execute(
                insert(tables.channels).values(
                    id=seeded.channel_ids[-1],
                    kind="webchat",
                    name=f"Shop {n}",
                    created_at=T0,
                    options={},
                    enabled=True,
                )
            )
        operators = []
        for n in range(20):
            operators.append(new_id())
            await conn.execute(
                insert(tables.operators).values(
                    id=operators[-1],
                    login=f"op{n}",
                    display_name=f"Op {n}",
                    role="operator",
                    password_hash="x",
                    created_at=T0,
                    skills={},
                    capacity=5,
                    presence="online",
                    disabled=False,
                )
            )
        seeded.operator = operators[0]
    needle_at = count // 3
    for start in range(0, count, CHUNK):
        contacts: list[dict[str, Any]] = []
        conversations: list[dict[str, Any]] = []
        messages: list[dict[str, Any]] = []
        indexed: list[dict[str, Any]] = []
        for i in range(start, min(start + CHUNK, count)):
            contact_id, conversation_id = new_id(), new_id()
            seeded.conversation_ids.append(conversation_id)
            name = f"{rng.choice(NAMES)} {i}"
            contacts.append(
                {
                    "id": contact_id,
                    "display_name": name,
                    "created_at": T0,
                    "phone": f"+7 9{i:09d}",
                    "email": "",
                    "tags": ["vip"] if i % 50 == 0 else [],
                }
            )
            status = rng.choice(["queued", "assigned", "assigned", "resolved", "resolved"])
            created = T0 + timedelta(seconds=i * 30)
            last = created + timedelta(seconds=rng.randint(0, 3600))
            conversations.append(
                {
                    "id": conversation_id,
                    "channel_id": seeded.channel_ids[i % 3],
                    "contact_id": contact_id,
                    "status": status,
                    "created_at": created,
                    "updated_at": last,
                    "assignee_id": rng.choice(operators) if status != "queued" else None,
                    "last_message_seq": 2,
                    "last_message_at": last,
                    "unread_count": rng.choice([0, 0, 1, 2]),
                    "queued_at": created if status == "queued" else None,
                    "subject": "",
                    "preview": "",
                    "contact_name": name,
                    "channel_kind": "webchat",
                    "thread_key": "",
                }
            )
            pool = RU if rng.random() < 0.7 else EN
            bodies = [rng.choice(pool).format(n=rng.randint(1000, 99999)) for _ in range(2)]
            if i == needle_at:
                bodies[1] = f"{NEEDLE} вопрос про заказ"
                seeded.needle = conversation_id
            for seq, body in enumerate(bodies, start=1):
                message_id = new_id()
                messages.append(
                    {
                        "id": message_id,
                        "conversation_id": conversation_id,
                        "channel_id": seeded.channel_ids[i % 3],
                        "seq": seq,
                        "kind": "message",
                        "direction": "inbound",
                        "author_kind": "customer",
                        "author_id": None,
                        "parts": parts_to_json([Text(body)]),
                        "status": "received",
                        "created_at": created,
                        "author_name": name,
                        "meta": {},
                    }
                )
                row = {"message_id": message_id, "conversation_id": conversation_id}
                if postgres:
                    row["text_"] = body
                else:
                    if body not in documents:
                        documents[body] = search.sqlite_document(body)
                    row["document"] = documents[body]
                indexed.append(row)
        async with store.engine.begin() as conn:
            await conn.execute(insert(tables.contacts), contacts)
            await conn.execute(insert(tables.conversations), conversations)
            await conn.execute(insert(tables.messages), messages)
            if postgres:
                await conn.execute(
                    text(
                        "INSERT INTO message_search (message_id, conversation_id, document)"
                        " VALUES (:message_id, :conversation_id,"
                        " to_tsvector('russian', :text_) || to_tsvector('english', :text_))"
                    ),
                    indexed,
                )
            else:
                await conn.execute(insert(tables.message_search), indexed)
    async with store.engine.begin() as conn:
        await conn.execute(text("ANALYZE"))
    return seeded


def _operator(operator_id: str, role: Role) -> Operator:
    return Operator(
        id=OperatorId(operator_id),
        login="bench",
        display_name="Bench",
        role=role,
        password_hash="x",
        created_at=T0,
    )


async def _median(repeat: int, work: Callable[[], Awaitable[object]]) -> float:
    await work()  # warm: statement caches, pages in memory
    took = []
    for _ in range(repeat):
        started = time.perf_counter()
        await work()
        took.append(time.perf_counter() - started)
    return statistics.median(took)


async def _bench(label: str, url: str, count: int, repeat: int) -> None:
    await migrate(url)
    store = await open_store(url)
    try:
        started = time.perf_counter()
        seeded = await seed(store, count)
        print(f"{label}: {count} conversations seeded in {time.perf_counter() - started:.1f} s")
        core = Core(store=store, bus=InProcessEventBus(), clock=SystemClock())
        boss = _operator(seeded.operator, Role.SUPERVISOR)
        plain = _operator(seeded.operator, Role.OPERATOR)
        probe = ConversationId(seeded.conversation_ids[count // 2])

        async def by_key() -> object:
            return await store.read(lambda tx: tx.conversations.get(probe))

        async def first_page() -> object:
            return await list_conversations(core, boss, limit=PAGE)

        async def operators_page() -> object:
            return await list_conversations(core, plain, limit=PAGE)

        async def filtered() -> object:
            return await list_conversations(
                core,
                boss,
                statuses=(ConversationStatus.QUEUED,),
                channel_id=ChannelId(seeded.channel_ids[1]),
                limit=PAGE,
            )

        cursor: str | None = None
        for _ in range(49):
            page = await list_conversations(core, boss, limit=PAGE, cursor=cursor)
            cursor = page.next_cursor
        assert cursor is not None

        async def page_50() -> object:
            return await list_conversations(core, boss, limit=PAGE, cursor=cursor)

        async def needle() -> object:
            found = await list_conversations(core, boss, query=NEEDLE_QUERY, limit=PAGE)
            assert [c.id for c in found.conversations] == [seeded.needle], found
            return found

        async def common_word() -> object:
            found = await list_conversations(core, boss, query="заказа", limit=PAGE)
            assert len(found.conversations) == PAGE
            return found

        base = await _median(repeat, by_key)
        print(f"  {'primary-key read (baseline)':<40} {base * 1000:8.3f} ms")
        for name, work in (
            ("first page", first_page),
            ("first page, plain operator", operators_page),
            ("filtered page (queued + channel)", filtered),
            ("50th page by cursor", page_50),
            ("search: needle word, other form", needle),
            ('search: common word "заказа"', common_word),
        ):
            took = await _median(repeat, work)
            print(f"  {name:<40} {took * 1000:8.3f} ms  {took / base:7.1f}x baseline")
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument(
        "--postgres", help="also run on this PostgreSQL URL (in a scratch schema, dropped after)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'search.db'}"
        asyncio.run(_bench("SQLite (WAL)", url, args.conversations, args.repeat))
    if args.postgres:
        asyncio.run(_on_scratch_schema(args.postgres, args.conversations, args.repeat))


async def _on_scratch_schema(base: str, count: int, repeat: int) -> None:
    """PostgreSQL in a schema of its own, dropped afterwards: the database's other
    schemas (and their migration version) are left as they were."""
    schema = f"bench_search_{new_id()[:12]}"
    url = make_url(base).update_query_dict({"schema": schema}).render_as_string(False)
    await _execute(base, f"CREATE SCHEMA {schema}")
    try:
        await _bench("PostgreSQL", url, count, repeat)
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
