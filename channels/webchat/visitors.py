"""The visitors connected to this process: their sockets and their conversations.

The sender that pushes replies to them is :class:`channels.webchat.client.WebchatSender`."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from typing import Any, Protocol

from aiohttp import WSCloseCode

from bots.events import CsatRequested
from channels.webchat.converter import agent_typing_frame, csat_request_frame
from inbox.domain.events import Event, Typing
from inbox.domain.ids import ChannelId, ConversationId

__all__ = ["Closable", "VisitorRegistry", "VisitorSocket"]

logger = logging.getLogger(__name__)


class VisitorSocket(Protocol):
    def send_text(self, text: str) -> None:
        """Queue a frame; never blocks."""


class Closable(Protocol):
    async def close(self, *, code: int = ..., message: bytes = ...) -> bool: ...


class VisitorRegistry:
    """Which sockets belong to which visitor, and which conversation each visitor is in;
    and every open socket, so that a shutting-down server closes them at once."""

    def __init__(self) -> None:
        self._sockets: dict[tuple[ChannelId, str], set[VisitorSocket]] = defaultdict(set)
        self._by_conversation: dict[ConversationId, tuple[ChannelId, str]] = {}
        self._open: set[Closable] = set()

    def opened(self, ws: Closable) -> None:
        self._open.add(ws)

    def closed(self, ws: Closable) -> None:
        self._open.discard(ws)

    def open_count(self) -> int:
        """Open visitor sockets in this process (the metrics' gauge)."""
        return len(self._open)

    async def close_all(self) -> None:
        """Close every visitor socket with 1001 (going away): the widget reconnects to
        another process or after the restart, and the server does not wait for browsers
        to hang up."""
        for ws in list(self._open):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
        self._open.clear()

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
        """Operator typing reaches the visitor live; so does the bots' rating request
        after a resolve (``csat.request``: the widget shows "chat ended" and a rating)."""
        if isinstance(event, Typing) and event.by == "operator":
            owner = self._by_conversation.get(event.conversation_id)
            if owner is not None:
                self.push(*owner, agent_typing_frame(event.operator_name))
        elif isinstance(event, CsatRequested):
            owner = self._by_conversation.get(event.conversation.id)
            if owner is not None:
                self.push(*owner, csat_request_frame(event.conversation.id))
