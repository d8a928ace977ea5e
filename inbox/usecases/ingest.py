"""``ingest_inbound``: a customer message enters the inbox."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta

from inbox.domain.channel_spec import ChannelCatalog
from inbox.domain.channels import Channel
from inbox.domain.contacts import ChannelIdentity, Contact
from inbox.domain.content import Text, plain_text, validate_text
from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.errors import InvalidInput, NotFound
from inbox.domain.events import ConversationChanged, ConversationChangeReason, Event, MessageCreated
from inbox.domain.ids import ContactId, ConversationId, MessageId, new_id
from inbox.domain.messages import (
    AuthorKind,
    DeliveryStatus,
    Direction,
    InboundMessage,
    Message,
    MessageKind,
    SenderProfile,
)
from inbox.ports import IntakePolicy, IntakeRequest, IntakeStatus, Tx
from inbox.usecases.deps import Core, Outcome, run

__all__ = ["IngestResult", "ingest_inbound"]

#: Characters of the last message shown in conversation lists.
PREVIEW_CHARS = 140
SUBJECT_CHARS = 300
#: A reply that lost its threading headers still joins by subject within this window.
SUBJECT_WINDOW = timedelta(days=7)
#: References beyond these are not looked up (a long thread's oldest ids add nothing).
MAX_THREAD_REFS = 20


@dataclass(frozen=True, slots=True)
class IngestResult:
    message: Message
    conversation: Conversation
    duplicate: bool


async def ingest_inbound(
    core: Core, inbound: InboundMessage, *, channel: Channel | None = None
) -> IngestResult:
    """Store a customer message exactly once and put its conversation in front of people.

    Idempotent on (channel, external id): a provider retry returns the stored message with
    ``duplicate=True`` and publishes nothing. A message that opens a new conversation or
    reopens a resolved one asks ``core.intake`` (:class:`inbox.ports.IntakePolicy`) who
    takes it: the conversation opens as ``bot`` or ``queued`` (routing), and the
    ``ConversationChanged`` event (``created`` / ``reopened``) carries that status. Raises
    :class:`NotFound` for an unknown or disabled channel and :class:`InvalidInput` for a
    message with no content or oversize text, or a ``channel`` that is not the message's;
    nothing is stored then. Raises :class:`Overloaded` at once, storing nothing, when
    ``core.admission`` already has its bound of ingests in flight, or its oldest has waited
    too long (docs/reliability.md).

    ``channel`` is the message's channel when the edge has loaded it already (a webhook
    authenticated against it): ingest then never reads the channel row. Without it the
    row is read at most once, and only when the message opens or reopens a conversation
    or creates the customer's identity -- every statement saved here is saved on the
    hottest path.
    """
    if channel is not None and channel.id != inbound.channel_id:
        raise InvalidInput("the message did not come in on this channel")
    if not inbound.parts:
        raise InvalidInput("a message needs at least one part")
    if not inbound.external_id:
        raise InvalidInput("a message needs the channel's message id")
    for part in inbound.parts:
        if isinstance(part, Text):
            validate_text(part.text)

    async def work(tx: Tx) -> Outcome[IngestResult]:
        return await _ingest(
            _Intake(tx, inbound, core.intake, channel, core.channels), core.clock.now()
        )

    # Refused here, before the write is queued: an Overloaded message was never stored.
    ticket = core.admission.enter()
    try:
        return await run(core, work)
    finally:
        core.admission.leave(ticket)


class _Intake:
    """One ingest transaction's view of the message, its channel and the intake policy.

    The channel is the one the edge passed in, else read once, when first needed."""

    def __init__(
        self,
        tx: Tx,
        inbound: InboundMessage,
        policy: IntakePolicy,
        channel: Channel | None,
        catalog: ChannelCatalog,
    ) -> None:
        self.tx = tx
        self.inbound = inbound
        self._policy = policy
        self._channel = channel
        self._catalog = catalog

    def reply_window_ends(self, kind: str, now: datetime) -> datetime | None:
        """Until when free-form replies are accepted after this message (the kind's reply
        window, e.g. WhatsApp's 24 hours); None for a kind without one."""
        spec = self._catalog.get(kind)
        if spec is None or spec.reply_window is None:
            return None
        return spec.reply_window.ends_at(now)

    async def channel(self, *, enabled: bool) -> Channel:
        """The channel; with ``enabled``, raises :class:`NotFound` unless it is enabled
        (a new identity or conversation needs a working channel; a reopen does not)."""
        if self._channel is None:
            found = await self.tx.channels.get(self.inbound.channel_id)
            if found is None:
                raise NotFound("no such channel, or it is disabled")
            self._channel = found
        if enabled and not self._channel.enabled:
            raise NotFound("no such channel, or it is disabled")
        return self._channel

    async def decide(
        self,
        channel: Channel,
        identity: ChannelIdentity,
        conversation_id: ConversationId,
        reopening: Conversation | None,
        now: datetime,
    ) -> IntakeStatus:
        """Ask the policy who takes the conversation; only ``bot`` or ``queued`` count. A
        kind that delivers nothing (``ChannelSpec.no_replies``) goes to routing: no bot
        can answer there."""
        spec = self._catalog.get(channel.kind)
        if spec is not None and spec.no_replies:
            return ConversationStatus.QUEUED
        request = IntakeRequest(
            channel, self.inbound, identity.contact_id, conversation_id, reopening, now
        )
        status = await self._policy.take(self.tx, request)
        if status is ConversationStatus.BOT or status is ConversationStatus.QUEUED:
            return status
        raise TypeError(f"an intake policy answered {status!r}, not bot or queued")


async def _ingest(intake: _Intake, now: datetime) -> Outcome[IngestResult]:
    tx, inbound = intake.tx, intake.inbound
    existing = await tx.messages.find_by_external(inbound.channel_id, inbound.external_id)
    if existing is not None:
        stored = await tx.conversations.get(existing.conversation_id)
        assert stored is not None  # a message always references its conversation
        return Outcome(IngestResult(existing, stored, duplicate=True))

    identity = await _upsert_identity(intake, now)
    conversation, reason, before = await _find_or_open(intake, identity, now)

    seq = conversation.last_message_seq + 1
    message = Message(
        id=MessageId(new_id()),
        conversation_id=conversation.id,
        channel_id=inbound.channel_id,
        seq=seq,
        kind=MessageKind.MESSAGE,
        direction=Direction.INBOUND,
        author_kind=AuthorKind.CUSTOMER,
        author_id=identity.contact_id,
        author_name=identity.display_name,
        parts=inbound.parts,
        status=DeliveryStatus.RECEIVED,
        created_at=now,
        external_id=inbound.external_id,
        meta=_meta(inbound),
    )
    conversation = dataclasses.replace(
        conversation,
        contact_name=identity.display_name,
        last_message_seq=seq,
        last_message_at=now,
        last_inbound_at=now,
        reply_window_ends_at=intake.reply_window_ends(conversation.channel_kind, now),
        unread_count=conversation.unread_count + 1,
        preview=plain_text(inbound.parts)[:PREVIEW_CHARS],
        updated_at=now,
    )
    if reason == "created":
        await tx.conversations.add(conversation)
    else:
        await tx.conversations.update(conversation)
    await tx.messages.add(message)

    events: list[Event] = []
    if reason is not None:
        events.append(
            ConversationChanged(
                conversation,
                reason,
                before.assignee_id if before else None,
                before.status if before else None,
            )
        )
    events.append(MessageCreated(message, conversation))
    return Outcome(IngestResult(message, conversation, duplicate=False), events)


def _meta(inbound: InboundMessage) -> dict[str, str]:
    meta: dict[str, str] = {}
    if inbound.reply_to_external_id:
        meta["reply_to"] = inbound.reply_to_external_id
    if inbound.edit_of_external_id:
        meta["edit_of"] = inbound.edit_of_external_id
    return meta


def _display_name(sender: SenderProfile) -> str:
    if sender.display_name:
        return sender.display_name
    if sender.username:
        return "@" + sender.username
    return sender.phone or sender.email or f"Customer {sender.external_user_id[:6]}"


async def _upsert_identity(intake: _Intake, now: datetime) -> ChannelIdentity:
    tx, inbound = intake.tx, intake.inbound
    sender = inbound.sender
    identity = await tx.contacts.find_identity(inbound.channel_id, sender.external_user_id)
    if identity is None:
        channel = await intake.channel(enabled=True)
        fresh = ChannelIdentity(
            contact_id=ContactId(new_id()),
            channel_id=channel.id,
            external_user_id=sender.external_user_id,
            display_name=_display_name(sender),
            username=sender.username,
            phone=sender.phone,
            email=sender.email,
        )
        contact = Contact(
            id=fresh.contact_id,
            display_name=fresh.display_name,
            created_at=now,
            phone=sender.phone,
            email=sender.email,
        )
        await tx.contacts.add(contact, fresh)
        return fresh
    # A profile only improves: a field the channel left empty does not erase a known one.
    named = bool(sender.display_name or sender.username)
    merged = dataclasses.replace(
        identity,
        display_name=_display_name(sender) if named else identity.display_name,
        username=sender.username or identity.username,
        phone=sender.phone or identity.phone,
        email=sender.email or identity.email,
    )
    if merged != identity:
        await tx.contacts.update_identity(merged)
    return merged


async def _find_or_open(
    intake: _Intake, identity: ChannelIdentity, now: datetime
) -> tuple[Conversation, ConversationChangeReason | None, Conversation | None]:
    """The conversation this message belongs to, locked; opened or reopened if needed, in
    the status the intake policy chose.

    Returns it, why it changed (``None`` for no change) and its state before a reopen.
    """
    tx, inbound = intake.tx, intake.inbound
    if inbound.threading == "references":
        locked = await _by_thread(tx, identity, inbound, now)
    else:
        locked = await tx.conversations.find_latest(
            identity.contact_id, inbound.channel_id, for_update=True
        )
    if locked is not None:
        if locked.status is ConversationStatus.RESOLVED:
            channel = await intake.channel(enabled=False)
            status = await intake.decide(channel, identity, locked.id, locked, now)
            return locked.moved_to(status, now), "reopened", locked
        return locked, None, None
    channel = await intake.channel(enabled=True)
    conversation_id = ConversationId(new_id())
    status = await intake.decide(channel, identity, conversation_id, None, now)
    conversation = Conversation(
        id=conversation_id,
        channel_id=channel.id,
        contact_id=identity.contact_id,
        status=status,
        created_at=now,
        updated_at=now,
        queued_at=now if status is ConversationStatus.QUEUED else None,
        contact_name=identity.display_name,
        channel_kind=str(channel.kind),
        thread_key=inbound.thread_key or inbound.sender.external_user_id,
        subject=(inbound.thread_subject or "")[:SUBJECT_CHARS],
    )
    return conversation, "created", None


async def _by_thread(
    tx: Tx, identity: ChannelIdentity, inbound: InboundMessage, now: datetime
) -> Conversation | None:
    """E-mail threading: the referenced conversation if it is this contact's; else this
    contact's latest conversation when its subject matches and it was active within
    :data:`SUBJECT_WINDOW`; else ``None`` (a new conversation). A reply from someone else
    to a thread never joins another person's conversation."""
    referenced: list[Message] = []
    for ref in inbound.thread_refs[:MAX_THREAD_REFS]:
        found = await tx.messages.find_by_external(inbound.channel_id, ref)
        if found is not None:
            referenced.append(found)
            break
    if not referenced:
        for mid in inbound.thread_message_ids[:MAX_THREAD_REFS]:
            found = await tx.messages.get(MessageId(mid))
            if found is not None and found.channel_id == inbound.channel_id:
                referenced.append(found)
                break
    if referenced:
        conversation = await tx.conversations.get_for_update(referenced[0].conversation_id)
        if conversation is not None and conversation.contact_id == identity.contact_id:
            return conversation
        return None
    if not inbound.thread_subject:
        return None
    latest = await tx.conversations.find_latest(
        identity.contact_id, inbound.channel_id, for_update=True
    )
    if (
        latest is not None
        and latest.subject.casefold() == inbound.thread_subject[:SUBJECT_CHARS].casefold()
        and now - (latest.last_message_at or latest.created_at) <= SUBJECT_WINDOW
    ):
        return latest
    return None
