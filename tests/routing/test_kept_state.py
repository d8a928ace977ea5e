"""The router's kept picture (routing.kept) on a real database: a pass after the first reads
what changed, not everything; a routing write by anyone else, a failed pass or the age
limit make it read everything again; and its decisions are those of a full read."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from inbox.domain.conversations import ConversationStatus
from inbox.domain.operators import Presence
from inbox.usecases import resolve_conversation
from routing import RoutingTx
from routing.policy import decide_until_full
from storage import SqlStore
from tests.routing.test_service import Harness


@pytest.fixture
async def h(store: SqlStore) -> Harness:
    return Harness(store)


@contextmanager
def statements(store: SqlStore) -> Iterator[list[str]]:
    """The SQL statements run on the store's engine while the block runs."""
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engine = store.sync_engine
    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listen)


def reads_of_everything(seen: list[str]) -> int:
    """Statements that read every routable conversation (the full snapshot's)."""
    return sum(
        1
        for s in seen
        if "FROM conversations" in s and "status IN" in s and "conversations.id IN" not in s
    )


async def test_an_idle_pass_costs_the_same_with_ten_or_two_hundred_waiting(
    store: SqlStore,
) -> None:
    counts = []
    for waiting in (10, 200):
        # Each arrival moves the test's clock by a second: no age limit in this test.
        h = Harness(store, full_read_seconds=100_000)
        shop = await h.channel(f"shop{waiting}")
        for i in range(waiting):
            await h.customer_writes(shop, f"w{waiting}-{i}")  # nobody online: all wait
        await h.pass_()  # the first pass reads everything
        for _ in range(waiting // 50 + 1):  # ... files the arrivals, 50 a pass (the budget)
            await h.pass_(1)
        with statements(store) as seen:
            await h.pass_(1)
        assert reads_of_everything(seen) == 0
        counts.append(len(seen))
        assert h.router.keeper.kept_passes >= 1
        assert h.router.keeper.idle_passes >= 1
    # O(changes): the same statements for 10 waiting customers as for 200.
    assert counts[0] == counts[1]
    assert counts[1] <= 3  # BEGIN, the version, (COMMIT)


async def test_an_idle_pass_still_wakes_for_a_deadline(h: Harness) -> None:
    """Nothing changes, but time passes: the offer runs out and goes to the next one."""
    shop = await h.channel("shop")
    anna = await h.operator("anna")
    boris = await h.operator("boris")
    await h.queue("Main", channels=[shop.id], accept_timeout=30)
    cid = await h.customer_writes(shop, "c1")
    await h.pass_()
    await h.pass_(1)
    offered = {o.operator_id for o in await offers_of(h, cid)}
    assert len(offered) == 1
    idle = h.router.keeper.idle_passes
    await h.pass_(5)
    assert h.router.keeper.idle_passes == idle + 1  # before the deadline: nothing to do
    await h.pass_(30)
    again = {o.operator_id for o in await offers_of(h, cid)}
    assert again
    assert again != offered
    assert offered | again == {anna.id, boris.id}


async def offers_of(h: Harness, cid: Any) -> list[Any]:
    async def work(tx: RoutingTx) -> list[Any]:
        return await tx.routing.list_offers(conversation_id=cid)

    return await h.store.read(work)


async def test_arrivals_and_resolves_are_routed_from_the_kept_picture(h: Harness) -> None:
    shop = await h.channel("shop")
    anna = await h.operator("anna", capacity=2)
    await h.pass_()
    first = [await h.customer_writes(shop, f"c{i}") for i in range(3)]
    with statements(h.store) as seen:
        await h.pass_()
    assert reads_of_everything(seen) == 0
    assert [await h.assignee(c) for c in first] == [anna.id, anna.id, None]
    await resolve_conversation(h.core, anna, first[0])
    await h.pass_(1)
    assert await h.assignee(first[2]) == anna.id
    task = await h.task(first[0])
    assert task.status.value == "done"
    # A customer writing to a resolved conversation opens a new episode.
    again = await h.customer_writes(shop, "c0")
    assert again == first[0]
    await h.pass_(1)
    assert (await h.conv(again)).status is ConversationStatus.QUEUED
    assert (await h.task(again)).status.value == "waiting"
    assert h.router.keeper.full_reads == 1


async def test_a_routing_write_elsewhere_makes_the_next_pass_read_everything(
    h: Harness,
) -> None:
    shop = await h.channel("shop")
    anna = await h.operator("anna", capacity=1)
    await h.pass_()
    other = h.new_router()  # another process's router, on the same database
    cid = await h.customer_writes(shop, "c1")
    await other.run_pass()  # it assigns the customer
    assert await h.assignee(cid) == anna.id
    late = await h.customer_writes(shop, "c2")
    reads = h.router.keeper.full_reads
    with statements(h.store) as seen:
        await h.pass_(1)
    assert reads_of_everything(seen) == 1
    assert h.router.keeper.full_reads == reads + 1
    # The picture read again knows anna is full: the second customer waits.
    assert await h.assignee(late) is None
    # A console command of this process is a routing write too.
    await h.queue("Second")
    with statements(h.store) as seen:
        await h.pass_(1)
    assert reads_of_everything(seen) == 1


async def test_a_change_that_published_no_event_is_seen_within_the_age_limit(
    store: SqlStore,
) -> None:
    h = Harness(store, full_read_seconds=30)
    shop = await h.channel("shop")
    anna = await h.operator("anna", online=False)
    cid = await h.customer_writes(shop, "c1")
    await h.pass_()
    assert await h.assignee(cid) is None

    async def online_behind_its_back(tx: RoutingTx) -> None:
        op = await tx.operators.get(anna.id)
        assert op is not None
        await tx.operators.update(
            dataclasses.replace(op, presence=Presence.ONLINE, presence_changed_at=h.clock.now())
        )

    await store.transact(online_behind_its_back)
    await h.pass_(1)
    assert await h.assignee(cid) is None  # the kept picture still has her offline
    await h.pass_(31)  # the picture is older than 30 s: read whole
    assert await h.assignee(cid) == anna.id


async def test_a_failed_pass_drops_the_picture(h: Harness, monkeypatch: Any) -> None:
    shop = await h.channel("shop")
    await h.pass_()
    await h.customer_writes(shop, "c1")
    await h.pass_(1)
    assert kept_version(h) is not None

    async def broken(*_args: Any) -> None:
        raise RuntimeError("the database went away")

    with monkeypatch.context() as patch:
        patch.setattr("routing.passes.reconcile", broken)
        with pytest.raises(RuntimeError):
            await h.pass_(1)
    assert kept_version(h) is None
    reads = h.router.keeper.full_reads
    await h.pass_(1)
    assert h.router.keeper.full_reads == reads + 1


def kept_version(h: Harness) -> int | None:
    return h.router.keeper.version


async def test_a_pass_files_at_most_its_budget_and_the_next_one_goes_on(
    store: SqlStore,
) -> None:
    h = Harness(store, pass_budget=3)
    shop = await h.channel("shop")
    anna = await h.operator("anna", capacity=10)
    first = [await h.customer_writes(shop, f"c{i}") for i in range(7)]
    await h.pass_()
    filed = [c for c in first if await h.task(c) is not None]
    assert filed == first[:3]  # the oldest first
    assert [await h.assignee(c) for c in filed] == [anna.id] * 3
    await h.pass_()  # the picture says there is more: not an idle pass
    await h.pass_()
    assert [await h.assignee(c) for c in first] == [anna.id] * 7


async def test_the_loop_goes_on_by_itself_while_the_budget_runs_out(store: SqlStore) -> None:
    h = Harness(store, pass_budget=2)
    shop = await h.channel("shop")
    anna = await h.operator("anna", capacity=10)
    first = [await h.customer_writes(shop, f"c{i}") for i in range(9)]
    h.router.start()
    try:
        for _ in range(500):
            if all([await h.assignee(c) == anna.id for c in first]):
                break
            await asyncio.sleep(0.02)
    finally:
        await h.router.stop()
    assert [await h.assignee(c) for c in first] == [anna.id] * 9


async def test_without_a_kept_picture_every_pass_reads_everything(store: SqlStore) -> None:
    h = Harness(store, full_read_seconds=None)
    shop = await h.channel("shop")
    await h.customer_writes(shop, "c1")
    await h.pass_()
    with statements(store) as seen:
        await h.pass_(1)
    assert reads_of_everything(seen) == 1
    assert h.router.keeper.kept_passes == 0


async def test_a_full_team_is_not_decided_on_but_steps_still_wake_the_router(
    h: Harness, monkeypatch: Any
) -> None:
    """Nobody online has room: the pass does not run the policy for the waiting customers,
    yet the next escalation step still sets when the router wakes, and a freed place is
    taken as before."""
    shop = await h.channel("shop")
    anna = await h.operator("anna", capacity=1, skills={"lenses": 2})
    await h.operator("boris", capacity=1)
    await h.queue(
        "Shop",
        channels=[shop.id],
        escalation=[
            {"after": 0, "target": "skills", "skills": {"lenses": 2}},
            {"after": 60, "target": "any"},
        ],
    )
    busy = await h.customer_writes(shop, "first")
    await h.pass_()
    assert await h.assignee(busy) == anna.id
    # boris (no lenses) is free but not eligible until the second step: the policy runs.
    calls: list[int] = []
    real = decide_until_full

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(len(args[1]))
        return real(*args, **kwargs)

    monkeypatch.setattr("routing.passes.decide_until_full", counted)
    waiting = [await h.customer_writes(shop, f"w{i}") for i in range(3)]
    await h.pass_()
    assert calls
    assert all([await h.assignee(c) is None for c in waiting])
    wake = h.router.next_wake
    assert wake is not None  # the second step of the longest waiting
    # From the second step boris takes one; then nobody has room: no policy run.
    await h.pass_(61)
    assert [await h.assignee(c) for c in waiting].count(None) == 2
    calls.clear()
    another = await h.customer_writes(shop, "late")
    await h.pass_(1)
    assert calls == []
    assert h.router.next_wake is not None  # "late" reaches its second step in 60 s
    await resolve_conversation(h.core, anna, busy)
    await h.pass_(1)
    assert calls  # a place freed: the policy decides again
    assert [await h.assignee(c) for c in [*waiting, another]].count(anna.id) == 1
