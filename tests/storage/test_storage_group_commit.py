"""Group commit: batching, savepoint isolation, integrity retries, fallbacks, lifecycle.

Batches are observed by counting COMMITs with an engine event listener, never by timing.
``asyncio.gather`` queues every work before a writer task runs, so the works of one
``gather`` reach the writer together.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Connection

from inbox.domain.errors import Conflict
from inbox.domain.ids import ContactId, OperatorId
from inbox.domain.operators import Operator
from inbox.ports import Store, Tx
from storage import SqlStore, open_store
from tests.storage.builders import (
    make_contact,
    make_conversation,
    make_identity,
    make_operator,
    seed_world,
)


class Boom(Exception):
    pass


class Commits:
    """Counts COMMITs on an engine; optionally makes the first ``fail`` of them fail."""

    def __init__(self, fail: int = 0) -> None:
        self.count = 0
        self._fail = fail

    def __call__(self, conn: Connection) -> None:
        self.count += 1
        if self._fail:
            self._fail -= 1
            raise RuntimeError("simulated failure of COMMIT")


@contextmanager
def counting_commits(store: SqlStore, *, fail: int = 0) -> Iterator[Commits]:
    commits = Commits(fail)
    event.listen(store.sync_engine, "commit", commits)
    try:
        yield commits
    finally:
        event.remove(store.sync_engine, "commit", commits)


def adding(operator: Operator) -> Callable[[Tx], Awaitable[OperatorId]]:
    async def work(tx: Tx) -> OperatorId:
        await tx.operators.add(operator)
        return operator.id

    return work


async def _logins(store: SqlStore) -> set[str]:
    return {o.login for o in await store.read(lambda tx: tx.operators.list())}


async def test_concurrent_works_share_few_commits(store: SqlStore) -> None:
    operators = [make_operator() for _ in range(50)]
    with counting_commits(store) as commits:
        ids = await asyncio.gather(*(store.transact(adding(o)) for o in operators))
    assert ids == [o.id for o in operators]
    assert commits.count <= 5, f"50 works took {commits.count} commits"
    assert await _logins(store) == {o.login for o in operators}


async def test_batch_max_caps_a_batch(database_url: str, store: SqlStore) -> None:
    small = await open_store(database_url, batch_max=4)
    try:
        operators = [make_operator() for _ in range(12)]
        with counting_commits(small) as commits:
            await asyncio.gather(*(small.transact(adding(o)) for o in operators))
        assert commits.count >= 3
    finally:
        await small.close()


async def test_a_work_failing_before_it_writes_keeps_the_batch(store: SqlStore) -> None:
    good = [make_operator() for _ in range(4)]

    async def refusing(tx: Tx) -> OperatorId:
        await tx.operators.list()  # reads are fine
        raise Boom("a domain check failed")

    with counting_commits(store) as commits:
        results = await asyncio.gather(
            store.transact(adding(good[0])),
            store.transact(adding(good[1])),
            store.transact(refusing),
            store.transact(adding(good[2])),
            store.transact(adding(good[3])),
            return_exceptions=True,
        )
    assert commits.count == 1  # no re-run: the batch's transaction was never spoiled
    assert isinstance(results[2], Boom)
    assert [r for i, r in enumerate(results) if i != 2] == [o.id for o in good]
    assert await _logins(store) == {o.login for o in good}


async def test_a_failing_work_leaves_its_batch_alone(store: SqlStore) -> None:
    good = [make_operator() for _ in range(4)]
    bad = make_operator()

    async def failing(tx: Tx) -> OperatorId:
        await tx.operators.add(bad)
        raise Boom("after a write")

    with counting_commits(store) as commits:
        results = await asyncio.gather(
            store.transact(adding(good[0])),
            store.transact(adding(good[1])),
            store.transact(failing),
            store.transact(adding(good[2])),
            store.transact(adding(good[3])),
            return_exceptions=True,
        )
    # The failed work wrote, so the batch was redone work by work: more than one commit.
    assert commits.count > 1
    assert isinstance(results[2], Boom)
    assert [r for i, r in enumerate(results) if i != 2] == [o.id for o in good]
    # The failed work's write was rolled back; the others committed.
    assert await _logins(store) == {o.login for o in good}


async def test_a_conflicting_work_leaves_its_batch_alone(store: SqlStore) -> None:
    first = make_operator(login="amy")
    same_login = make_operator(login="amy")
    other = make_operator(login="bob")
    with counting_commits(store) as commits:
        results = await asyncio.gather(
            store.transact(adding(first)),
            store.transact(adding(same_login)),
            store.transact(adding(other)),
            return_exceptions=True,
        )
    assert commits.count > 1  # the integrity error spoiled the batch; each ran alone
    assert results[0] == first.id
    assert isinstance(results[1], Conflict)
    assert results[2] == other.id
    assert await _logins(store) == {"amy", "bob"}
    assert await store.read(lambda tx: tx.operators.get(same_login.id)) is None


async def test_integrity_error_runs_the_work_once_more(store: SqlStore) -> None:
    existing = make_operator(login="amy")
    await store.transact(adding(existing))
    attempts = 0

    async def racy_create(tx: Tx) -> OperatorId:
        # The first attempt behaves as if another writer inserted "amy" after our check.
        nonlocal attempts
        attempts += 1
        if attempts > 1:
            found = await tx.operators.get_by_login("amy")
            if found is not None:
                return found.id
        duplicate = make_operator(login="amy")
        await tx.operators.add(duplicate)
        return duplicate.id

    assert await store.transact(racy_create) == existing.id
    assert attempts == 2


async def test_second_integrity_error_becomes_conflict(store: SqlStore) -> None:
    await store.transact(adding(make_operator(login="amy")))
    attempts = 0

    async def stubborn(tx: Tx) -> None:
        nonlocal attempts
        attempts += 1
        await tx.operators.add(make_operator(login="amy"))

    with pytest.raises(Conflict):
        await store.transact(stubborn)
    assert attempts == 2


async def test_find_then_insert_stores_one_row_across_stores(
    database_url: str, store: SqlStore
) -> None:
    """Two stores stand for two server processes racing on the same new customer."""
    world = await seed_world(store)
    second = await open_store(database_url)

    async def find_or_create(tx: Tx) -> ContactId:
        found = await tx.contacts.find_identity(world.channel.id, "newcomer")
        if found is not None:
            return found.contact_id
        contact = make_contact(name="Newcomer")
        await tx.contacts.add(contact, make_identity(contact, world.channel, "newcomer"))
        return contact.id

    try:
        ids = await asyncio.gather(
            *(s.transact(find_or_create) for _ in range(10) for s in (store, second))
        )
    finally:
        await second.close()
    assert len(set(ids)) == 1
    assert await store.read(lambda tx: tx.contacts.get(ids[0])) is not None


async def test_failed_commit_reruns_each_work_alone(
    store: SqlStore, caplog: pytest.LogCaptureFixture
) -> None:
    operators = [make_operator() for _ in range(5)]
    with caplog.at_level(logging.WARNING, "storage"), counting_commits(store, fail=1) as commits:
        ids = await asyncio.gather(*(store.transact(adding(o)) for o in operators))
    assert ids == [o.id for o in operators]
    assert commits.count == 1 + len(operators)  # the failed batch, then one each
    assert await _logins(store) == {o.login for o in operators}
    assert "running each work alone" in caplog.text


async def test_a_commit_that_keeps_failing_reaches_the_caller(store: SqlStore) -> None:
    with counting_commits(store, fail=2), pytest.raises(RuntimeError, match="COMMIT"):
        await store.transact(adding(make_operator()))
    assert await _logins(store) == set()


async def test_deadlocked_batches_are_rerun_alone(
    store: SqlStore, caplog: pytest.LogCaptureFixture
) -> None:
    """Two PostgreSQL writers lock two conversations in opposite orders.

    Batch A: (lock 1, wait for B to hold 2), (lock 2). Batch B: (lock 2), (lock 1). The
    server aborts one batch after ``deadlock_timeout`` (1 s by default); its works then run
    alone and everyone succeeds.
    """
    if store.dialect_name != "postgresql":
        pytest.skip("SQLite has a single writer: batches cannot deadlock")
    world = await seed_world(store)
    conv2 = make_conversation(world.channel, world.contact)
    await store.transact(lambda tx: tx.conversations.add(conv2))
    ids = {"1": world.conversation.id, "2": conv2.id}
    a_holds_1, b_holds_2 = asyncio.Event(), asyncio.Event()

    def lock(
        which: str, *, then_set: asyncio.Event | None = None, then_wait: asyncio.Event | None = None
    ) -> Callable[[Tx], Awaitable[str]]:
        async def work(tx: Tx) -> str:
            await tx.conversations.get_for_update(ids[which])
            if then_set is not None:
                then_set.set()
            if then_wait is not None:
                await then_wait.wait()
            return which

        return work

    with caplog.at_level(logging.INFO, "storage"):
        batch_a = asyncio.gather(
            store.transact(lock("1", then_set=a_holds_1, then_wait=b_holds_2)),
            store.transact(lock("2")),
        )
        await a_holds_1.wait()  # writer 1 is inside batch A; batch B goes to writer 2
        batch_b = asyncio.gather(
            store.transact(lock("2", then_set=b_holds_2)),
            store.transact(lock("1")),
        )
        results = await asyncio.wait_for(asyncio.gather(batch_a, batch_b), timeout=30)
    assert [list(r) for r in results] == [["1", "2"], ["2", "1"]]
    assert "40P01" in caplog.text


async def test_read_runs_outside_batches_and_keeps_no_writes(store: SqlStore) -> None:
    ghost = make_operator()
    with counting_commits(store) as commits:
        assert await store.read(adding(ghost)) == ghost.id
    assert commits.count == 0
    assert await store.read(lambda tx: tx.operators.get(ghost.id)) is None


async def test_close_finishes_queued_works_then_refuses_new_ones(store: SqlStore) -> None:
    operators = [make_operator() for _ in range(10)]
    pending = [asyncio.ensure_future(store.transact(adding(o))) for o in operators]
    await asyncio.sleep(0)  # let every caller queue its work
    await store.close()
    assert [p.result() for p in pending] == [o.id for o in operators]

    with pytest.raises(RuntimeError, match="closed"):
        await store.transact(adding(make_operator()))
    with pytest.raises(RuntimeError, match="closed"):
        await store.read(lambda tx: tx.operators.list())
    await store.close()  # idempotent


async def test_closing_persists_the_queued_works(database_url: str, store: SqlStore) -> None:
    operators = [make_operator() for _ in range(3)]
    await asyncio.gather(*(store.transact(adding(o)) for o in operators))
    await store.close()
    reopened = await open_store(database_url)
    try:
        assert await _logins(reopened) == {o.login for o in operators}
    finally:
        await reopened.close()


async def test_a_work_cancelled_from_inside_fails_alone(store: SqlStore) -> None:
    async def cancelled(tx: Tx) -> None:
        await tx.operators.add(make_operator(login="ghost"))
        raise asyncio.CancelledError  # e.g. something the work awaited was cancelled

    with pytest.raises(RuntimeError, match="cancelled"):
        await store.transact(cancelled)
    # The writer survived and the work's write was rolled back.
    assert await store.transact(adding(make_operator(login="amy")))
    assert await _logins(store) == {"amy"}


async def test_sql_store_implements_the_store_port(store: SqlStore) -> None:
    port: Store = store  # checked by mypy --strict
    assert port is store
