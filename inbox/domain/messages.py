"""Messages: what a channel brings in, what we send out, and what we store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal

from inbox.domain.content import Part
from inbox.domain.ids import ChannelId, ConversationId, MessageId

__all__ = [
    "AuthorKind",
    "DeliveryStatus",
    "Direction",
    "InboundMessage",
    "Message",
    "MessageKind",
    "OutboundMessage",
    "SenderProfile",
]


class Direction(StrEnum):
    INBOUND = "inbound"  # from the customer
    OUTBOUND = "outbound"  # to the customer
    INTERNAL = "internal"  # never leaves the server (private notes)


class MessageKind(StrEnum):
    MESSAGE = "message"
    NOTE = "note"


class AuthorKind(StrEnum):
    CUSTOMER = "customer"
    OPERATOR = "operator"
    BOT = "bot"
    SYSTEM = "system"


class DeliveryStatus(StrEnum):
    RECEIVED = "received"  # inbound, stored
    PENDING = "pending"  # outbound, waiting in the outbox
    SENT = "sent"  # accepted by the provider
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"

    @property
    def rank(self) -> int:
        """Order of progress; a status never moves back (a late "sent" after "read")."""
        return _RANK[self]


_RANK = {
    DeliveryStatus.RECEIVED: 0,
    DeliveryStatus.PENDING: 0,
    DeliveryStatus.SENT: 1,
    DeliveryStatus.DELIVERED: 2,
    DeliveryStatus.READ: 3,
    DeliveryStatus.FAILED: 4,
}


@dataclass(frozen=True, slots=True)
class SenderProfile:
    """Who wrote, as the channel knows them. ``external_user_id`` is stable per channel."""

    external_user_id: str
    display_name: str = ""
    username: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A customer message as a channel hands it to the core.

    ``external_id`` is the provider's id of the message, unique within the channel; the
    core stores each (channel, external_id) once, so provider retries are harmless.
    """

    channel_id: ChannelId
    external_id: str
    sender: SenderProfile
    parts: tuple[Part, ...]
    sent_at: datetime | None = None
    #: Where replies go, when it differs from the sender's id (a group chat, a peer id).
    thread_key: str | None = None
    #: The provider's id of the message this one quotes / replies to.
    reply_to_external_id: str | None = None
    #: Set when this is an edit: the provider's id of the message as first sent.
    edit_of_external_id: str | None = None
    #: How the conversation is found. ``"contact"`` (messengers): the contact's latest
    #: conversation on the channel. ``"references"`` (e-mail): by ``thread_refs`` /
    #: ``thread_message_ids`` — only a conversation of the same contact —, then by
    #: ``thread_subject`` within a week, else a new conversation.
    threading: Literal["contact", "references"] = "contact"
    #: Provider ids this message refers to, most relevant first (e-mail: In-Reply-To, then
    #: References newest first).
    thread_refs: tuple[str, ...] = ()
    #: Our own message ids recovered from reply tokens (our Message-IDs carry them).
    thread_message_ids: tuple[str, ...] = ()
    #: The normalised subject ("Re: Order 42" → "Order 42") for the fallback match.
    thread_subject: str | None = None


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A message for a channel to deliver to ``recipient``."""

    message_id: MessageId
    conversation_id: ConversationId
    channel_id: ChannelId
    recipient: str
    parts: tuple[Part, ...]
    author_name: str = ""
    seq: int = 0
    created_at: datetime | None = None
    #: The provider's id of the customer message being answered, when the operator quoted it.
    reply_to_external_id: str | None = None
    #: The conversation's subject (e-mail).
    subject: str = ""
    #: The provider ids of the conversation's earlier messages, oldest first (e-mail
    #: References), and of the customer's latest message (In-Reply-To).
    references: tuple[str, ...] = ()
    in_reply_to: str | None = None
    #: Sent by a bot or the system, not typed by a person (e-mail marks it
    #: ``Auto-Submitted: auto-replied`` so that the customer's auto-responder stays quiet).
    automatic: bool = False


@dataclass(frozen=True, slots=True)
class Message:
    """A stored message. ``seq`` orders messages within their conversation (1, 2, 3, ...)."""

    id: MessageId
    conversation_id: ConversationId
    channel_id: ChannelId
    seq: int
    kind: MessageKind
    direction: Direction
    author_kind: AuthorKind
    author_id: str | None
    parts: tuple[Part, ...]
    status: DeliveryStatus
    created_at: datetime
    client_id: str | None = None
    external_id: str | None = None
    error: str | None = None
    author_name: str = ""
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def visible_to_customer(self) -> bool:
        return self.kind is MessageKind.MESSAGE
