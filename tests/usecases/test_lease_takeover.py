"""A reply leased by a process that ended is sent by the next worker at once, not after
its 120 s lease (inbox.owners, server.process_owners); on a real database (SQLite and
PostgreSQL), with a real ended process."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest

from inbox.bus import InProcessEventBus
from inbox.delivery import DeliveryWorker
from inbox.domain.channel_spec import ChannelCatalog
from inbox.domain.clock import FixedClock
from inbox.domain.content import Text
from inbox.domain.messages import InboundMessage, SenderProfile
from inbox.owners import RandomOwners
from inbox.usecases import Core, add_channel, claim_conversation, ingest_inbound, send_reply
from server.process_owners import LocalProcessOwners
from storage import SqlStore
from tests.usecases.test_channel_catalog import SMS, SMS_SPEC, RecordingSender, _operator


@pytest.fixture
def core(store: SqlStore) -> Core:
    return Core(
        store=store,
        bus=InProcessEventBus(),
        clock=FixedClock(),
        channels=ChannelCatalog.of([SMS_SPEC]),
    )


def _ended_process_owner(owners: LocalProcessOwners) -> str:
    """An owner name of this machine whose process has ended."""
    host, boot, _pid, start = owners.new("delivery").rpartition("@")[2].split("/")
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return f"delivery-dead@{host}/{boot}/{child.pid}/{start}"


async def test_a_reply_leased_by_an_ended_process_goes_out_at_once(
    core: Core, store: SqlStore
) -> None:
    channel = await add_channel(core, SMS, "SMS", {"token": "t"})
    operator = await _operator(core, "ann")
    message = InboundMessage(channel.id, "in-1", SenderProfile("+100", "Ann"), (Text("hi"),))
    conversation = (await ingest_inbound(core, message)).conversation
    await claim_conversation(core, operator, conversation.id)
    await send_reply(core, operator, conversation.id, (Text("answer"),), None)

    owners = LocalProcessOwners()
    dead = _ended_process_owner(owners)
    now = core.clock.now()
    leased = await store.transact(
        lambda tx: tx.outbox.claim_due(
            now, limit=10, lease_until=now + timedelta(seconds=120), owner=dead
        )
    )
    assert len(leased) == 1  # the process died here, the reply in flight

    sender = RecordingSender()
    await DeliveryWorker(core, {"sms": sender}, owners=RandomOwners()).run_once()
    assert sender.sent == []  # without owners to check, the lease holds for its term
    worker = DeliveryWorker(core, {"sms": sender}, owners=owners)
    assert await worker.run_once() == 1
    assert [m.parts for m in sender.sent] == [(Text("answer"),)]
    assert await store.read(lambda tx: tx.outbox.pending_count()) == 0
    assert await worker.run_once() == 0  # sent once
