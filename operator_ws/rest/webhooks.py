"""Outgoing webhooks over REST (docs/webhooks.md), for admins:

* ``POST /api/v1/webhooks`` ``{"url", "events": [...]}`` → 201 ``{"id", "secret",
  "webhook"}`` (the secret is shown this once);
* ``GET /api/v1/webhooks`` → ``{"webhooks": [...]}`` (no secrets);
* ``PATCH /api/v1/webhooks/{id}`` ``{"url"?, "events"?, "enabled"?}`` → ``{"webhook"}``;
* ``DELETE /api/v1/webhooks/{id}`` → ``{"deleted": id}`` (with its delivery log);
* ``GET /api/v1/webhooks/{id}/deliveries?limit=`` → ``{"deliveries": [...]}``, the newest
  first, each with its attempts.
"""

from __future__ import annotations

from aiohttp import web

from inbox.domain.errors import Forbidden
from inbox.domain.operators import Role
from inbox.usecases import Core
from operator_ws.rest.common import Caller, authed, int_param, json_body
from webhooks import WebhookAdmin, WebhookId
from webhooks.views import delivery_view, webhook_view

__all__ = ["WebhookRoutes", "require_webhooks_admin"]


def require_webhooks_admin(caller: Caller) -> None:
    """The one permission check of every webhook route: an admin's session, or an API
    token with the ``webhooks:admin`` scope (whose machine actor acts as an admin on
    these routes only: docs/api.md, "How a token acts")."""
    if caller.operator.role is not Role.ADMIN:
        raise Forbidden("only admins manage webhooks")


class WebhookRoutes:
    def __init__(self, core: Core, admin: WebhookAdmin) -> None:
        self._core = core
        self._admin = admin

    def routes(self) -> list[web.RouteDef]:
        core = self._core
        return [
            web.post("/api/v1/webhooks", authed(core, self.create, scope="webhooks:admin")),
            web.get("/api/v1/webhooks", authed(core, self.list, scope="webhooks:admin")),
            web.patch("/api/v1/webhooks/{id}", authed(core, self.update, scope="webhooks:admin")),
            web.delete("/api/v1/webhooks/{id}", authed(core, self.delete, scope="webhooks:admin")),
            web.get(
                "/api/v1/webhooks/{id}/deliveries",
                authed(core, self.deliveries, scope="webhooks:admin"),
            ),
        ]

    async def create(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        require_webhooks_admin(caller)
        body = await json_body(request)
        webhook = await self._admin.create(body.get("url"), body.get("events"))
        return web.json_response(
            {"id": webhook.id, "secret": webhook.secret, "webhook": webhook_view(webhook)},
            status=201,
        )

    async def list(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        require_webhooks_admin(caller)
        webhooks = await self._admin.list()
        return web.json_response({"webhooks": [webhook_view(w) for w in webhooks]})

    async def update(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        require_webhooks_admin(caller)
        body = await json_body(request)
        webhook = await self._admin.update(WebhookId(request.match_info["id"]), body)
        return web.json_response({"webhook": webhook_view(webhook)})

    async def delete(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        require_webhooks_admin(caller)
        webhook_id = WebhookId(request.match_info["id"])
        await self._admin.delete(webhook_id)
        return web.json_response({"deleted": webhook_id})

    async def deliveries(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        require_webhooks_admin(caller)
        limit = int_param(request.query.get("limit"), 50, "limit")
        found = await self._admin.deliveries(WebhookId(request.match_info["id"]), limit=limit)
        return web.json_response({"deliveries": [delivery_view(d, a) for d, a in found]})
