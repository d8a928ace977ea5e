"""Channels as the console sees them: ``GET /api/v1/channels`` (public views, no secrets,
with the webhook or WebSocket URL), ``GET /api/v1/channels/{id}/templates``; for admins,
``POST /api/v1/channels`` ``{"kind", "name", "options"}`` (the same checks as ``inbox
channel add``: the provider is asked, the webhook registered) and ``PATCH
/api/v1/channels/{id}`` ``{"enabled": false}`` (pause)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from aiohttp import web

from inbox.domain.channels import Channel
from inbox.domain.errors import Forbidden, InvalidInput, NotFound
from inbox.domain.ids import ChannelId
from inbox.domain.operators import Operator, Role
from inbox.usecases import Core, get_channel, list_channels, set_channel_enabled
from operator_ws.rest.common import Caller, authed, json_body

__all__ = ["ChannelAdmin", "ChannelRoutes"]


class ChannelAdmin(Protocol):
    """The root's channel administration (``server.channel_admin``)."""

    def view(self, channel: Channel) -> dict[str, Any]: ...

    async def add(self, kind: str, name: str, options: Mapping[str, str]) -> Channel: ...


def _require_admin(operator: Operator) -> None:
    if operator.role is not Role.ADMIN:
        raise Forbidden("channels are set up by admins")


class ChannelRoutes:
    def __init__(self, core: Core, admin: ChannelAdmin | None = None) -> None:
        self._core = core
        self._admin = admin

    def routes(self) -> list[web.RouteDef]:
        core = self._core
        return [
            web.get("/api/v1/channels", authed(core, self.channels, scope=None)),
            web.get("/api/v1/channels/{id}/templates", authed(core, self.templates, scope=None)),
            web.post("/api/v1/channels", authed(core, self.add, scope=None)),
            web.patch("/api/v1/channels/{id}", authed(core, self.patch, scope=None)),
        ]

    async def channels(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        channels = await list_channels(self._core)
        view = self._admin.view if self._admin is not None else self._core.channels.public_view
        return web.json_response({"channels": [view(c) for c in channels]})

    async def add(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        _require_admin(caller.operator)
        if self._admin is None:
            raise NotFound("channels are added with the command line on this server")
        body = await json_body(request)
        unknown = sorted(set(body) - {"kind", "name", "options"})
        if unknown:
            raise InvalidInput(f"unknown field {unknown[0]!r}")
        kind, name, options = body.get("kind"), body.get("name"), body.get("options", {})
        if not isinstance(kind, str) or not isinstance(name, str):
            raise InvalidInput("kind and name are strings")
        if not isinstance(options, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in options.items()
        ):
            raise InvalidInput("options maps names to string values")
        channel = await self._admin.add(kind, name, options)
        return web.json_response({"channel": self._admin.view(channel)}, status=201)

    async def patch(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        _require_admin(caller.operator)
        body = await json_body(request)
        enabled = body.get("enabled")
        if set(body) != {"enabled"} or not isinstance(enabled, bool):
            raise InvalidInput('send {"enabled": true|false}')
        channel = await set_channel_enabled(
            self._core, ChannelId(request.match_info["id"]), enabled
        )
        view = self._admin.view if self._admin is not None else self._core.channels.public_view
        return web.json_response({"channel": view(channel)})

    async def templates(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        """``{"templates": [{"name", "language"}]}`` (empty for a kind without templates);
        an unknown channel → 404."""
        channel = await get_channel(self._core, ChannelId(request.match_info["id"]))
        if channel is None:
            raise NotFound("no such channel")
        spec = self._core.channels.get(channel.kind)
        pairs = spec.templates(channel) if spec is not None and spec.templates else []
        found = [{"name": n, "language": lang} for n, lang in pairs]
        return web.json_response({"templates": found})
