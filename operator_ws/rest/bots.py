"""Business hours and bot flows per queue, for supervisors and admins (docs/bots.md):

* ``GET /api/v1/bots`` -- every scope with settings of its own;
* ``GET /api/v1/bots/{queue}`` -- the queue's own hours and flow, the hours in effect
  (its own or the whole inbox's) with ``open_now``, ``next_open``, ``closes_at``;
* ``PUT /api/v1/bots/{queue}/hours`` -- a schedule document, or ``null`` to remove it;
* ``PUT /api/v1/bots/{queue}/flow`` -- a flow document, or ``null`` to remove it.

``{queue}`` is a routing queue's name or id, or ``default`` (the whole inbox). A document
that does not validate is refused with 400 and changes nothing; operators get 403."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bots import BotService, Scope, settings_view
from bots.flow import flow_from_json
from bots.hours import schedule_from_json, schedule_to_json, status
from inbox.domain.errors import Forbidden, InvalidInput
from inbox.domain.operators import Operator
from inbox.domain.untrusted import BadJson, parse_json
from inbox.usecases import Core
from operator_ws.rest.common import Caller, authed

__all__ = ["BotRoutes", "ScopeResolver"]

#: ``default`` or a queue's name or id → the scope; raises NotFound (given by the root).
ScopeResolver = Callable[[str], Awaitable[Scope]]


def _require_supervisor(operator: Operator) -> None:
    if not operator.role.sees_everything:
        raise Forbidden("business hours and bot flows are managed by supervisors and admins")


async def _document(request: web.Request) -> dict[str, Any] | None:
    """The body: a JSON object, or ``null`` (remove)."""
    try:
        body = parse_json(await request.read())
    except BadJson as exc:
        raise InvalidInput("the body is not valid JSON") from exc
    if body is not None and not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object, or null to remove")
    return body


class BotRoutes:
    def __init__(self, core: Core, bots: BotService, resolve: ScopeResolver) -> None:
        self._core = core
        self._bots = bots
        self._resolve = resolve

    def routes(self) -> list[web.RouteDef]:
        core = self._core
        return [
            web.get("/api/v1/bots", authed(core, self.list_scopes, scope=None)),
            web.get("/api/v1/bots/{queue}", authed(core, self.show, scope=None)),
            web.put("/api/v1/bots/{queue}/hours", authed(core, self.put_hours, scope=None)),
            web.put("/api/v1/bots/{queue}/flow", authed(core, self.put_flow, scope=None)),
        ]

    async def list_scopes(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        _require_supervisor(caller.operator)
        found = [{"scope": s.scope, **settings_view(s)} for s in self._bots.settings.all_settings()]
        return web.json_response({"scopes": found})

    async def show(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        _require_supervisor(caller.operator)
        name = request.match_info["queue"]
        scope = await self._resolve(name)
        return web.json_response(self._view(name, scope))

    async def put_hours(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        _require_supervisor(caller.operator)
        name = request.match_info["queue"]
        scope = await self._resolve(name)
        body = await _document(request)
        schedule = schedule_from_json(body) if body is not None else None
        await self._bots.settings.save_hours(scope, schedule)
        return web.json_response(self._view(name, scope))

    async def put_flow(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        _require_supervisor(caller.operator)
        name = request.match_info["queue"]
        scope = await self._resolve(name)
        body = await _document(request)
        flow = flow_from_json(body) if body is not None else None
        await self._bots.settings.save_flow(scope, flow)
        return web.json_response(self._view(name, scope))

    def _view(self, name: str, scope: Scope) -> dict[str, Any]:
        effective = self._bots.settings.settings_for(scope).hours
        now = self._core.clock.now()
        return {
            "queue": name,
            "scope": scope,
            **settings_view(self._bots.settings.stored(scope)),
            "hours_in_effect": schedule_to_json(effective) if effective else None,
            "status": status(effective, now)
            if effective
            else {"open_now": True, "next_open": None, "closes_at": None},
        }
