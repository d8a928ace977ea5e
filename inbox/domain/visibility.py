"""Who may see a conversation: one rule, as data that Python and SQL both interpret.

The rule (docs/operator-protocol.md): supervisors and admins see every conversation; a plain
operator sees the conversations assigned to them plus every conversation in a *public*
status, which is ``queued`` (the queue is everyone's to watch and claim), except those
waiting in a queue that shows its waiting conversations to its members only
(``visible_to: members``) when the operator is not a member.

:class:`Visibility` states that rule for one viewer: the queues hidden from them are data
(``hidden_queue_ids``), computed once from :class:`QueueRestrictions` (which routing
provides through a port, :class:`inbox.ports.QueueRestrictionSource`). It is evaluated
here, in Python, for single conversations and for events (``can_see``, ``can_see_change``,
``can_see_typing``, over a :class:`Viewer`: the operator and their visibility), and
translated into a ``WHERE`` clause by the SQL repository
(``storage/repositories/conversations.py``) through ``ConversationFilter.visible_to``. A test
(``tests/storage/test_storage_visibility.py``) checks that both give the same answer for every
role, status, assignee and queue on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.ids import OperatorId
from inbox.domain.operators import Operator

__all__ = [
    "PUBLIC_STATUSES",
    "ConversationChange",
    "QueueRestrictions",
    "TypingSignal",
    "Viewer",
    "Visibility",
    "can_see",
    "can_see_change",
    "can_see_typing",
]

#: Statuses in which every operator sees a conversation, whoever it is assigned to.
#: Every one of them is unassigned: ``Conversation.moved_to`` clears the assignee on the way
#: to ``queued`` (``can_see_typing`` relies on that).
PUBLIC_STATUSES: frozenset[ConversationStatus] = frozenset({ConversationStatus.QUEUED})


@dataclass(frozen=True, slots=True)
class QueueRestrictions:
    """The queues that show their waiting conversations to their members only: queue id
    → its members. A queue absent here shows them to every operator (a queue without
    members counts every operator as a member, so routing leaves it out)."""

    members_only: Mapping[str, frozenset[OperatorId]] = field(default_factory=dict)

    def hidden_from(self, operator_id: OperatorId) -> frozenset[str]:
        """The queues whose waiting conversations ``operator_id`` may not see."""
        return frozenset(
            q for q, members in self.members_only.items() if operator_id not in members
        )


@dataclass(frozen=True, slots=True)
class Visibility:
    """The conversations one viewer may see.

    ``sees_all``: every conversation (the other fields are then irrelevant). Otherwise a
    conversation is visible when it is assigned to ``assignee_id`` (``None``: to nobody's
    benefit — an unassigned conversation is not "the viewer's own") or its status is in
    ``public_statuses`` and its queue is shown to the viewer.

    ``hidden_queue_ids``: queues whose public conversations the viewer does not see. When
    it is not empty, a public conversation that is in no queue yet (``queue_id`` is
    ``None``: routing has not filed it) is not shown either: it may be on its way into a
    hidden queue, and it appears (``conversation.updated``, reason ``queue``) once routing
    files it in a queue the viewer sees.
    """

    sees_all: bool = False
    assignee_id: OperatorId | None = None
    public_statuses: frozenset[ConversationStatus] = PUBLIC_STATUSES
    hidden_queue_ids: frozenset[str] = frozenset()

    @classmethod
    def of(cls, operator: Operator, restrictions: QueueRestrictions | None = None) -> Visibility:
        """What ``operator`` may see, from their role and id and the queues' restrictions
        (``None``: no queue restricts visibility)."""
        if operator.role.sees_everything:
            return cls(sees_all=True)
        hidden = restrictions.hidden_from(operator.id) if restrictions is not None else frozenset()
        return cls(assignee_id=operator.id, hidden_queue_ids=hidden)

    @classmethod
    def own_and_public(cls, operator_id: OperatorId) -> Visibility:
        """A plain operator's view without queue restrictions: their own conversations and
        the public ones."""
        return cls(assignee_id=operator_id)

    def shows_queue(self, queue_id: str | None) -> bool:
        """Whether a public conversation in ``queue_id`` is shown (see the class)."""
        if not self.hidden_queue_ids:
            return True
        return queue_id is not None and queue_id not in self.hidden_queue_ids

    def admits(
        self,
        status: ConversationStatus | None,
        assignee_id: OperatorId | None,
        queue_id: str | None = None,
    ) -> bool:
        """Whether a conversation in ``status`` assigned to ``assignee_id``, in the queue
        ``queue_id``, is visible. ``status=None`` (no such state, e.g. the "before" of a new
        conversation) is in no public status."""
        return (
            self.sees_all
            or (assignee_id is not None and assignee_id == self.assignee_id)
            or (
                status is not None and status in self.public_statuses and self.shows_queue(queue_id)
            )
        )

    def admits_conversation(self, conversation: Conversation) -> bool:
        return self.admits(conversation.status, conversation.assignee_id, conversation.queue_id)

    def may_admit_unassigned(self, queue_id: str | None = None) -> bool:
        """Whether an unassigned conversation in ``queue_id`` could be visible: every
        public status is unassigned (see ``PUBLIC_STATUSES``), so this holds when there is
        a public status and the queue is shown. For signals that name the assignee and the
        queue but not the status."""
        return self.sees_all or (bool(self.public_statuses) and self.shows_queue(queue_id))


@dataclass(frozen=True, slots=True)
class Viewer:
    """An operator with what they may see: computed once (a request, a WebSocket session)
    and used for every conversation and event they are shown."""

    operator: Operator
    visibility: Visibility

    @classmethod
    def of(cls, operator: Operator, restrictions: QueueRestrictions | None = None) -> Viewer:
        return cls(operator, Visibility.of(operator, restrictions))


class ConversationChange(Protocol):
    """A conversation's new state and who could see its previous one (``ConversationChanged``
    of ``inbox.domain.events`` has this shape)."""

    @property
    def conversation(self) -> Conversation: ...

    @property
    def previous_status(self) -> ConversationStatus | None: ...

    @property
    def previous_assignee_id(self) -> OperatorId | None: ...

    @property
    def previous_queue_id(self) -> str | None:
        """The queue before the change; ``None``: the same as ``conversation.queue_id``."""
        ...


class TypingSignal(Protocol):
    """Someone types in a conversation (``Typing`` of ``inbox.domain.events`` has this
    shape). The signal carries the conversation's assignee but not its status."""

    @property
    def assignee_id(self) -> OperatorId | None: ...

    @property
    def by(self) -> Literal["customer", "operator"]: ...

    @property
    def operator_id(self) -> OperatorId | None: ...

    @property
    def queue_id(self) -> str | None: ...


def can_see(viewer: Viewer, conversation: Conversation) -> bool:
    """Supervisors and admins see everything; an operator sees their own and the queues
    shown to them."""
    return viewer.visibility.admits_conversation(conversation)


def can_see_change(viewer: Viewer, change: ConversationChange) -> bool:
    """Whether ``viewer`` is told about a change: they may see the conversation now, or
    could see it before (an operator who watched it in the queue must learn that it left,
    for another operator or for a queue hidden from them)."""
    visibility = viewer.visibility
    conversation = change.conversation
    return visibility.admits_conversation(conversation) or visibility.admits(
        change.previous_status,
        change.previous_assignee_id,
        change.previous_queue_id or conversation.queue_id,
    )


def can_see_typing(viewer: Viewer, signal: TypingSignal) -> bool:
    """Whether ``viewer`` is shown a typing signal. Never their own typing.

    The signal has no status, so an unassigned conversation counts as possibly public: a
    customer typing in an unassigned ``bot`` or ``resolved`` conversation reaches plain
    operators too (a typing hint, no content), unless its queue is hidden from them. With
    the status on the signal this would be ``Visibility.admits`` exactly.
    """
    if signal.by == "operator" and signal.operator_id == viewer.operator.id:
        return False
    visibility = viewer.visibility
    if signal.assignee_id is None:
        return visibility.may_admit_unassigned(signal.queue_id)
    return visibility.admits(None, signal.assignee_id)
