"""How a message finds its conversation: the contact's latest (messengers), or by
references, our reply tokens and subject (e-mail) — never into another person's."""

from __future__ import annotations

import dataclasses

from inbox.bus import InProcessEventBus
from inbox.domain.channels import ChannelKind
from inbox.domain.clock import FixedClock
from inbox.domain.content import Text
from inbox.domain.messages import InboundMessage, SenderProfile
from inbox.usecases import Core, add_channel, ingest_inbound, resolve_conversation
from inbox.usecases.ingest import IngestResult
from server.channels import CATALOG
from storage import SqlStore


def mail(
    channel_id: str,
    mid: str,
    sender: str,
    *,
    refs: tuple[str, ...] = (),
    ours: tuple[str, ...] = (),
    subject: str | None = "Order 42",
) -> InboundMessage:
    return InboundMessage(
        channel_id=channel_id,  # type: ignore[arg-type]
        external_id=mid,
        sender=SenderProfile(sender, email=sender),
        parts=(Text(f"mail {mid}"),),
        thread_key=sender,
        threading="references",
        thread_refs=refs,
        thread_message_ids=ours,
        thread_subject=subject,
    )


async def setup(store: SqlStore) -> tuple[Core, FixedClock, str]:
    clock = FixedClock()
    core = Core(store=store, bus=InProcessEventBus(), clock=clock, channels=CATALOG)
    channel = await add_channel(core, ChannelKind("email"), "Mail", {})
    return core, clock, channel.id


async def test_references_join_and_new_topics_open_new_conversations(store: SqlStore) -> None:
    core, _clock, ch = await setup(store)
    first = await ingest_inbound(core, mail(ch, "<a@x>", "ann@example.com"))
    reply = await ingest_inbound(
        core, mail(ch, "<b@x>", "ann@example.com", refs=("<a@x>",), subject="Order 42")
    )
    assert reply.conversation.id == first.conversation.id
    other_topic = await ingest_inbound(
        core, mail(ch, "<c@x>", "ann@example.com", subject="Invoice for March")
    )
    assert other_topic.conversation.id != first.conversation.id
    assert other_topic.conversation.subject == "Invoice for March"


async def test_a_reply_without_headers_joins_by_subject_within_a_week(store: SqlStore) -> None:
    core, clock, ch = await setup(store)
    first = await ingest_inbound(core, mail(ch, "<a@x>", "ann@example.com"))
    clock.advance(3 * 86400)
    same = await ingest_inbound(core, mail(ch, "<b@x>", "ann@example.com"))
    assert same.conversation.id == first.conversation.id
    clock.advance(8 * 86400)
    late = await ingest_inbound(core, mail(ch, "<c@x>", "ann@example.com"))
    assert late.conversation.id != first.conversation.id


async def test_someone_else_in_the_thread_gets_their_own_conversation(store: SqlStore) -> None:
    core, _clock, ch = await setup(store)
    ann = await ingest_inbound(core, mail(ch, "<a@x>", "ann@example.com"))
    bob = await ingest_inbound(core, mail(ch, "<b@x>", "bob@example.com", refs=("<a@x>",)))
    assert bob.conversation.id != ann.conversation.id
    assert bob.conversation.contact_id != ann.conversation.contact_id


async def test_our_reply_token_finds_the_conversation_and_reopens_it(store: SqlStore) -> None:
    core, clock, ch = await setup(store)
    first: IngestResult = await ingest_inbound(core, mail(ch, "<a@x>", "ann@example.com"))
    # A supervisor-free way to resolve: any operator object with a broad role will do.
    from inbox.domain.ids import OperatorId
    from inbox.domain.operators import Operator, Role

    admin = Operator(OperatorId("x"), "admin", "Admin", Role.ADMIN, "h", clock.now())
    await resolve_conversation(core, admin, first.conversation.id)
    again = await ingest_inbound(
        core,
        mail(
            ch,
            "<z@x>",
            "ann@example.com",
            refs=("<unknown@elsewhere>",),
            ours=(first.message.id,),
            subject="something else entirely",
        ),
    )
    assert again.conversation.id == first.conversation.id
    assert again.conversation.status == "queued"  # reopened


async def test_messengers_keep_using_the_latest_conversation(store: SqlStore) -> None:
    core, _clock, ch = await setup(store)
    first = await ingest_inbound(core, mail(ch, "<a@x>", "ann@example.com"))
    plain = dataclasses.replace(
        mail(ch, "<b@x>", "ann@example.com", subject="unrelated"), threading="contact"
    )
    assert (await ingest_inbound(core, plain)).conversation.id == first.conversation.id
