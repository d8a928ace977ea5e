"""Migration 0012 fills the facts from what was stored before it (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from alembic import command
from sqlalchemy import select
from sqlalchemy.engine import Connection

from inbox.bus import InProcessEventBus
from inbox.domain.channels import ChannelKind
from inbox.domain.clock import FixedClock
from inbox.domain.content import Text
from inbox.domain.messages import InboundMessage, SenderProfile
from inbox.domain.operators import Role
from inbox.usecases import (
    Core,
    add_channel,
    add_operator,
    claim_conversation,
    ingest_inbound,
    resolve_conversation,
    send_reply,
)
from payments.money import to_string
from reports import ReportQuery, ReportService
from server.channels import CATALOG
from storage import make_engine, migrate, open_store
from storage.migrator import alembic_config
from storage.tables_reports import report_facts
from tests.reports.scenario import HASHER, PASSWORD, msk


def _upgrade_to(revision: str) -> Any:
    def go(conn: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)

    return go


async def test_0012_backfills_one_episode_per_conversation(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade_to("0011"))
    finally:
        await engine.dispose()
    clock = FixedClock(msk(2, 10, 0))
    store = await open_store(empty_database_url)
    try:
        core = Core(store=store, bus=InProcessEventBus(), clock=clock, channels=CATALOG)
        anna = await add_operator(
            core, HASHER, login="anna", password=PASSWORD, role=Role.OPERATOR, capacity=5
        )
        sup = await add_operator(core, HASHER, login="sup", password=PASSWORD, role=Role.ADMIN)
        channel = await add_channel(core, ChannelKind("webchat"), "Shop", {})

        async def write(who: str, n: int) -> Any:
            message = InboundMessage(channel.id, f"m{n}", SenderProfile(who), (Text("Привет"),))
            return (await ingest_inbound(core, message)).conversation

        first = await write("c1", 1)
        clock.advance(5)
        await claim_conversation(core, anna, first.id)
        clock.advance(40)
        await send_reply(core, anna, first.id, (Text("Добрый день"),), "r1")
        clock.advance(255)
        await resolve_conversation(core, sup, first.id, "Sold")
        clock.advance(3600)
        second = await write("c2", 2)
        clock.advance(7200)
        third = await write("c1", 3)  # c1 on another thread: the contact's second request
        assert third.id == first.id  # (the same conversation reopens: one episode backfilled)
    finally:
        await store.close()

    await migrate(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        async with engine.connect() as conn:
            rows = {
                r["conversation_id"]: r
                for r in (await conn.execute(select(report_facts))).mappings().all()
            }
    finally:
        await engine.dispose()
    assert set(rows) == {first.id, second.id}
    one, two = rows[first.id], rows[second.id]
    assert one["received_at"] == msk(2, 10, 0)
    assert one["first_response_seconds"] == 45.0
    assert one["operator_id"] == anna.id
    assert one["responder_id"] == anna.id
    # Reopened since: the resolve was overwritten, so the episode is open now.
    assert one["resolved_at"] is None
    assert one["close_reason"] == ""
    assert bool(one["new_customer"]) is True
    assert bool(two["new_customer"]) is True
    assert two["first_response_at"] is None
    assert one["first_response_business_seconds"] is None

    store = await open_store(empty_database_url)
    try:
        service = ReportService(store, clock, default_tz=lambda: "UTC", money=to_string)
        report = await service.summary(None, ReportQuery("2026-03-02", "2026-03-02"))
        assert (report["received"], report["answered"]) == (2, 1)
        assert report["first_response_seconds"] == {"median": 45.0, "p90": 45.0}
    finally:
        await store.close()
