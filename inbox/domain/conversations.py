"""Conversations and their status machine.

::

    bot ──► queued ──► assigned ──► resolved
     │        ▲  ◄──────┘  │            │
     └────────┴────────────┴─► resolved │
              └─────────────────────────┘  reopen (a new customer message or by hand)

A customer message that opens a conversation, or reopens a resolved one, asks the intake
policy (``inbox.ports.IntakePolicy``) who takes it: it starts as ``bot`` (a bot flow
answers; routing does not see it) or ``queued`` (routing). A bot conversation leaves
the bot by a hand-off (``bot`` → ``queued``, ``inbox.usecases.hand_off``) or by being
resolved (``bot`` → ``resolved``); a reopen goes to ``bot`` or ``queued``, again as the
policy says.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from inbox.domain.errors import InvalidTransition
from inbox.domain.ids import ChannelId, ContactId, ConversationId, OperatorId

__all__ = ["ALLOWED_TRANSITIONS", "Conversation", "ConversationStatus", "check_transition"]


class ConversationStatus(StrEnum):
    BOT = "bot"
    QUEUED = "queued"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"

    @property
    def is_open(self) -> bool:
        return self is not ConversationStatus.RESOLVED


_S = ConversationStatus

ALLOWED_TRANSITIONS: frozenset[tuple[ConversationStatus, ConversationStatus]] = frozenset(
    {
        (_S.BOT, _S.QUEUED),  # hand-off to a human
        (_S.BOT, _S.RESOLVED),
        (_S.QUEUED, _S.ASSIGNED),
        (_S.QUEUED, _S.RESOLVED),
        (_S.ASSIGNED, _S.ASSIGNED),  # reassignment / transfer
        (_S.ASSIGNED, _S.QUEUED),  # back to the queue
        (_S.ASSIGNED, _S.RESOLVED),
        (_S.RESOLVED, _S.QUEUED),  # reopen
        (_S.RESOLVED, _S.BOT),  # reopen while the bot is on duty
    }
)


def check_transition(current: ConversationStatus, target: ConversationStatus) -> None:
    if (current, target) not in ALLOWED_TRANSITIONS:
        raise InvalidTransition(f"a {current} conversation cannot become {target}")


@dataclass(frozen=True, slots=True)
class Conversation:
    id: ConversationId
    channel_id: ChannelId
    contact_id: ContactId
    status: ConversationStatus
    created_at: datetime
    updated_at: datetime
    assignee_id: OperatorId | None = None
    last_message_seq: int = 0
    last_message_at: datetime | None = None
    last_inbound_at: datetime | None = None
    #: Free-form replies are accepted until then (the channel kind's reply window from the
    #: customer's last message, WhatsApp's 24 hours); None: the kind has no window.
    reply_window_ends_at: datetime | None = None
    unread_count: int = 0
    queued_at: datetime | None = None
    resolved_at: datetime | None = None
    subject: str = ""
    preview: str = ""
    #: Denormalised for lists: the contact's name and the channel's kind at the last update.
    contact_name: str = ""
    channel_kind: str = ""
    #: Where replies go on the channel: a chat id, a peer id, an e-mail address, a visitor id.
    thread_key: str = ""
    #: Why it was resolved (one of the administrator's close reasons, or "" for none);
    #: cleared when the conversation opens again.
    close_reason: str = ""
    #: The routing queue it waits in, or last waited in (``None``: never filed in one).
    #: Routing sets it (``ConversationRepo.set_queue``) whenever it files the conversation
    #: or moves it to another queue; the visibility rule reads it
    #: (:mod:`inbox.domain.visibility`).
    queue_id: str | None = None

    def moved_to(
        self,
        status: ConversationStatus,
        now: datetime,
        assignee_id: OperatorId | None = None,
    ) -> Conversation:
        """The conversation after a legal status change; raises InvalidTransition otherwise.

        A resolved conversation keeps its last assignee (who resolved it, who may reopen it);
        a queued or bot conversation has none. The close reason is cleared: the resolve
        that gives one sets it on the result.
        """
        check_transition(self.status, status)
        if status is ConversationStatus.ASSIGNED and assignee_id is None:
            raise InvalidTransition("an assigned conversation needs an assignee")
        if status is ConversationStatus.ASSIGNED:
            new_assignee = assignee_id
        elif status is ConversationStatus.RESOLVED:
            new_assignee = self.assignee_id
        else:
            new_assignee = None
        return dataclasses.replace(
            self,
            status=status,
            assignee_id=new_assignee,
            updated_at=now,
            queued_at=now if status is ConversationStatus.QUEUED else self.queued_at,
            resolved_at=now if status is ConversationStatus.RESOLVED else None,
            close_reason="",
        )
