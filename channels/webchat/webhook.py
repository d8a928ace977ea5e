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

from channels.webchat.tokens import issue_visitor_token, verify_visitor_token
from channels.webchat.visitors import VisitorRegistry
from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.content import Text
from inbox.domain.errors import DomainError
from inbox.domain.events import Typing
from inbox.domain.ids import ChannelId, ConversationId
from inbox.domain.messages import InboundMessage, SenderProfile
from inbox.domain.views import customer_message_view
from inbox.usecases import Core, customer_history, get_channel, ingest_inbound
from inbox.usecases.queries import peek_conversation

__all__ = ["WebchatSocket"]

logger = logging.getLogger(__name__)

MAX_WS_MESSAGE = 1024 * 1024
MAX_FRAME_BYTES = 256 * 1024
MAX_CLIENT_ID = 100
MAX_NAME = 80
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
        channel = await get_channel(self._core, ChannelId(request.match_info["channel_id"]))
        if channel is None or channel.kind is not ChannelKind.WEBCHAT or not channel.enabled:
            return _http_error(404, "not_found", "no such web chat channel")
        if not _origin_allowed(channel, request.headers.get("Origin")):
            return _http_error(403, "forbidden", "this site may not use this chat")
        ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=MAX_WS_MESSAGE)
        await ws.prepare(request)
        visitor = _Visitor(ws)
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._frame(channel, visitor, msg.data)
                elif msg.type is WSMsgType.ERROR:
                    break
                else:
                    visitor.send(_error("bad_frame", "send JSON text frames"))
        finally:
            if visitor.visitor_id is not None:
                self._registry.remove(channel.id, visitor.visitor_id, visitor)
            await visitor.close()
            if not ws.closed:
                await ws.close()
        return ws

    async def _frame(self, channel: Channel, visitor: _Visitor, raw: str) -> None:
        if len(raw) > MAX_FRAME_BYTES:
            visitor.send(_error("too_large", f"frames are limited to {MAX_FRAME_BYTES} bytes"))
            return
        try:
            frame = json.loads(raw)
        except ValueError:
            visitor.send(_error("bad_frame", "the frame is not valid JSON"))
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            visitor.send(_error("bad_frame", "a frame is a JSON object with a string 'type'"))
            return
        kind = frame["type"]
        if kind == "hello":
            await self._hello(channel, visitor, frame)
        elif kind == "ping":
            visitor.send({"type": "pong"})
        elif kind not in ("message", "typing"):
            visitor.send(_error("unknown_type", f"unknown frame type {kind[:40]!r}"))
        elif visitor.visitor_id is None:
            visitor.send(_error("hello_required", "say hello first"))
        elif kind == "message":
            await self._message(channel, visitor, frame)
        else:
            await self._typing(channel, visitor)

    async def _hello(self, channel: Channel, visitor: _Visitor, frame: dict[str, Any]) -> None:
        token, last_seq, name = (
            frame.get("visitor_token"),
            frame.get("last_seq", 0),
            frame.get("name"),
        )
        if token is not None and not isinstance(token, str):
            visitor.send(_error("bad_frame", "visitor_token must be a string"))
            return
        if not isinstance(last_seq, int) or isinstance(last_seq, bool) or last_seq < 0:
            visitor.send(_error("bad_frame", "last_seq must be a non-negative integer"))
            return
        if name is not None and not isinstance(name, str):
            visitor.send(_error("bad_frame", "name must be a string"))
            return
        secret = channel.options["visitor_secret"]
        if token:
            visitor_id = verify_visitor_token(secret, channel.id, token)
            if visitor_id is None:
                visitor.send(_error("bad_token", "this visitor token is not valid here"))
                return
        else:
            visitor_id, token = issue_visitor_token(secret, channel.id)
        if visitor.visitor_id is not None and visitor.visitor_id != visitor_id:
            self._registry.remove(channel.id, visitor.visitor_id, visitor)
        visitor.visitor_id = visitor_id
        visitor.name = (name or "").strip()[:MAX_NAME]
        history = await customer_history(self._core, channel.id, visitor_id, after_seq=last_seq)
        self._registry.add(channel.id, visitor_id, visitor)
        if history.conversation is not None:
            visitor.conversation_id = history.conversation.id
            self._registry.link(history.conversation.id, channel.id, visitor_id)
        visitor.send(
            {
                "type": "welcome",
                "visitor_token": token,
                "conversation_id": visitor.conversation_id,
                "messages": [customer_message_view(m) for m in history.messages],
                "last_seq": history.conversation.last_message_seq if history.conversation else 0,
            }
        )

    async def _message(self, channel: Channel, visitor: _Visitor, frame: dict[str, Any]) -> None:
        assert visitor.visitor_id is not None
        text, client_id = frame.get("text"), frame.get("client_id")
        if not isinstance(client_id, str) or not 1 <= len(client_id) <= MAX_CLIENT_ID:
            visitor.send(_error("invalid_input", f"client_id must be 1..{MAX_CLIENT_ID} chars"))
            return
        if not isinstance(text, str):
            visitor.send(_error("bad_frame", "text must be a string", client_id))
            return
        inbound = InboundMessage(
            channel_id=channel.id,
            # Client ids are chosen by browsers: scope them by visitor so that two visitors
            # can never collide, and one visitor's resend is stored once.
            external_id=f"{visitor.visitor_id}:{client_id}",
            sender=SenderProfile(
                external_user_id=visitor.visitor_id,
                display_name=visitor.name or f"Visitor {visitor.visitor_id[1:5].upper()}",
            ),
            parts=(Text(text),),
            thread_key=visitor.visitor_id,
        )
        try:
            result = await ingest_inbound(self._core, inbound)
        except DomainError as exc:
            visitor.send(_error(exc.code, exc.message, client_id))
            return
        except Exception:
            logger.exception("storing a web chat message failed")
            visitor.send(_error("internal", "not stored; send it again", client_id))
            return
        view = {**customer_message_view(result.message), "client_id": client_id}
        visitor.conversation_id = result.conversation.id
        self._registry.link(result.conversation.id, channel.id, visitor.visitor_id)
        visitor.send({"type": "ack", "client_id": client_id, "message": view})
        if not result.duplicate:
            self._registry.push(
                channel.id,
                visitor.visitor_id,
                {"type": "message", "message": view},
                exclude=visitor,
            )

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
                )
            ]
        )


def _origin_allowed(channel: Channel, origin: str | None) -> bool:
    allowed = [o.strip().rstrip("/") for o in channel.options.get("origin", "").split(",")]
    allowed = [o for o in allowed if o]
    if not allowed:
        return True
    return origin is not None and origin.rstrip("/") in allowed


def _error(code: str, message: str, client_id: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if client_id is not None:
        frame["client_id"] = client_id
    return frame


def _http_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)
