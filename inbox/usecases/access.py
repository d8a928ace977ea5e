"""Who may see and do what. Checked on the server for every read and every command.

Seeing is the one rule of :mod:`inbox.domain.visibility` (re-exported here), for a
:class:`Viewer` that :func:`viewer_of` builds once per request; acting is stricter: only
the assignee, or a supervisor/admin.
"""

from __future__ import annotations

from inbox.domain.conversations import Conversation
from inbox.domain.errors import Forbidden
from inbox.domain.operators import Operator
from inbox.domain.visibility import Viewer, can_see, can_see_change, can_see_typing
from inbox.usecases.deps import Core

__all__ = [
    "Viewer",
    "can_act",
    "can_see",
    "can_see_change",
    "can_see_typing",
    "require_act",
    "require_see",
    "viewer_of",
]


async def viewer_of(core: Core, operator: Operator) -> Viewer:
    """What ``operator`` may see now. A plain operator's view reads the queues'
    restrictions (one small read, before the use case's own transaction); supervisors and
    admins see everything without it."""
    if operator.role.sees_everything or core.restrictions is None:
        return Viewer.of(operator)
    return Viewer.of(operator, await core.restrictions.load())


def can_act(operator: Operator, conversation: Conversation) -> bool:
    """Replying, notes, resolving and reopening: the assignee, or a supervisor/admin."""
    return operator.role.sees_everything or conversation.assignee_id == operator.id


def require_see(viewer: Viewer, conversation: Conversation) -> None:
    """Raises :class:`Forbidden` unless :func:`can_see`."""
    if not can_see(viewer, conversation):
        raise Forbidden("you may not see this conversation")


def require_act(operator: Operator, conversation: Conversation) -> None:
    """Raises :class:`Forbidden` unless :func:`can_act`."""
    if not can_act(operator, conversation):
        raise Forbidden("this conversation is not assigned to you")
