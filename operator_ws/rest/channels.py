"""Channels as the console sees them: ``GET /api/v1/channels`` (public views, no secrets)
and ``GET /api/v1/channels/{id}/templates``."""

from __future__ import annotations

from aiohttp import web

from inbox.domain.errors import NotFound
from inbox.domain.ids import ChannelId
from inbox.usecases import Core, get_channel, list_channels
from operator_ws.rest.common import Caller, authed

__all__ = ["ChannelRoutes"]


class ChannelRoutes:
    def __init__(self, core: Core) -> None:
        self._core = core

    def routes(self) -> list[web.RouteDef]:
        core = self._core
        return [
            web.get("/api/v1/channels", authed(core, self.channels)),
            web.get("/api/v1/channels/{id}/templates", authed(core, self.templates)),
        ]

    async def channels(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        channels = await list_channels(self._core)
        view = self._core.channels.public_view
        return web.json_response({"channels": [view(c) for c in channels]})

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
