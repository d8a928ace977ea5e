"""The visitors connected to this process, and the sender that pushes replies to them."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any, Protocol

from inbox.domain.channels import Channel
from inbox.domain.events import Event, Typing
from inbox.domain.ids import ChannelId, ConversationId
from inbox.domain.messages import (
    AuthorKind,
    DeliveryStatus,
    Direction,
    Message,
    MessageKind,
    OutboundMessage,
)
from inbox.domain.views import customer_message_view
from inbox.ports import SendReceipt

__all__ = ["VisitorRegistry", "WebchatSender"]

logger = logging.getLogger(__name__)


class VisitorSocket(Protocol):
    def send_text(self, text: str) -> None:
        """Queue a frame; never blocks."""


class VisitorRegistry:
    """Which sockets belong to which visitor, and which conversation each visitor is in."""

    def __init__(self) -> None:
        self._sockets: dict[tuple[ChannelId, str], set[VisitorSocket]] = defaultdict(set)
        self._by_conversation: dict[ConversationId, tuple[ChannelId, str]] = {}

    def add(self, channel_id: ChannelId, visitor_id: str, sock: VisitorSocket) -> None:
        self._sockets[(channel_id, visitor_id)].add(sock)

    def remove(self, channel_id: ChannelId, visitor_id: str, sock: VisitorSocket) -> None:
        key = (channel_id, visitor_id)
        self._sockets[key].discard(sock)
        if not self._sockets[key]:
            del self._sockets[key]
            for conv_id, owner in list(self._by_conversation.items()):
                if owner == key:
                    del self._by_conversation[conv_id]

    def link(self, conversation_id: ConversationId, channel_id: ChannelId, visitor_id: str) -> None:
        self._by_conversation[conversation_id] = (channel_id, visitor_id)

    def push(
        self,
        channel_id: ChannelId,
        visitor_id: str,
        frame: dict[str, Any],
        *,
        exclude: VisitorSocket | None = None,
    ) -> int:
        """Send to every socket of the visitor; returns how many got it."""
        text = json.dumps(frame, ensure_ascii=False)
        count = 0
        for sock in self._sockets.get((channel_id, visitor_id), ()):
            if sock is not exclude:
                sock.send_text(text)
                count += 1
        return count

    async def on_event(self, event: Event) -> None:
        """Operator typing reaches the visitor live."""
        if isinstance(event, Typing) and event.by == "operator":
            owner = self._by_conversation.get(event.conversation_id)
            if owner is not None:
                self.push(*owner, {"type": "typing", "from": "agent", "name": event.operator_name})


class WebchatSender:
    """Implements :class:`inbox.ports.ChannelSender` for the web chat: pushes the reply to the
    visitor's open sockets. A visitor who is offline gets it from the history on their next
    ``hello``, so the message counts as sent either way and as delivered when pushed."""

    def __init__(self, registry: VisitorRegistry) -> None:
        self._registry = registry

    async def send(self, channel: Channel, message: OutboundMessage) -> SendReceipt:
        view = customer_message_view(
            Message(
                id=message.message_id,
                conversation_id=message.conversation_id,
                channel_id=message.channel_id,
                seq=message.seq,
                kind=MessageKind.MESSAGE,
                direction=Direction.OUTBOUND,
                author_kind=AuthorKind.OPERATOR,
                author_id=None,
                author_name=message.author_name,
                parts=message.parts,
                status=DeliveryStatus.SENT,
                created_at=message.created_at or datetime.now(UTC),
            )
        )
        pushed = self._registry.push(
            channel.id, message.recipient, {"type": "message", "message": view}
        )
        return SendReceipt(
            external_id=None,
            status=DeliveryStatus.DELIVERED if pushed else DeliveryStatus.SENT,
        )
