"""``/ws/webchat/{channel_id}``: the customer's side of the web chat
(docs/webchat-protocol.md). Authenticates the visitor, converts frames, hands messages to
the core and acknowledges only what is stored."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from aiohttp import WSMsgType, web

from channels.webchat.converter import (
    ack_frame,
    csat_message,
    decode_frame,
    inbound_message,
    message_frame,
    parse_csat,
    parse_hello,
    parse_message,
    pong_frame,
    stored_view,
    welcome_frame,
)
from channels.webchat.errors import (
    FrameError,
    bad_token,
    channel_not_found,
    error_frame,
    origin_refused,
    slow_down,
)
from channels.webchat.options import WebchatOptions
from channels.webchat.spec import KIND
from channels.webchat.tokens import issue_visitor_token, verify_visitor_token
from channels.webchat.visitors import VisitorRegistry
from inbox.domain.channels import Channel
from inbox.domain.errors import DomainError, Overloaded
from inbox.domain.events import Typing
from inbox.domain.ids import ChannelId, ConversationId
from inbox.usecases import Core, cached_channel, customer_history, ingest_inbound
from inbox.usecases.queries import peek_conversation

__all__ = ["WebchatSocket"]

logger = logging.getLogger(__name__)

MAX_WS_MESSAGE = 1024 * 1024
TYPING_EVERY_SECONDS = 2.0


class _Visitor:
    """One customer socket: a send queue with its own writer task, and the session state."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.visitor_id: str | None = None
        self.name = ""
        self.conversation_id: ConversationId | None = None
        self.last_typing = 0.0
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._writer = asyncio.create_task(self._write(), name="webchat-writer")

    def send_text(self, text: str) -> None:
        self._queue.put_nowait(text)

    def send(self, frame: dict[str, Any]) -> None:
        self.send_text(json.dumps(frame, ensure_ascii=False))

    async def _write(self) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            while True:
                await self.ws.send_str(await self._queue.get())

    async def close(self) -> None:
        # Let queued frames (an ack, an error) go out before the writer stops.
        for _ in range(50):
            if self._queue.empty() or self.ws.closed:
                break
            await asyncio.sleep(0.01)
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer


class WebchatSocket:
    def __init__(self, core: Core, registry: VisitorRegistry) -> None:
        self._core = core
        self._registry = registry

    async def handle(self, request: web.Request) -> web.StreamResponse:
        # From the process's cache: a widget reconnecting is as common as a message.
        channel = await cached_channel(self._core, ChannelId(request.match_info["channel_id"]))
        if channel is None or channel.kind != KIND or not channel.enabled:
            return channel_not_found()
        options = WebchatOptions.parse(channel.options)
        if not options.allows_origin(request.headers.get("Origin")):
            return origin_refused()
        ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=MAX_WS_MESSAGE)
        await ws.prepare(request)
        visitor = _Visitor(ws)
        self._registry.opened(ws)
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._frame(channel, options, visitor, msg.data)
                elif msg.type is WSMsgType.ERROR:
                    break
                else:
                    visitor.send(error_frame("bad_frame", "send JSON text frames"))
        finally:
            self._registry.closed(ws)
            if visitor.visitor_id is not None:
                self._registry.remove(channel.id, visitor.visitor_id, visitor)
            await visitor.close()
            if not ws.closed:
                await ws.close()
        return ws

    async def _frame(
        self, channel: Channel, options: WebchatOptions, visitor: _Visitor, raw: str
    ) -> None:
        try:
            frame = decode_frame(raw)
        except FrameError as exc:
            visitor.send(exc.frame())
            return
        kind = frame["type"]
        if kind == "hello":
            await self._hello(channel, options, visitor, frame)
        elif kind == "ping":
            visitor.send(pong_frame())
        elif kind not in ("message", "typing", "csat"):
            visitor.send(error_frame("unknown_type", f"unknown frame type {kind[:40]!r}"))
        elif visitor.visitor_id is None:
            visitor.send(error_frame("hello_required", "say hello first"))
        elif kind == "message":
            await self._message(channel, visitor, frame)
        elif kind == "csat":
            await self._csat(channel, visitor, frame)
        else:
            await self._typing(channel, visitor)

    async def _hello(
        self, channel: Channel, options: WebchatOptions, visitor: _Visitor, frame: dict[str, Any]
    ) -> None:
        try:
            hello = parse_hello(frame)
        except FrameError as exc:
            visitor.send(exc.frame())
            return
        secret, token = options.visitor_secret, hello.visitor_token
        if token:
            visitor_id = verify_visitor_token(secret, channel.id, token)
            if visitor_id is None:
                visitor.send(bad_token())
                return
        else:
            visitor_id, token = issue_visitor_token(secret, channel.id)
        if visitor.visitor_id is not None and visitor.visitor_id != visitor_id:
            self._registry.remove(channel.id, visitor.visitor_id, visitor)
        visitor.visitor_id = visitor_id
        visitor.name = hello.name
        history = await customer_history(
            self._core, channel.id, visitor_id, after_seq=hello.last_seq
        )
        self._registry.add(channel.id, visitor_id, visitor)
        if history.conversation is not None:
            visitor.conversation_id = history.conversation.id
            self._registry.link(history.conversation.id, channel.id, visitor_id)
        visitor.send(welcome_frame(token, visitor.conversation_id, history))

    async def _message(self, channel: Channel, visitor: _Visitor, frame: dict[str, Any]) -> None:
        assert visitor.visitor_id is not None
        try:
            line = parse_message(frame)
        except FrameError as exc:
            visitor.send(exc.frame())
            return
        client_id = line.client_id
        inbound = inbound_message(channel.id, visitor.visitor_id, visitor.name, line)
        try:
            # Not the socket's copy, which is as old as the connection: a channel disabled
            # since must refuse a new conversation. The process's channel cache is what
            # webhooks use too (a change here is seen at once, elsewhere within its ttl);
            # ingest needs the row only when the message opens a conversation.
            current = await cached_channel(self._core, channel.id)
            result = await ingest_inbound(self._core, inbound, channel=current)
        except Overloaded as exc:
            visitor.send(slow_down(exc.retry_after, client_id))
            return
        except DomainError as exc:
            visitor.send(error_frame(exc.code, exc.message, client_id))
            return
        except Exception:
            logger.exception("storing a web chat message failed")
            visitor.send(error_frame("internal", "not stored; send it again", client_id))
            return
        view = stored_view(result.message, client_id)
        visitor.conversation_id = result.conversation.id
        self._registry.link(result.conversation.id, channel.id, visitor.visitor_id)
        visitor.send(ack_frame(client_id, view))
        if not result.duplicate:
            self._registry.push(
                channel.id,
                visitor.visitor_id,
                message_frame(view),
                exclude=visitor,
            )

    async def _csat(self, channel: Channel, visitor: _Visitor, frame: dict[str, Any]) -> None:
        """The visitor rates their conversation: stored as their message (the bots record
        it); answered with ``csat.ack``."""
        assert visitor.visitor_id is not None
        try:
            answer = parse_csat(frame)
        except FrameError as exc:
            visitor.send(exc.frame())
            return
        if visitor.conversation_id is None:
            visitor.send(error_frame("no_conversation", "there is no conversation to rate"))
            return
        inbound = csat_message(
            channel.id, visitor.visitor_id, visitor.name, visitor.conversation_id, answer
        )
        try:
            await ingest_inbound(self._core, inbound)
        except Overloaded as exc:
            visitor.send(slow_down(exc.retry_after))
            return
        except DomainError as exc:
            visitor.send(error_frame(exc.code, exc.message))
            return
        except Exception:
            logger.exception("storing a web chat rating failed")
            visitor.send(error_frame("internal", "not stored; send it again"))
            return
        visitor.send({"type": "csat.ack", "conversation_id": visitor.conversation_id})

    async def _typing(self, channel: Channel, visitor: _Visitor) -> None:
        now = time.monotonic()
        if visitor.conversation_id is None or now - visitor.last_typing < TYPING_EVERY_SECONDS:
            return
        visitor.last_typing = now
        conversation = await peek_conversation(self._core, visitor.conversation_id)
        if conversation is None:
            return
        await self._core.bus.publish(
            [
                Typing(
                    conversation_id=conversation.id,
                    channel_id=channel.id,
                    assignee_id=conversation.assignee_id,
                    by="customer",
                    queue_id=conversation.queue_id,
                )
            ]
        )
