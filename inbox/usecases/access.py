"""Who may see and do what. Checked on the server for every read and every command."""

from __future__ import annotations

from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.errors import Forbidden
from inbox.domain.events import Typing
from inbox.domain.operators import Operator

__all__ = ["can_act", "can_see", "require_act", "require_see", "sees_typing"]


def can_see(operator: Operator, conversation: Conversation) -> bool:
    """Supervisors and admins see everything; an operator sees their own and the queue."""
    if operator.role.sees_everything:
        return True
    return (
        conversation.assignee_id == operator.id or conversation.status is ConversationStatus.QUEUED
    )


def can_act(operator: Operator, conversation: Conversation) -> bool:
    """Replying, notes, resolving and reopening: the assignee, or a supervisor/admin."""
    return operator.role.sees_everything or conversation.assignee_id == operator.id


def require_see(operator: Operator, conversation: Conversation) -> None:
    if not can_see(operator, conversation):
        raise Forbidden("you may not see this conversation")


def require_act(operator: Operator, conversation: Conversation) -> None:
    if not can_act(operator, conversation):
        raise Forbidden("this conversation is not assigned to you")


def sees_typing(operator: Operator, event: Typing) -> bool:
    """Typing signals go to whoever may see the conversation (its assignee, or everyone
    while nobody has it), except to the operator who is typing."""
    if event.by == "operator" and operator.id == event.operator_id:
        return False  # nobody needs to see their own typing
    return operator.role.sees_everything or event.assignee_id in (operator.id, None)
