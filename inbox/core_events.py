"""The core's event declarations: wire names and the frames operators get.

The frames are the operator protocol's (docs/operator-protocol.md); who receives each one
is decided by the visibility rule of :mod:`inbox.usecases.access`, the same rule the
conversation list's SQL and every REST read apply. The composition root puts
:data:`CORE_EVENTS` into the :class:`~inbox.domain.event_registry.EventRegistry` beside
the features' declarations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from inbox.domain.event_registry import EventSpec, OperatorFrame
from inbox.domain.events import (
    AudienceChanged,
    ConversationChanged,
    MessageCreated,
    MessageUpdated,
    OperatorPresenceChanged,
    OutboxReady,
    Typing,
)
from inbox.domain.views import conversation_view, message_view
from inbox.usecases.access import Viewer, can_see, can_see_change, can_see_typing

__all__ = ["CORE_EVENTS"]


def _message_created(event: MessageCreated) -> Sequence[OperatorFrame]:
    conversation = event.conversation
    frame = {
        "type": "message.created",
        "conversation_id": conversation.id,
        "message": message_view(event.message),
        "conversation": conversation_view(conversation),
    }
    return (OperatorFrame(lambda v: can_see(v, conversation), frame),)


def _message_updated(event: MessageUpdated) -> Sequence[OperatorFrame]:
    conversation = event.conversation
    frame = {
        "type": "message.updated",
        "conversation_id": conversation.id,
        "message": message_view(event.message),
    }
    return (OperatorFrame(lambda v: can_see(v, conversation), frame),)


def _conversation_changed(event: ConversationChanged) -> Sequence[OperatorFrame]:
    """The new assignee gets ``conversation.assigned``; everyone else who sees it now, or
    saw it before the change (it was queued, or theirs), gets ``conversation.updated``:
    an operator who watched it in the queue must learn that it left the queue."""
    conversation = event.conversation
    view = conversation_view(conversation)

    def is_new_assignee(viewer: Viewer) -> bool:
        return event.reason == "assigned" and conversation.assignee_id == viewer.operator.id

    def is_watcher(viewer: Viewer) -> bool:
        return not is_new_assignee(viewer) and can_see_change(viewer, event)

    return (
        OperatorFrame(is_new_assignee, {"type": "conversation.assigned", "conversation": view}),
        OperatorFrame(
            is_watcher,
            {"type": "conversation.updated", "reason": event.reason, "conversation": view},
        ),
    )


def _presence_changed(event: OperatorPresenceChanged) -> Sequence[OperatorFrame]:
    frame = {"type": "presence", "operator_id": event.operator_id, "status": str(event.presence)}
    return (OperatorFrame(lambda v: True, frame),)


def _typing(event: Typing) -> Sequence[OperatorFrame]:
    frame = {
        "type": "typing",
        "conversation_id": event.conversation_id,
        "by": event.by,
        "operator_id": event.operator_id,
        "name": event.operator_name,
    }
    return (OperatorFrame(lambda v: can_see_typing(v, event), frame),)


def _audience_changed(event: AudienceChanged) -> Sequence[OperatorFrame]:
    """Every console reloads the queues and its list: what it may see or take changed."""
    return (OperatorFrame(lambda v: True, {"type": "audience.changed"}),)


#: Every event the core declares. ``OutboxReady`` has no frames: it only wakes delivery;
#: ``AudienceChanged`` makes the operator hubs recompute their sessions' visibility first.
CORE_EVENTS: tuple[EventSpec[Any], ...] = (
    EventSpec("message_created", MessageCreated, _message_created),
    EventSpec("message_updated", MessageUpdated, _message_updated),
    EventSpec("conversation_changed", ConversationChanged, _conversation_changed),
    EventSpec("operator_presence_changed", OperatorPresenceChanged, _presence_changed),
    EventSpec("typing", Typing, _typing),
    EventSpec("outbox_ready", OutboxReady),
    EventSpec("audience_changed", AudienceChanged, _audience_changed),
)
