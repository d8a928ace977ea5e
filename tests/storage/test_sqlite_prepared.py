"""The constant statements planned for sqlite3 (storage.sqlite_prepared): which
statements are planned, and that a planned one reads, writes and fails exactly as it does
through SQLAlchemy. SQLite only: PostgreSQL never takes this path.

The whole suite also runs with ``storage.sqlite_prepared.VERIFY`` on (tests/conftest.py),
so every planned read of every SQLite test is compared with SQLAlchemy's own result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, delete, event, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, NoResultFound

from storage import migrate
from storage.engine import make_sqlite_sync_engine
from storage.sqlite_prepared import PreparedStatements
from storage.sqlite_threads import SyncConnection
from storage.tables import contacts

_BY_ID = select(contacts).where(contacts.c.id == bindparam("id"))
_NAME_OF = select(contacts.c.display_name).where(contacts.c.id == bindparam("id"))
_INSERT = insert(contacts)
_RENAME = (
    update(contacts).where(contacts.c.id == bindparam("b_id")).values(display_name=bindparam("n"))
)
_DELETE = delete(contacts).where(contacts.c.id == bindparam("id"))
AT = datetime(2026, 12, 4, 10, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[Connection]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'prepared.db'}"
    asyncio.run(migrate(url))
    engine = make_sqlite_sync_engine(url)
    try:
        with engine.connect() as connection, connection.begin():
            yield connection
    finally:
        engine.dispose()


def _contact(cid: str, name: str = "Анна") -> dict[str, Any]:
    return {
        "id": cid,
        "display_name": name,
        "created_at": AT,
        "phone": "+79001234567",
        "email": "",
        "tags": ["vip", "опт"],  # a JSON document: the type's processors both ways
    }


def test_a_statement_is_planned_the_second_time_it_runs_and_reads_as_sqlalchemy_does(
    conn: Connection,
) -> None:
    prepared = PreparedStatements()
    sync = SyncConnection(conn, prepared)
    sync.run_now(_INSERT, _contact("c1"))
    assert prepared.plan(conn, _BY_ID, {"id": "c1"}) is None  # first sight: SQLAlchemy
    plan = prepared.plan(conn, _BY_ID, {"id": "c1"})
    assert plan is not None
    assert plan.keys is not None
    assert "created_at" in plan.keys

    ours = sync.first_now(_BY_ID, {"id": "c1"})
    theirs = conn.execute(_BY_ID, {"id": "c1"}).mappings().first()
    assert ours is not None
    assert theirs is not None
    assert dict(ours) == dict(theirs)
    assert ours["created_at"] == AT  # the column type's result processing, time zone kept
    assert ours["tags"] == ["vip", "опт"]
    assert sync.first_now(_BY_ID, {"id": "nobody"}) is None
    assert sync.all_now(_BY_ID, {"id": "c1"}) == [dict(theirs)]
    assert sync.scalar_one_now(_NAME_OF, {"id": "c1"}) == "Анна"


def test_statements_built_per_call_are_never_planned(
    conn: Connection,
) -> None:
    prepared = PreparedStatements()
    for n in range(3):
        fresh = select(contacts).where(contacts.c.id == f"c{n}")
        assert prepared.plan(conn, fresh, None) is None
    SyncConnection(conn, prepared).run_now(_INSERT, _contact("c9"))
    rows = [_contact("a"), _contact("b")]
    for _ in range(3):
        assert prepared.plan(conn, _INSERT, rows) is None  # type: ignore[arg-type]
    conn.execute(_INSERT, rows)
    assert conn.execute(select(contacts.c.id).order_by(contacts.c.id)).scalars().all() == [
        "a",
        "b",
        "c9",
    ]


def test_writes_through_plans_land_and_a_constraint_error_is_sqlalchemys(
    conn: Connection,
) -> None:
    prepared = PreparedStatements()
    sync = SyncConnection(conn, prepared)
    for n in range(3):
        sync.run_now(_INSERT, _contact(f"c{n}"))
    assert prepared.plan(conn, _INSERT, _contact("x")) is not None
    sync.run_now(_RENAME, {"b_id": "c1", "n": "Boris"})
    sync.run_now(_RENAME, {"b_id": "c2", "n": "Юлия"})
    sync.run_now(_DELETE, {"id": "c0"})
    sync.run_now(_DELETE, {"id": "c0"})
    names = dict(conn.execute(select(contacts.c.id, contacts.c.display_name)).all())
    assert names == {"c1": "Boris", "c2": "Юлия"}

    with pytest.raises(IntegrityError):  # a duplicate id, raised as SQLAlchemy raises it
        sync.run_now(_INSERT, _contact("c1"))
    with pytest.raises(NoResultFound):
        sync.scalar_one_now(_NAME_OF, {"id": "c0"})
    # The failed statement changed nothing and the transaction goes on.
    sync.run_now(_INSERT, _contact("c3", "Галина"))
    assert sync.scalar_one_now(_NAME_OF, {"id": "c3"}) == "Галина"
    assert sync.scalar_one_now(_NAME_OF, {"id": "c1"}) == "Boris"


def test_a_missing_parameter_fails_as_it_does_through_sqlalchemy(conn: Connection) -> None:
    sync = SyncConnection(conn, PreparedStatements())
    sync.run_now(_INSERT, _contact("c1"))
    sync.first_now(_BY_ID, {"id": "c1"})
    with pytest.raises(Exception, match=r"bind parameter 'id'|value required"):
        sync.first_now(_BY_ID, {})


def test_while_someone_listens_to_the_cursor_every_statement_goes_through_sqlalchemy(
    conn: Connection,
) -> None:
    prepared = PreparedStatements()
    sync = SyncConnection(conn, prepared)
    sync.run_now(_INSERT, _contact("c1"))
    sync.first_now(_BY_ID, {"id": "c1"})
    seen: list[str] = []

    def count(_c: object, _cur: object, statement: str, *_rest: object) -> None:
        seen.append(statement)

    event.listen(conn.engine, "before_cursor_execute", count)
    try:
        listened = SyncConnection(conn, prepared)  # the next transaction's connection
        for _ in range(3):
            assert listened.first_now(_BY_ID, {"id": "c1"}) is not None
        listened.run_now(_RENAME, {"b_id": "c1", "n": "Boris"})
        assert len(seen) == 4
    finally:
        event.remove(conn.engine, "before_cursor_execute", count)
    assert SyncConnection(conn, prepared).first_now(_BY_ID, {"id": "c1"}) is not None
    assert len(seen) == 4


def test_a_verifying_plan_set_catches_a_read_that_differs(conn: Connection) -> None:
    prepared = PreparedStatements()
    prepared.verify = True
    sync = SyncConnection(conn, prepared)
    sync.run_now(_INSERT, _contact("c1"))
    sync.first_now(_BY_ID, {"id": "c1"})
    plan = prepared.plan(conn, _BY_ID, {"id": "c1"})
    assert plan is not None
    assert sync.first_now(_BY_ID, {"id": "c1"}) is not None  # same: no error
    object.__setattr__(plan, "keys", tuple(reversed(plan.keys or ())))  # break the plan
    with pytest.raises(AssertionError, match="differs"):
        sync.first_now(_BY_ID, {"id": "c1"})


def test_an_executemany_runs_from_the_plan_of_its_first_row(conn: Connection) -> None:
    prepared = PreparedStatements()
    sync = SyncConnection(conn, prepared)
    sync.run_now(_INSERT, [_contact("a"), _contact("b")])  # first sight: SQLAlchemy
    sync.run_now(_INSERT, [_contact("c"), _contact("d", "Юлия")])
    assert prepared.plan_many(conn, _INSERT, [_contact("e")]) is not None
    sync.run_now(_RENAME, [{"b_id": "a", "n": "A"}, {"b_id": "b", "n": "B"}])
    sync.run_now(_RENAME, [{"b_id": "c", "n": "C"}])
    names = dict(conn.execute(select(contacts.c.id, contacts.c.display_name)).all())
    assert names == {"a": "A", "b": "B", "c": "C", "d": "Юлия"}
    row = sync.first_now(_BY_ID, {"id": "d"})
    assert row is not None
    assert row["tags"] == ["vip", "опт"]
    assert row["created_at"] == AT
    with pytest.raises(IntegrityError):
        sync.run_now(_INSERT, [_contact("e"), _contact("a")])
    # A row without a required value fails as SQLAlchemy fails it.
    with pytest.raises(Exception, match=r"bind parameter|value required"):
        sync.run_now(_RENAME, [{"b_id": "a", "n": "X"}, {"b_id": "b"}])
