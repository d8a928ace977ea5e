"""Orders and payment links (CONTRACT.md, "Orders and payments"; docs/payments.md):

* ``POST /api/v1/orders`` ``{"conversation_id", "currency", "lines", "external_id"?}`` → 201;
* ``GET /api/v1/orders?conversation_id=`` (supervisors may leave it out), ``GET|PATCH
  /api/v1/orders/{id}`` (PATCH: lines, currency, external_id while a draft; ``status``
  shipped/delivered/cancelled/draft with ``tracking_number``);
* ``POST /api/v1/orders/{id}/payment-link`` ``{"provider_id"}``;
* ``GET /api/v1/payment-providers`` (secrets masked).

Who may do what is checked by the service (the conversation's assignee, its order's
manager, supervisors and admins). Money is a decimal string."""

from __future__ import annotations

from aiohttp import web

from inbox.domain.errors import InvalidInput
from inbox.domain.ids import ConversationId
from inbox.usecases import Core
from operator_ws.rest.common import Caller, authed, json_body
from payments.records import OrderId, ProviderId
from payments.service import PaymentService
from payments.views import order_view

__all__ = ["OrderRoutes"]


class OrderRoutes:
    def __init__(self, core: Core, payments: PaymentService) -> None:
        self._core = core
        self._payments = payments

    def routes(self) -> list[web.RouteDef]:
        core = self._core
        return [
            web.post("/api/v1/orders", authed(core, self.create, scope="orders:write")),
            web.get("/api/v1/orders", authed(core, self.list_orders, scope="orders:read")),
            web.get("/api/v1/orders/{id}", authed(core, self.get, scope="orders:read")),
            web.patch("/api/v1/orders/{id}", authed(core, self.patch, scope="orders:write")),
            web.post(
                "/api/v1/orders/{id}/payment-link",
                authed(core, self.payment_link, scope="orders:write"),
            ),
            web.get("/api/v1/payment-providers", authed(core, self.providers, scope="orders:read")),
        ]

    async def create(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        body = await json_body(request)
        conversation_id = body.get("conversation_id")
        if not isinstance(conversation_id, str) or not conversation_id:
            raise InvalidInput("conversation_id is required")
        order = await self._payments.create_order(
            caller.operator, ConversationId(conversation_id), body
        )
        return web.json_response({"order": order_view(order)}, status=201)

    async def list_orders(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        raw = request.query.get("conversation_id")
        found = await self._payments.list_orders(
            caller.operator, ConversationId(raw) if raw else None
        )
        return web.json_response({"orders": [order_view(o) for o in found]})

    async def get(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        order = await self._payments.get_order(caller.operator, OrderId(request.match_info["id"]))
        return web.json_response({"order": order_view(order)})

    async def patch(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        body = await json_body(request)
        order = await self._payments.update_order(
            caller.operator, OrderId(request.match_info["id"]), body
        )
        return web.json_response({"order": order_view(order)})

    async def payment_link(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        body = await json_body(request)
        provider_id = body.get("provider_id")
        if not isinstance(provider_id, str) or not provider_id:
            raise InvalidInput("provider_id is required")
        order = await self._payments.send_payment_link(
            caller.operator, OrderId(request.match_info["id"]), ProviderId(provider_id)
        )
        return web.json_response({"order": order_view(order)})

    async def providers(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        found = await self._payments.list_providers()
        return web.json_response({"providers": [self._payments.provider_view(p) for p in found]})
