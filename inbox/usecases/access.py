"""Who may see and do what. Checked on the server for every read and every command."""

from __future__ import annotations

from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.errors import Forbidden
from inbox.domain.operators import Operator

__all__ = ["can_act", "can_see", "require_act", "require_see"]


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
