"""Who may see a conversation: one rule, as data that Python and SQL both interpret.

The rule (docs/operator-protocol.md): supervisors and admins see every conversation; a plain
operator sees the conversations assigned to them plus every conversation in a *public*
status, which is ``queued`` (the queue is everyone's to watch and claim).

:class:`Visibility` states that rule for one viewer. It is evaluated here, in Python, for
single conversations and for events (``can_see``, ``can_see_change``, ``can_see_typing``),
and translated into a ``WHERE`` clause by the SQL repository
(``storage/repositories/conversations.py``) through ``ConversationFilter.visible_to``. A test
(``tests/storage/test_storage_visibility.py``) checks that both give the same answer for every
role, status and assignee on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.ids import OperatorId
from inbox.domain.operators import Operator

__all__ = [
    "PUBLIC_STATUSES",
    "ConversationChange",
    "TypingSignal",
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
class Visibility:
    """The conversations one viewer may see.

    ``sees_all``: every conversation (the other fields are then irrelevant). Otherwise a
    conversation is visible when it is assigned to ``assignee_id`` (``None``: to nobody's
    benefit — an unassigned conversation is not "the viewer's own") or its status is in
    ``public_statuses``.
    """

    sees_all: bool = False
    assignee_id: OperatorId | None = None
    public_statuses: frozenset[ConversationStatus] = PUBLIC_STATUSES

    @classmethod
    def of(cls, operator: Operator) -> Visibility:
        """What ``operator`` may see, from their role and id."""
        if operator.role.sees_everything:
            return cls(sees_all=True)
        return cls.own_and_public(operator.id)

    @classmethod
    def own_and_public(cls, operator_id: OperatorId) -> Visibility:
        """A plain operator's view: their own conversations and the public ones."""
        return cls(assignee_id=operator_id)

    def admits(self, status: ConversationStatus | None, assignee_id: OperatorId | None) -> bool:
        """Whether a conversation in ``status`` assigned to ``assignee_id`` is visible.
        ``status=None`` (no such state, e.g. the "before" of a new conversation) is in no
        public status."""
        return (
            self.sees_all
            or (assignee_id is not None and assignee_id == self.assignee_id)
            or (status is not None and status in self.public_statuses)
        )

    def admits_conversation(self, conversation: Conversation) -> bool:
        return self.admits(conversation.status, conversation.assignee_id)

    def may_admit_unassigned(self) -> bool:
        """Whether some unassigned conversation could be visible: every public status is
        unassigned (see ``PUBLIC_STATUSES``), so this holds when there is a public status.
        For signals that name the assignee but not the status."""
        return self.sees_all or bool(self.public_statuses)


class ConversationChange(Protocol):
    """A conversation's new state and who could see its previous one (``ConversationChanged``
    of ``inbox.domain.events`` has this shape)."""

    @property
    def conversation(self) -> Conversation: ...

    @property
    def previous_status(self) -> ConversationStatus | None: ...

    @property
    def previous_assignee_id(self) -> OperatorId | None: ...


class TypingSignal(Protocol):
    """Someone types in a conversation (``Typing`` of ``inbox.domain.events`` has this
    shape). The signal carries the conversation's assignee but not its status."""

    @property
    def assignee_id(self) -> OperatorId | None: ...

    @property
    def by(self) -> Literal["customer", "operator"]: ...

    @property
    def operator_id(self) -> OperatorId | None: ...


def can_see(operator: Operator, conversation: Conversation) -> bool:
    """Supervisors and admins see everything; an operator sees their own and the queue."""
    return Visibility.of(operator).admits_conversation(conversation)


def can_see_change(operator: Operator, change: ConversationChange) -> bool:
    """Whether ``operator`` is told about a change: they may see the conversation now, or
    could see it before (an operator who watched it in the queue must learn that it left)."""
    visibility = Visibility.of(operator)
    return visibility.admits_conversation(change.conversation) or visibility.admits(
        change.previous_status, change.previous_assignee_id
    )


def can_see_typing(operator: Operator, signal: TypingSignal) -> bool:
    """Whether ``operator`` is shown a typing signal. Never their own typing.

    The signal has no status, so an unassigned conversation counts as possibly public: a
    customer typing in an unassigned ``bot`` or ``resolved`` conversation reaches plain
    operators too (a typing hint, no content). With the status on the signal this would be
    ``Visibility.admits`` exactly.
    """
    if signal.by == "operator" and signal.operator_id == operator.id:
        return False
    visibility = Visibility.of(operator)
    if signal.assignee_id is None:
        return visibility.may_admit_unassigned()
    return visibility.admits(None, signal.assignee_id)
