"""Migration 0007 keeps the contacts stored before it: their phone and e-mail become
duplicate keys, their data stays; the close reasons start with the default list."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alembic import command
from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from inbox.domain.close_reasons import DEFAULT_CLOSE_REASONS
from inbox.domain.ids import ContactId
from storage import make_engine, open_store, tables
from storage.migrator import alembic_config
from storage.repositories.tx import SqlTx


def _upgrade_to(revision: str) -> Any:
    def go(conn: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)

    return go


async def test_0007_keeps_contacts_and_seeds_the_close_reasons(empty_database_url: str) -> None:
    t0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    engine = make_engine(empty_database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade_to("0006"))
        async with engine.begin() as conn:
            for cid, phone, email in (
                ("a", "+7 (900) 123-45-67", ""),
                ("b", "89001234567", "Anna@Shop.example"),
                ("c", "", "anna@shop.example"),
                ("d", "", ""),
            ):
                await conn.execute(
                    insert(tables.contacts).values(
                        id=cid,
                        display_name=cid.upper(),
                        created_at=t0,
                        phone=phone,
                        email=email,
                        tags=["vip"],
                    )
                )
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade_to("head"))
        async with engine.connect() as conn:
            points = (await conn.execute(select(tables.contact_points))).all()
            reasons = (
                await conn.execute(
                    select(tables.close_reasons.c.name).order_by(tables.close_reasons.c.position)
                )
            ).scalars()
            assert list(reasons) == list(DEFAULT_CLOSE_REASONS)
    finally:
        await engine.dispose()
    assert sorted(tuple(p) for p in points) == [
        ("email", "anna@shop.example", "b"),
        ("email", "anna@shop.example", "c"),
        ("phone", "79001234567", "a"),
        ("phone", "79001234567", "b"),
    ]
    store = await open_store(empty_database_url)
    try:

        async def work(tx: SqlTx) -> Any:
            kept = await tx.contacts.get(ContactId("b"))
            sharing = await tx.contacts.find_sharing(ContactId("b"))
            return kept, [c.id for c in sharing]

        kept, sharing = await store.read(work)
    finally:
        await store.close()
    assert kept is not None
    assert (kept.phones, kept.emails, kept.tags, kept.notes) == (
        ("89001234567",),
        ("Anna@Shop.example",),
        frozenset({"vip"}),
        "",
    )
    assert sharing == ["a", "c"]
