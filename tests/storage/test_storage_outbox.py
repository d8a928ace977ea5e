"""The outbox: per-conversation order, leases, retries."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta

from inbox.domain.conversations import Conversation
from inbox.domain.ids import OutboxId
from inbox.ports import OutboxItem, Tx
from storage import SqlStore
from tests.storage.builders import at, make_conversation, make_message, make_outbox_item, seed_world


@dataclass(frozen=True, slots=True)
class Jobs:
    """Conversation A has jobs a1 (oldest), a2; conversation B has b1."""

    a: Conversation
    b: Conversation
    a1: OutboxItem
    a2: OutboxItem
    b1: OutboxItem


async def _jobs(store: SqlStore, *, a1_available_at: datetime | None = None) -> Jobs:
    world = await seed_world(store)
    a = world.conversation
    b = make_conversation(world.channel, world.contact)
    ma1, ma2, mb1 = make_message(a, 1), make_message(a, 2), make_message(b, 1)
    jobs = Jobs(
        a=a,
        b=b,
        a1=make_outbox_item(ma1, created_at=at(1), available_at=a1_available_at),
        a2=make_outbox_item(ma2, created_at=at(2)),
        b1=make_outbox_item(mb1, created_at=at(3)),
    )

    async def add(tx: Tx) -> None:
        await tx.conversations.add(b)
        for message in (ma1, ma2, mb1):
            await tx.messages.add(message)
        # Inserted newest first: order comes from created_at, not from insertion.
        for item in (jobs.b1, jobs.a2, jobs.a1):
            await tx.outbox.add(item)

    await store.transact(add)
    return jobs


async def _claim(
    store: SqlStore, now: datetime, owner: str, *, limit: int = 10, lease_s: float = 30
) -> list[OutboxItem]:
    lease_until = now + timedelta(seconds=lease_s)
    return await store.transact(
        lambda tx: tx.outbox.claim_due(now, limit=limit, lease_until=lease_until, owner=owner)
    )


async def test_claim_takes_only_the_oldest_job_of_each_conversation(store: SqlStore) -> None:
    jobs = await _jobs(store)
    assert await store.read(lambda tx: tx.outbox.pending_count()) == 3
    claimed = await _claim(store, at(10), "w1")
    assert claimed == [jobs.a1, jobs.b1]


async def test_leased_heads_block_their_conversations_for_everyone(store: SqlStore) -> None:
    jobs = await _jobs(store)
    assert await _claim(store, at(10), "w1") == [jobs.a1, jobs.b1]
    # Neither another worker nor the same one gets anything while the leases hold,
    # and a2 stays behind a1.
    assert await _claim(store, at(11), "w2") == []
    assert await _claim(store, at(11), "w1") == []

    await store.transact(lambda tx: tx.outbox.complete(jobs.a1.id))
    assert await store.read(lambda tx: tx.outbox.pending_count()) == 2
    assert await _claim(store, at(12), "w2") == [jobs.a2]


async def test_expired_leases_are_claimed_again(store: SqlStore) -> None:
    jobs = await _jobs(store)
    assert await _claim(store, at(10), "w1", lease_s=30) == [jobs.a1, jobs.b1]
    assert await _claim(store, at(39), "w2") == []
    # The lease ran until at(40): from then on the jobs are free again.
    assert await _claim(store, at(40), "w2") == [jobs.a1, jobs.b1]


async def test_a_head_not_yet_due_holds_back_its_conversation(store: SqlStore) -> None:
    jobs = await _jobs(store, a1_available_at=at(100))
    assert await _claim(store, at(10), "w1") == [jobs.b1]
    await store.transact(lambda tx: tx.outbox.complete(jobs.b1.id))
    assert await _claim(store, at(99), "w1") == []
    assert await _claim(store, at(100), "w1") == [jobs.a1]


async def test_claim_respects_limit_in_due_order(store: SqlStore) -> None:
    jobs = await _jobs(store)
    assert await _claim(store, at(10), "w1", limit=1) == [jobs.a1]
    assert await _claim(store, at(10), "w1", limit=1) == [jobs.b1]
    assert await _claim(store, at(10), "w1", limit=0) == []


async def test_retry_later_releases_and_reschedules(store: SqlStore) -> None:
    jobs = await _jobs(store)
    await _claim(store, at(10), "w1")
    await store.transact(
        lambda tx: tx.outbox.retry_later(
            jobs.a1.id, available_at=at(70), attempts=1, error="rate limited"
        )
    )
    # a1 is released but not due until at(70); b1 is still leased; a2 waits behind a1.
    assert await _claim(store, at(20), "w2") == []
    retried = await _claim(store, at(70), "w2")
    assert retried == [
        jobs.b1,  # due since at(3); its lease (until at(40)) expired meanwhile
        OutboxItem(
            id=jobs.a1.id,
            message_id=jobs.a1.message_id,
            conversation_id=jobs.a.id,
            channel_id=jobs.a1.channel_id,
            created_at=jobs.a1.created_at,
            available_at=at(70),
            attempts=1,
            last_error="rate limited",
            seq=jobs.a1.seq,
        ),
    ]


async def test_concurrent_claimers_never_share_a_conversation(store: SqlStore) -> None:
    jobs = await _jobs(store)
    results = await asyncio.gather(*(_claim(store, at(10), f"w{n}") for n in range(4)))
    claimed = [item for result in results for item in result]
    assert sorted(i.id for i in claimed) == sorted([jobs.a1.id, jobs.b1.id])


async def test_jobs_queued_in_one_transaction_go_out_in_message_order(store: SqlStore) -> None:
    """A bot's greeting and menu share ``created_at``; the job ids are random, so only the
    message seq can order them. The later message's job has the smaller id here."""
    world = await seed_world(store)
    conv = world.conversation
    first, second = make_message(conv, 1), make_message(conv, 2)
    job_first = dataclasses.replace(
        make_outbox_item(first, created_at=at(1)), id=OutboxId("f" * 32)
    )
    job_second = dataclasses.replace(
        make_outbox_item(second, created_at=at(1)), id=OutboxId("0" * 32)
    )

    async def add(tx: Tx) -> None:
        for message in (first, second):
            await tx.messages.add(message)
        for item in (job_second, job_first):
            await tx.outbox.add(item)

    await store.transact(add)
    assert [j.message_id for j in await _claim(store, at(5), "w1")] == [first.id]
    await store.transact(lambda tx: tx.outbox.complete(job_first.id))
    assert [j.message_id for j in await _claim(store, at(5), "w1")] == [second.id]


async def test_the_leases_of_gone_owners_are_released_and_claimed_at_once(
    store: SqlStore,
) -> None:
    """A process that died with replies in flight: its leases are listed, dropped, and
    the jobs are due again at once, before their term (inbox.owners)."""
    jobs = await _jobs(store)
    assert await _claim(store, at(10), "dead", limit=1, lease_s=120) == [jobs.a1]
    assert await _claim(store, at(10), "alive", limit=1, lease_s=120) == [jobs.b1]
    owners = await store.read(lambda tx: tx.outbox.lease_owners(at(11)))
    assert sorted(owners) == ["alive", "dead"]
    assert await store.read(lambda tx: tx.outbox.lease_owners(at(131))) == []  # ran out
    freed = await store.transact(lambda tx: tx.outbox.release_owners(["dead"]))
    assert freed == 1
    assert await store.transact(lambda tx: tx.outbox.release_owners([])) == 0
    assert await _claim(store, at(12), "next") == [jobs.a1]  # b1 is still alive's
    assert sorted(await store.read(lambda tx: tx.outbox.lease_owners(at(13)))) == [
        "alive",
        "next",
    ]
