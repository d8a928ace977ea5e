"""Search finds the right conversation among 100,000 (SQLite, the embedded default): the
bench's own seeding, one needle in an inflected form, and the list's first page. Takes
about a minute; bench/bench_search.py times the same data on both databases."""

from __future__ import annotations

from pathlib import Path

from bench.bench_search import NEEDLE_QUERY, seed
from inbox.bus import InProcessEventBus
from inbox.domain.clock import SystemClock
from inbox.domain.ids import OperatorId
from inbox.domain.operators import Operator, Role
from inbox.usecases import Core, list_conversations
from storage import migrate, open_store


async def test_search_finds_the_needle_among_100000_conversations(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'scale.db'}"
    await migrate(url)
    store = await open_store(url)
    try:
        seeded = await seed(store, 100_000)
        core = Core(store=store, bus=InProcessEventBus(), clock=SystemClock())
        boss = Operator(
            id=OperatorId(seeded.operator),
            login="boss",
            display_name="Boss",
            role=Role.SUPERVISOR,
            password_hash="",
            created_at=SystemClock().now(),
        )
        found = await list_conversations(core, boss, query=NEEDLE_QUERY, limit=50)
        assert [c.id for c in found.conversations] == [seeded.needle]
        first = await list_conversations(core, boss, limit=50)
        assert len(first.conversations) == 50
        assert first.next_cursor is not None
    finally:
        await store.close()
