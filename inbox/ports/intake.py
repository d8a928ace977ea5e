"""Who takes a new or reopened conversation: the intake policy port."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from inbox.domain.channels import Channel
from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.ids import (
    ContactId,
    ConversationId,
)
from inbox.domain.messages import InboundMessage
from inbox.ports.repositories import Tx

__all__ = ["IntakePolicy", "IntakeRequest", "IntakeStatus"]


#: Who takes a conversation that a customer message opens or reopens: a bot flow
#: (``BOT``) or routing (``QUEUED``).
IntakeStatus = Literal[ConversationStatus.BOT, ConversationStatus.QUEUED]


@dataclass(frozen=True, slots=True)
class IntakeRequest:
    """A customer message that opens a conversation, as the intake policy sees it.

    ``channel`` is the channel the message came in on (already loaded by the edge or by
    ingest: the policy never needs to read it again). ``reopening`` is the resolved
    conversation that this message reopens, ``None`` when it opens a new one.
    ``contact_id`` and ``conversation_id`` are the ids the conversation has or will have.
    """

    channel: Channel
    inbound: InboundMessage
    contact_id: ContactId
    conversation_id: ConversationId
    reopening: Conversation | None
    now: datetime


class IntakePolicy(Protocol):
    """Decides who takes a conversation that a customer message creates or reopens.

    Called by ``ingest_inbound`` inside its transaction, once per new or reopened
    conversation (never for a message that joins an open one, nor for a duplicate). It
    must be cheap and do no network I/O: it runs on the hottest path, while the
    conversation's row is locked. It may read through ``tx``; it should write nothing
    (the feature that takes the conversation acts on the ``ConversationChanged`` event
    published after commit). If it does write its own records, they join the ingest
    transaction: they roll back with it, and they must be safe to run again, because a
    batched store re-runs the whole transaction's work after an integrity error. It must
    not publish events. Whatever it raises fails the ingest (nothing is stored and the
    channel is not acknowledged), so it should not raise.

    ``BOT``: the conversation opens (or reopens) as a bot conversation; routing does not
    look at it until a hand-off (``inbox.usecases.hand_off``) queues it. ``QUEUED``: it
    goes to routing, as it always did. The default (``inbox.usecases.RouteEverything``)
    answers ``QUEUED`` for everything.
    """

    async def take(self, tx: Tx, request: IntakeRequest) -> IntakeStatus: ...
