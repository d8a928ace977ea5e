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

#: One webhook event: its name (``webhooks.records.EVENT_NAMES``) and a function giving its
#: ``data``, called only when a webhook subscribes to that name (the views cost more than
#: the check, and the recorder runs inside every transaction).
Payload = tuple[str, Callable[[], dict[str, Any]]]
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
            previous = event.previous_assignee_id

            def changed() -> dict[str, Any]:
                data: dict[str, Any] = {"conversation": conversation_view(conversation)}
                if reason == "assigned":
                    data["previous_assignee_id"] = previous
                return data

            return ((name, changed),)
        case MessageCreated(message=message, conversation=conversation):
            return (
                (
                    "message.created",
                    lambda: {
                        "message": message_view(message),
                        "conversation": conversation_view(conversation),
                    },
                ),
            )
    return ()
