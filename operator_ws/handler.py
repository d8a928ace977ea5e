"""``/ws/operator``: authenticate, attach to the session stream, run commands.

The handler parses and dispatches; the use cases decide and persist (STYLE.md: no business
logic in WebSocket handlers).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import WSMsgType, web

from inbox.domain.errors import DomainError, InvalidInput, Unauthorized
from inbox.domain.events import Typing
from inbox.domain.ids import ConversationId, OperatorId
from inbox.domain.operators import Operator, Presence
from inbox.domain.views import conversation_view, message_view, operator_view
from inbox.ports import AuthSession
from inbox.usecases import (
    Core,
    add_note,
    authenticate,
    get_conversation,
    mark_read,
    reopen,
    resolve_conversation,
    send_reply,
    set_presence,
)
from inbox.usecases.access import require_act
from operator_ws.compose import compose_parts
from operator_ws.dashboard import DashboardFeed
from operator_ws.frames import Command, FrameError, parse_frame
from operator_ws.hub import OperatorHub
from operator_ws.streams import Connection
from routing.dashboard import require_dashboard
from routing.ports import RoutingControl

__all__ = ["OperatorSocket"]

logger = logging.getLogger(__name__)

AUTH_TIMEOUT_SECONDS = 10.0
#: aiohttp closes the socket (1009) for frames above this; smaller oversize frames get an
#: error frame and the connection stays usable.
MAX_WS_MESSAGE = 1024 * 1024
UNAUTHORIZED_CLOSE = 4401

Handler = Callable[["_Context", Command], Awaitable[dict[str, Any] | None]]


class _Context:
    def __init__(
        self,
        core: Core,
        hub: OperatorHub,
        routing: RoutingControl,
        operator: Operator,
        session: AuthSession,
        dashboard: DashboardFeed | None = None,
    ):
        self.core = core
        self.hub = hub
        self.routing = routing
        self.operator = operator
        self.session = session
        self.dashboard = dashboard


class OperatorSocket:
    """``dashboard``: the process's live dashboard feed (``None``: the dashboard commands
    are refused as unknown)."""

    def __init__(
        self,
        core: Core,
        hub: OperatorHub,
        routing: RoutingControl,
        dashboard: DashboardFeed | None = None,
    ) -> None:
        self._core = core
        self._hub = hub
        self._routing = routing
        self._dashboard = dashboard

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        # No permessage-deflate: its zlib state (about 100 KiB touched per socket once a
        # frame went each way) was most of an idle console's memory, and the frames are
        # small JSON that barely compress (docs/scaling.md, "Memory per socket").
        ws = web.WebSocketResponse(
            heartbeat=self._hub.settings.heartbeat_seconds,
            max_msg_size=MAX_WS_MESSAGE,
            compress=False,
        )
        await ws.prepare(request)
        authed = await self._authenticate(ws)
        if authed is None:
            return ws
        operator, session, last_seq = authed
        conn = Connection(ws)
        conn.start()
        self._hub.attach(
            conn,
            operator,
            session,
            last_seq,
            {
                "type": "auth.ok",
                "operator": operator_view(operator),
                # The server's clock, so a console can count offers down correctly.
                "at": self._core.clock.now().isoformat(),
                "heartbeat_interval": self._hub.settings.heartbeat_seconds,
            },
        )
        try:
            await self._command_loop(
                ws,
                _Context(self._core, self._hub, self._routing, operator, session, self._dashboard),
            )
        finally:
            self._hub.detach(conn, session)
            if self._dashboard is not None:
                self._dashboard.dropped(session.token_hash)
            await conn.stop()
            if not ws.closed:
                await ws.close()
        return ws

    async def _authenticate(
        self, ws: web.WebSocketResponse
    ) -> tuple[Operator, AuthSession, int | None] | None:
        try:
            msg = await ws.receive(timeout=AUTH_TIMEOUT_SECONDS)
        except TimeoutError:
            await _refuse(ws, "auth_timeout", "send an auth frame first")
            return None
        if msg.type is not WSMsgType.TEXT:
            await _refuse(ws, "bad_frame", "the first frame must be an auth frame")
            return None
        try:
            command = parse_frame(msg.data)
        except FrameError as exc:
            await _refuse(ws, exc.code, exc.message)
            return None
        if command.type != "auth":
            await _refuse(ws, "unauthorized", "the first frame must be an auth frame")
            return None
        try:
            operator, session = await authenticate(self._core, command.text("token"))
        except Unauthorized as exc:
            await _refuse(ws, "unauthorized", exc.message)
            return None
        last_seq = command.fields.get("last_seq")
        return operator, session, last_seq if isinstance(last_seq, int) else None

    async def _command_loop(self, ws: web.WebSocketResponse, ctx: _Context) -> None:
        async for msg in ws:
            if msg.type is WSMsgType.ERROR:
                logger.info("operator socket closed with an error: %s", ws.exception())
                return
            if msg.type is not WSMsgType.TEXT:
                self._hub.push(ctx.session, _error("bad_frame", "send JSON text frames"))
                continue
            await self._run(ctx, msg.data)

    async def _run(self, ctx: _Context, raw: str) -> None:
        request_id: str | None = None
        try:
            command = parse_frame(raw)
            request_id = command.request_id
            handler = _HANDLERS.get(command.type)
            if handler is None:  # "auth" again, say
                raise FrameError("bad_frame", f"'{command.type}' is not allowed now", request_id)
            result = await handler(ctx, command)
        except FrameError as exc:
            self._hub.push(ctx.session, _error(exc.code, exc.message, exc.request_id))
        except Unauthorized as exc:
            self._hub.push(ctx.session, _error("unauthorized", exc.message, request_id))
            self._hub.revoke(ctx.session.token_hash)
        except DomainError as exc:
            self._hub.push(ctx.session, _error(exc.code, exc.message, request_id))
        except Exception:
            logger.exception("operator command failed")
            self._hub.push(
                ctx.session,
                _error("internal", "the server could not do that; try again", request_id),
            )
        else:
            if result is not None:
                self._hub.push(ctx.session, {**result, "request_id": request_id})


def _error(code: str, message: str, request_id: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if request_id is not None:
        frame["request_id"] = request_id
    return frame


async def _refuse(ws: web.WebSocketResponse, code: str, message: str) -> None:
    await ws.send_json({"type": "error", "code": code, "message": message})
    await ws.close(code=UNAUTHORIZED_CLOSE, message=code.encode())


def _conversation_id(command: Command) -> ConversationId:
    return ConversationId(command.text("conversation_id"))


async def _presence(ctx: _Context, command: Command) -> dict[str, Any]:
    try:
        presence = Presence(command.text("status"))
    except ValueError as exc:
        raise InvalidInput("status must be online, away or offline") from exc
    operator = await set_presence(ctx.core, ctx.operator.id, presence)
    return {"type": "ack", "operator": operator_view(operator)}


async def _send(ctx: _Context, command: Command) -> dict[str, Any]:
    f = command.fields
    parts = compose_parts(
        f.get("text", ""), f.get("buttons"), f.get("attachments"), f.get("template")
    )
    result = await send_reply(
        ctx.core, ctx.operator, _conversation_id(command), parts, command.text("client_id")
    )
    return {"type": "ack", "message": message_view(result.message), "duplicate": result.duplicate}


async def _note(ctx: _Context, command: Command) -> dict[str, Any]:
    result = await add_note(
        ctx.core,
        ctx.operator,
        _conversation_id(command),
        command.text("text"),
        command.opt_str("client_id"),
    )
    return {"type": "ack", "message": message_view(result.message), "duplicate": result.duplicate}


async def _resolve(ctx: _Context, command: Command) -> dict[str, Any]:
    conv = await resolve_conversation(
        ctx.core, ctx.operator, _conversation_id(command), command.opt_str("reason")
    )
    return {"type": "ack", "conversation": conversation_view(conv)}


async def _reopen(ctx: _Context, command: Command) -> dict[str, Any]:
    conv = await reopen(ctx.core, ctx.operator, _conversation_id(command))
    return {"type": "ack", "conversation": conversation_view(conv)}


async def _claim(ctx: _Context, command: Command) -> dict[str, Any]:
    conv = await ctx.routing.pick(ctx.operator, _conversation_id(command))
    return {"type": "ack", "conversation": conversation_view(conv)}


async def _accept(ctx: _Context, command: Command) -> dict[str, Any]:
    conv = await ctx.routing.accept_offer(ctx.operator, _conversation_id(command))
    return {"type": "ack", "conversation": conversation_view(conv)}


async def _decline(ctx: _Context, command: Command) -> dict[str, Any]:
    await ctx.routing.decline_offer(ctx.operator, _conversation_id(command))
    return {"type": "ack"}


async def _transfer(ctx: _Context, command: Command) -> dict[str, Any]:
    f = command.fields
    skills = f.get("skills")  # a dict (frames.py); the router checks names and levels
    operator_id = command.opt_str("operator_id")
    conv = await ctx.routing.transfer(
        ctx.operator,
        _conversation_id(command),
        operator_id=OperatorId(operator_id) if operator_id else None,
        queue=command.opt_str("queue"),
        skills=skills,
        note=command.opt_str("note") or "",
    )
    return {"type": "ack", "conversation": conversation_view(conv)}


async def _read(ctx: _Context, command: Command) -> dict[str, Any]:
    conv = await mark_read(ctx.core, ctx.operator, _conversation_id(command))
    return {"type": "ack", "conversation": conversation_view(conv)}


async def _typing(ctx: _Context, command: Command) -> None:
    conversation = await get_conversation(ctx.core, ctx.operator, _conversation_id(command))
    require_act(ctx.operator, conversation)
    await ctx.core.bus.publish(
        [
            Typing(
                conversation_id=conversation.id,
                channel_id=conversation.channel_id,
                assignee_id=conversation.assignee_id,
                queue_id=conversation.queue_id,
                by="operator",
                operator_id=ctx.operator.id,
                operator_name=ctx.operator.display_name,
            )
        ]
    )


def _feed(ctx: _Context, command: Command) -> DashboardFeed:
    if ctx.dashboard is None:
        raise FrameError("unknown_type", f"'{command.type}' is not served here", command.request_id)
    return ctx.dashboard


async def _dashboard_subscribe(ctx: _Context, command: Command) -> None:
    """Supervisors and admins: the ack, then a ``dashboard`` frame at once and whenever the
    numbers change (``operator_ws.dashboard``)."""
    feed = _feed(ctx, command)
    require_dashboard(ctx.operator)
    ack: dict[str, Any] = {"type": "ack", "subscribed": "dashboard"}
    if command.request_id is not None:
        ack["request_id"] = command.request_id
    ctx.hub.push(ctx.session, ack)
    feed.subscribe(ctx.session.token_hash, ctx.operator)


async def _dashboard_unsubscribe(ctx: _Context, command: Command) -> dict[str, Any]:
    _feed(ctx, command).unsubscribe(ctx.session.token_hash)
    return {"type": "ack", "unsubscribed": "dashboard"}


async def _ping(ctx: _Context, command: Command) -> dict[str, Any]:
    return {"type": "pong"}


_HANDLERS: Mapping[str, Handler] = {
    "presence.set": _presence,
    "message.send": _send,
    "note.add": _note,
    "conversation.resolve": _resolve,
    "conversation.reopen": _reopen,
    "conversation.claim": _claim,
    "conversation.transfer": _transfer,
    "offer.accept": _accept,
    "offer.decline": _decline,
    "conversation.read": _read,
    "typing": _typing,
    "dashboard.subscribe": _dashboard_subscribe,
    "dashboard.unsubscribe": _dashboard_unsubscribe,
    "ping": _ping,
}
