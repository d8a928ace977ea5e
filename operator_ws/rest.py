"""The operators' REST API under ``/api/v1`` (docs/operator-protocol.md)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

from aiohttp import BodyPartReader, web

from inbox.domain.contacts import Contact
from inbox.domain.conversations import ConversationStatus
from inbox.domain.errors import InvalidInput, NotFound, TooLarge, Unauthorized
from inbox.domain.ids import ChannelId, ConversationId, MessageId, OperatorId
from inbox.domain.operators import Operator, Role, validate_skills
from inbox.domain.views import conversation_view, message_view, operator_view
from inbox.ports import AuthSession, ChannelAdapter, MediaStore, PasswordHasher
from inbox.usecases import (
    Core,
    authenticate,
    conversation_contact,
    get_channel,
    get_conversation,
    list_channels,
    list_conversations,
    list_messages,
    list_operators,
    login,
    logout,
    parse_tags,
    send_reply,
    set_contact_tags,
    update_operator,
)
from inbox.usecases.media import MAX_UPLOAD_BYTES, open_media, upload_attachment
from inbox.usecases.replies import configured_templates
from operator_ws.compose import compose_parts
from operator_ws.hub import OperatorHub
from routing.ports import RoutingControl

__all__ = ["OperatorApi"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
AuthedHandler = Callable[[web.Request, Operator, AuthSession, str], Awaitable[web.StreamResponse]]


class OperatorApi:
    """Routes for the console. Errors become JSON by the app's error middleware."""

    def __init__(
        self,
        core: Core,
        hasher: PasswordHasher,
        hub: OperatorHub,
        token_ttl: timedelta,
        media: MediaStore,
        adapters: Mapping[str, ChannelAdapter],
        routing: RoutingControl,
    ) -> None:
        self._routing = routing
        self._core = core
        self._hasher = hasher
        self._hub = hub
        self._ttl = token_ttl
        self._media = media
        self._adapters = adapters

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/api/v1/auth/login", self.login),
            web.post("/api/v1/auth/logout", self._authed(self.logout)),
            web.get("/api/v1/me", self._authed(self.me)),
            web.get("/api/v1/operators", self._authed(self.operators)),
            web.patch("/api/v1/operators/{id}", self._authed(self.update_operator)),
            web.get("/api/v1/channels", self._authed(self.channels)),
            web.get("/api/v1/conversations", self._authed(self.conversations)),
            web.get("/api/v1/conversations/{id}", self._authed(self.conversation)),
            web.get("/api/v1/conversations/{id}/messages", self._authed(self.messages)),
            web.post("/api/v1/conversations/{id}/messages", self._authed(self.post_message)),
            web.post("/api/v1/conversations/{id}/attachments", self._authed(self.upload)),
            web.get("/api/v1/messages/{id}/media/{index}", self._authed(self.media)),
            web.get("/api/v1/channels/{id}/templates", self._authed(self.templates)),
            web.get("/api/v1/conversations/{id}/routing", self._authed(self.routing)),
            web.get("/api/v1/offers", self._authed(self.offers)),
            web.get("/api/v1/conversations/{id}/contact", self._authed(self.contact)),
            web.put("/api/v1/conversations/{id}/contact/tags", self._authed(self.contact_tags)),
            web.get("/api/v1/queues", self._authed(self.queues)),
            web.post("/api/v1/queues", self._authed(self.add_queue)),
            web.patch("/api/v1/queues/{id}", self._authed(self.update_queue)),
        ]

    def _authed(self, handler: AuthedHandler) -> Handler:
        async def wrapper(request: web.Request) -> web.StreamResponse:
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("send Authorization: Bearer <token>")
            operator, session = await authenticate(self._core, token.strip())
            return await handler(request, operator, session, token.strip())

        return wrapper

    async def login(self, request: web.Request) -> web.StreamResponse:
        body = await _json_body(request)
        login_name, password = body.get("login"), body.get("password")
        if not isinstance(login_name, str) or not isinstance(password, str):
            raise InvalidInput('send {"login": ..., "password": ...} as strings')
        try:
            result = await login(self._core, self._hasher, login_name, password, self._ttl)
        except Unauthorized as exc:
            return _error(401, "invalid_credentials", exc.message)
        return web.json_response(
            {
                "token": result.token,
                "expires_at": result.expires_at.isoformat(),
                "operator": operator_view(result.operator),
            }
        )

    async def logout(
        self, request: web.Request, operator: Operator, session: AuthSession, token: str
    ) -> web.StreamResponse:
        await logout(self._core, token)
        self._hub.revoke(session.token_hash)
        return web.json_response({"status": "ok"})

    async def me(
        self, request: web.Request, operator: Operator, session: AuthSession, token: str
    ) -> web.StreamResponse:
        return web.json_response({"operator": operator_view(operator)})

    async def operators(
        self, request: web.Request, operator: Operator, session: AuthSession, token: str
    ) -> web.StreamResponse:
        everyone = await list_operators(self._core)
        return web.json_response({"operators": [operator_view(o) for o in everyone]})

    async def channels(
        self, request: web.Request, operator: Operator, session: AuthSession, token: str
    ) -> web.StreamResponse:
        channels = await list_channels(self._core)
        return web.json_response({"channels": [c.public_view() for c in channels]})

    async def conversations(
        self, request: web.Request, operator: Operator, session: AuthSession, token: str
    ) -> web.StreamResponse:
        query = request.query
        statuses: tuple[ConversationStatus, ...] | None = None
        if query.get("status"):
            try:
                statuses = tuple(ConversationStatus(s) for s in query["status"].split(","))
            except ValueError as exc:
                raise InvalidInput("status is one of bot, queued, assigned, resolved") from exc
        assignee = query.get("assignee")
        assignee_id = (
            operator.id if assignee == "me" else (OperatorId(assignee) if assignee else None)
        )
        channel = query.get("channel")
        found = await list_conversations(
            self._core,
            operator,
            statuses=statuses,
            assignee_id=assignee_id,
            channel_id=ChannelId(channel) if channel else None,
            limit=_int(query.get("limit"), 200, "limit"),
        )
        return web.json_response({"conversations": [conversation_view(c) for c in found]})

    async def conversation(
        self, request: web.Request, operator: Operator, session: AuthSession, token: str
    ) -> web.StreamResponse:
        found = await get_conversation(
            self._core, operator, ConversationId(request.match_info["id"])
        )
        return web.json_response({"conversation": conversation_view(found)})

    async def messages(
        self, request: web.Request, operator: Operator, session: AuthSession, token: str
    ) -> web.StreamResponse:
        after = request.query.get("after_seq")
        found = await list_messages(
            self._core,
            operator,
            ConversationId(request.match_info["id"]),
            after_seq=_int(after, 0, "after_seq") if after is not None else None,
            limit=_int(request.query.get("limit"), 200, "limit"),
        )
        return web.json_response({"messages": [message_view(m) for m in found]})

    async def post_message(
        self, request: web.Request, operator: Operator, session: AuthSession, token: str
    ) -> web.StreamResponse:
        body = await _json_body(request)
        client_id = body.get("client_id")
        if client_id is not None and not isinstance(client_id, str):
            raise InvalidInput("client_id must be a string")
        parts = compose_parts(
            body.get("text", ""),
            body.get("buttons"),
            body.get("attachments"),
            body.get("template"),
        )
        result = await send_reply(
            self._core,
            operator,
            ConversationId(request.match_info["id"]),
            parts,
            client_id,
        )
        return web.json_response(
            {"message": message_view(result.message)}, status=200 if result.duplicate else 201
        )

    async def upload(
        self, request: web.Request, operator: Operator, session: AuthSession, token: str
    ) -> web.StreamResponse:
        """``multipart/form-data`` with one ``file`` field → ``201 {"media": {...}}``, to be
        sent with ``message.send`` ``attachments``."""
        if (request.content_length or 0) > MAX_UPLOAD_BYTES + 64 * 1024:
            raise TooLarge(f"files are limited to {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB")
        if not request.content_type.startswith("multipart/"):
            raise InvalidInput("send the file as multipart/form-data in a field named file")
        reader = await request.multipart()
        async for field in reader:
            if not isinstance(field, BodyPartReader) or field.name != "file":
                continue
            data = bytearray()
            while chunk := await field.read_chunk(256 * 1024):
                data += chunk
                if len(data) > MAX_UPLOAD_BYTES:
                    raise TooLarge(f"files are limited to {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB")
            ref = await upload_attachment(
                self._core,
                self._media,
                operator,
                ConversationId(request.match_info["id"]),
                bytes(data),
                mime_type=field.headers.get("Content-Type", "application/octet-stream"),
                filename=field.filename,
            )
            return web.json_response(
                {
                    "media": {
                        "key": ref.key,
                        "mime_type": ref.mime_type,
                        "filename": ref.filename,
                        "size": ref.size,
                    }
                },
                status=201,
            )
        raise InvalidInput("no field named file")

    async def media(
        self, request: web.Request, operator: Operator, session: AuthSession, token: str
    ) -> web.StreamResponse:
        """The bytes of a message's file, to authenticated operators who may see it."""
        download = await open_media(
            self._core,
            self._media,
            self._adapters,
            operator,
            MessageId(request.match_info["id"]),
            _int(request.match_info["index"], 0, "index"),
        )
        name = (download.filename or "file").replace('"', "")
        return web.Response(
            body=download.data,
            content_type=download.mime_type,
            headers={
                # Never rendered as a page of ours: customer files could be HTML.
                "Content-Disposition": f'inline; filename="{name}"',
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "private, max-age=3600",
            },
        )

    async def templates(
        self, request: web.Request, operator: Operator, session: AuthSession, token: str
    ) -> web.StreamResponse:
        channel = await get_channel(self._core, ChannelId(request.match_info["id"]))
        if channel is None:
            raise NotFound("no such channel")
        found = [{"name": n, "language": lang} for n, lang in configured_templates(channel)]
        return web.json_response({"templates": found})

    async def contact(
        self, request: web.Request, operator: Operator, session: AuthSession, token: str
    ) -> web.StreamResponse:
        found = await conversation_contact(
            self._core, operator, ConversationId(request.match_info["id"])
        )
        return web.json_response({"contact": _contact_view(found)})

    async def contact_tags(
        self, request: web.Request, operator: Operator, session: AuthSession, token: str
    ) -> web.StreamResponse:
        body = await _json_body(request)
        changed = await set_contact_tags(
            self._core,
            operator,
            ConversationId(request.match_info["id"]),
            parse_tags(body.get("tags")),
        )
        return web.json_response({"contact": _contact_view(changed)})

    async def update_operator(
        self, request: web.Request, operator: Operator, session: AuthSession, token: str
    ) -> web.StreamResponse:
        body = await _json_body(request)
        unknown = sorted(set(body) - {"skills", "capacity", "name", "role", "disabled"})
        if unknown:
            raise InvalidInput(f"unknown field {unknown[0]!r}")
        skills = body.get("skills")
        if skills is not None:
            if not isinstance(skills, dict):
                raise InvalidInput("'skills' maps names to whole-number levels")
            skills = validate_skills(skills)
        capacity = body.get("capacity")
        if capacity is not None and (isinstance(capacity, bool) or not isinstance(capacity, int)):
            raise InvalidInput("'capacity' must be a whole number")
        name, role, disabled = body.get("name"), body.get("role"), body.get("disabled")
        if name is not None and not isinstance(name, str):
            raise InvalidInput("'name' must be a string")
        if disabled is not None and not isinstance(disabled, bool):
            raise InvalidInput("'disabled' must be true or false")
        try:
            new_role = Role(role) if role is not None else None
        except ValueError as exc:
            raise InvalidInput("'role' must be operator, supervisor or admin") from exc
        changed = await update_operator(
            self._core,
            operator,
            request.match_info["id"],
            skills=skills,
            capacity=capacity,
            display_name=name,
            role=new_role,
            disabled=disabled,
        )
        return web.json_response({"operator": operator_view(changed)})

    async def routing(
        self, request: web.Request, operator: Operator, session: AuthSession, token: str
    ) -> web.StreamResponse:
        found = await self._routing.explain(operator, ConversationId(request.match_info["id"]))
        return web.json_response(found)

    async def offers(
        self, request: web.Request, operator: Operator, session: AuthSession, token: str
    ) -> web.StreamResponse:
        return web.json_response({"offers": await self._routing.offers_for(operator)})

    async def queues(
        self, request: web.Request, operator: Operator, session: AuthSession, token: str
    ) -> web.StreamResponse:
        return web.json_response({"queues": await self._routing.list_queues(operator)})

    async def add_queue(
        self, request: web.Request, operator: Operator, session: AuthSession, token: str
    ) -> web.StreamResponse:
        body = await _json_body(request)
        name, settings, is_default = _queue_body(body)
        if not isinstance(name, str):
            raise InvalidInput("a queue needs a 'name'")
        queue = await self._routing.save_queue(
            operator, name, settings, create=True, is_default=is_default
        )
        return web.json_response({"queue": queue}, status=201)

    async def update_queue(
        self, request: web.Request, operator: Operator, session: AuthSession, token: str
    ) -> web.StreamResponse:
        body = await _json_body(request)
        name, settings, is_default = _queue_body(body)
        if name is not None and not isinstance(name, str):
            raise InvalidInput("'name' must be a string")
        queue = await self._routing.save_queue(
            operator,
            request.match_info["id"],
            settings,
            create=False,
            is_default=is_default,
            new_name=name,
        )
        return web.json_response({"queue": queue})


def _contact_view(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "name": contact.display_name,
        "phone": contact.phone,
        "email": contact.email,
        "tags": sorted(contact.tags),
    }


def _queue_body(body: Mapping[str, Any]) -> tuple[Any, dict[str, Any], bool | None]:
    """``{"name", "settings": {...}, "is_default"}`` (docs/routing.md has the settings)."""
    unknown = sorted(set(body) - {"name", "settings", "is_default"})
    if unknown:
        raise InvalidInput(f"unknown field {unknown[0]!r}")
    settings = body.get("settings", {})
    if not isinstance(settings, dict):
        raise InvalidInput("'settings' must be an object")
    is_default = body.get("is_default")
    if is_default is not None and not isinstance(is_default, bool):
        raise InvalidInput("'is_default' must be true or false")
    return body.get("name"), settings, is_default


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise InvalidInput("the body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    return body


def _int(raw: str | None, default: int, name: str) -> int:
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise InvalidInput(f"{name} must be an integer") from exc


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)
