"""The webhook delivery queue in storage, on SQLite and PostgreSQL: deliveries commit or
roll back with the change that recorded them, and concurrent claimers (two stores, as two
processes have) never get the same delivery."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from inbox.domain.clock import FixedClock
from inbox.domain.contacts import Contact
from inbox.domain.events import ConversationChanged
from inbox.domain.ids import new_id
from inbox.usecases import Outcome
from storage import SqlStore, open_store
from storage.repositories.tx import SqlTx
from tests.storage.builders import T0, make_contact, make_identity, seed_world
from webhooks import WebhookRecorder, core_payloads
from webhooks.records import Delivery, DeliveryId, DeliveryState, Webhook, WebhookId


def _webhook(*events: str) -> Webhook:
    return Webhook(
        id=WebhookId(new_id()),
        url="http://127.0.0.1:9/hook",
        events=events,
        secret="whsec_test",
        enabled=True,
        created_at=T0,
        updated_at=T0,
    )


async def test_deliveries_commit_and_roll_back_with_the_change(store: SqlStore) -> None:
    world = await seed_world(store)
    webhook = _webhook("conversation.created")
    await store.transact(lambda tx: tx.webhooks.add_webhook(webhook))
    recorder = WebhookRecorder(store, FixedClock(T0), [core_payloads])
    await recorder.load()
    store.add_transaction_hook(recorder.record)
    event = ConversationChanged(world.conversation, "created")

    added: list[Contact] = []

    async def change(tx: SqlTx) -> Outcome[None]:
        contact = make_contact(name="Boris")
        added.append(contact)
        await tx.contacts.add(contact, make_identity(contact, world.channel, contact.id))
        return Outcome(None, [event])

    await store.transact(change)
    log = await store.read(lambda tx: tx.webhooks.list_deliveries(webhook.id, limit=10))
    assert [(d.event, d.state) for d in log] == [("conversation.created", DeliveryState.PENDING)]
    assert '"event":"conversation.created"' in log[0].body

    # A later hook fails: the change, and the delivery recorded before it, roll back.
    async def failing(tx: SqlTx, result: object) -> None:
        raise RuntimeError("after the recorder")

    store.add_transaction_hook(failing)
    with pytest.raises(RuntimeError):
        await store.transact(change)
    log = await store.read(lambda tx: tx.webhooks.list_deliveries(webhook.id, limit=10))
    assert len(log) == 1
    # (The store may run a failed work again on its own before giving up.)
    first, *failed = added
    assert failed
    assert await store.read(lambda tx: tx.contacts.get(first.id)) is not None
    ids = [c.id for c in failed]

    async def kept(tx: SqlTx) -> list[Contact | None]:
        return [await tx.contacts.get(contact_id) for contact_id in ids]

    assert await store.read(kept) == [None] * len(ids)


async def test_two_stores_never_claim_one_delivery(database_url: str, store: SqlStore) -> None:
    webhook = _webhook("message.created")
    deliveries = [
        Delivery(
            id=DeliveryId(new_id()),
            webhook_id=webhook.id,
            event_id=f"evt_{n}",
            event="message.created",
            body="{}",
            created_at=T0,
            next_attempt_at=T0 + timedelta(seconds=n % 3),
        )
        for n in range(60)
    ]

    async def seed(tx: SqlTx) -> None:
        await tx.webhooks.add_webhook(webhook)
        await tx.webhooks.add_deliveries(deliveries)

    await store.transact(seed)
    other = await open_store(database_url)
    now = T0 + timedelta(minutes=1)
    claimed: list[str] = []

    async def claimer(on: SqlStore, owner: str) -> None:
        while True:
            got = await on.transact(
                lambda tx: tx.webhooks.claim_due(
                    now, limit=7, lease_until=now + timedelta(minutes=2), owner=owner
                )
            )
            if not got:
                return
            claimed.extend(d.delivery.id for d in got)

    try:
        await asyncio.gather(claimer(store, "a"), claimer(other, "b"), claimer(store, "c"))
    finally:
        await other.close()
    assert sorted(claimed) == sorted(d.id for d in deliveries)
    # Leased: nothing is due again until the lease ends, then everything is.
    again = await store.transact(
        lambda tx: tx.webhooks.claim_due(now, limit=100, lease_until=now, owner="d")
    )
    assert again == []
    later = now + timedelta(minutes=3)
    again = await store.transact(
        lambda tx: tx.webhooks.claim_due(later, limit=100, lease_until=later, owner="d")
    )
    assert len(again) == 60


async def test_deliveries_leased_by_a_gone_owner_are_released(store: SqlStore) -> None:
    webhook = _webhook("message.created")
    deliveries = [
        Delivery(
            id=DeliveryId(new_id()),
            webhook_id=webhook.id,
            event_id=f"evt_{n}",
            event="message.created",
            body="{}",
            created_at=T0,
            next_attempt_at=T0,
        )
        for n in range(3)
    ]

    async def seed(tx: SqlTx) -> None:
        await tx.webhooks.add_webhook(webhook)
        await tx.webhooks.add_deliveries(deliveries)

    await store.transact(seed)
    now = T0 + timedelta(seconds=1)
    lease = now + timedelta(minutes=2)
    for owner, limit in (("dead", 2), ("alive", 1)):

        async def claim(tx: SqlTx, o: str = owner, n: int = limit) -> None:
            await tx.webhooks.claim_due(now, limit=n, lease_until=lease, owner=o)

        await store.transact(claim)
    owners = await store.read(lambda tx: tx.webhooks.lease_owners(now))
    assert sorted(owners) == ["alive", "dead"]
    assert await store.transact(lambda tx: tx.webhooks.release_owners(["dead"])) == 2
    again = await store.transact(
        lambda tx: tx.webhooks.claim_due(now, limit=10, lease_until=lease, owner="next")
    )
    assert len(again) == 2
