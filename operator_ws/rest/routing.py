"""Routing as the console sees it: ``GET /api/v1/conversations/{id}/routing`` (why it went
where it went), ``GET /api/v1/offers``, ``GET|POST /api/v1/queues``,
``PATCH /api/v1/queues/{id}``, ``GET /api/v1/dashboard`` (the supervisors' live
numbers; docs/routing.md).

The views come ready-made from the routing control; this module only parses bodies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from inbox.domain.errors import InvalidInput
from inbox.domain.ids import ConversationId
from inbox.usecases import Core
from operator_ws.rest.common import Caller, authed, json_body
from routing.ports import RoutingControl

__all__ = ["RoutingRoutes"]


class RoutingRoutes:
    def __init__(self, core: Core, routing: RoutingControl) -> None:
        self._core = core
        self._routing = routing

    def routes(self) -> list[web.RouteDef]:
        core = self._core
        return [
            web.get(
                "/api/v1/conversations/{id}/routing",
                authed(core, self.explanation, scope="conversations:read"),
            ),
            web.get("/api/v1/offers", authed(core, self.offers, scope=None)),
            web.get("/api/v1/queues", authed(core, self.queues, scope=None)),
            web.post("/api/v1/queues", authed(core, self.add_queue, scope=None)),
            web.patch("/api/v1/queues/{id}", authed(core, self.update_queue, scope=None)),
            web.get("/api/v1/dashboard", authed(core, self.dashboard, scope="reports:read")),
        ]

    async def explanation(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        found = await self._routing.explain(
            caller.operator, ConversationId(request.match_info["id"])
        )
        return web.json_response(found)

    async def offers(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        return web.json_response({"offers": await self._routing.offers_for(caller.operator)})

    async def queues(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        return web.json_response({"queues": await self._routing.list_queues(caller.operator)})

    async def dashboard(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        """Supervisors and admins (an API token with ``reports:read``); 403 otherwise."""
        return web.json_response({"dashboard": await self._routing.dashboard(caller.operator)})

    async def add_queue(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        """``{"name", "settings", "is_default"}`` → 201 ``{"queue": ...}``."""
        body = await json_body(request)
        name, settings, is_default = _queue_body(body)
        if not isinstance(name, str):
            raise InvalidInput("a queue needs a 'name'")
        queue = await self._routing.save_queue(
            caller.operator, name, settings, create=True, is_default=is_default
        )
        return web.json_response({"queue": queue}, status=201)

    async def update_queue(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        """Like :meth:`add_queue`, every field optional; ``name`` renames the queue."""
        body = await json_body(request)
        name, settings, is_default = _queue_body(body)
        if name is not None and not isinstance(name, str):
            raise InvalidInput("'name' must be a string")
        queue = await self._routing.save_queue(
            caller.operator,
            request.match_info["id"],
            settings,
            create=False,
            is_default=is_default,
            new_name=name,
        )
        return web.json_response({"queue": queue})


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
