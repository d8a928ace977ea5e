"""Which domain events become which webhook events, and the ``data`` each carries.

A :data:`Translator` turns one domain event into ``(name, data)`` pairs. The core's
events are translated here; the features' (orders, CSAT) by the composition root, which
may import the features (this package may not: features are independent). ``data`` is
the public view of the objects -- the same JSON the operators' API gives -- never a
secret."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from inbox.domain.events import ConversationChanged, Event, MessageCreated
from inbox.domain.views import conversation_view, message_view

__all__ = ["Payload", "Translator", "core_payloads"]

#: One webhook event: its name (``webhooks.records.EVENT_NAMES``) and its ``data``.
Payload = tuple[str, dict[str, Any]]
Translator = Callable[[Event], Sequence[Payload]]

_CONVERSATION_EVENTS = {
    "created": "conversation.created",
    "assigned": "conversation.assigned",
    "resolved": "conversation.resolved",
}


def core_payloads(event: Event) -> Sequence[Payload]:
    """``conversation.created``/``assigned``/``resolved`` and ``message.created``."""
    match event:
        case ConversationChanged(conversation=conversation, reason=reason):
            name = _CONVERSATION_EVENTS.get(reason)
            if name is None:
                return ()
            data: dict[str, Any] = {"conversation": conversation_view(conversation)}
            if reason == "assigned":
                data["previous_assignee_id"] = event.previous_assignee_id
            return ((name, data),)
        case MessageCreated(message=message, conversation=conversation):
            return (
                (
                    "message.created",
                    {
                        "message": message_view(message),
                        "conversation": conversation_view(conversation),
                    },
                ),
            )
    return ()
