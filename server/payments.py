"""The root's side of payments: the gateways this server runs, the customer's language
for a conversation (its queue's), the providers' door ``/webhooks/payments/{kind}/{id}``
and the sandbox's local "pay" page."""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Mapping

from aiohttp import web

from bots import BotService
from inbox.domain.channel_io import MAX_WEBHOOK_BYTES, WebhookRejected
from inbox.domain.content import Part
from inbox.domain.conversations import Conversation
from inbox.domain.errors import NotFound
from inbox.domain.ids import ContactId
from inbox.ports import Tx
from payments.ports import NotificationRequest, PaymentGateway, PaymentsTx
from payments.providers.sandbox import SandboxGateway, sandbox_signature
from payments.providers.stripe import StripeGateway
from payments.providers.yookassa import YooKassaGateway
from payments.records import PaymentStatus, ProviderId
from payments.service import LanguageOf, PaymentService
from routing import QueueId, RoutingTx, parse_settings
from server.bots import queue_of
from server.errors import error_response
from storage.repositories.tx import SqlTx

__all__ = [
    "OrderLinksForBots",
    "PaymentPages",
    "PaymentWebhook",
    "UnpaidOrdersOfContacts",
    "default_gateways",
    "language_of",
]

logger = logging.getLogger(__name__)


def default_gateways() -> dict[str, PaymentGateway]:
    """Every provider kind this server can use."""
    found: dict[str, PaymentGateway] = {
        "sandbox": SandboxGateway(),
        "yookassa": YooKassaGateway(),
        "stripe": StripeGateway(),
    }
    return found


def language_of(bots: BotService) -> LanguageOf:
    """The customer's language for a conversation: its queue's bot flow, else the
    queue's position messages' language, else English."""

    async def language(tx: PaymentsTx, conversation: Conversation) -> str:
        if not isinstance(tx, SqlTx):  # pragma: no cover - the root wires the SqlStore
            return "en"
        scope = await queue_of(tx, conversation.channel_id)
        flow = bots.settings.settings_for(scope).flow
        if flow is not None:
            return flow.language
        if scope is not None:
            record = await tx.routing.get_queue(QueueId(scope))
            if record is not None:
                return parse_settings(record).position.language
        return "en"

    return language


class OrderLinksForBots:
    """The bots' ``OrderLinks`` port over the payments service."""

    def __init__(self, payments: PaymentService) -> None:
        self._payments = payments

    async def link_for(
        self, tx: Tx, conversation: Conversation, number: int
    ) -> tuple[Part, ...] | None:
        if not isinstance(tx, SqlTx):  # pragma: no cover - the root wires the SqlStore
            return None
        return await self._payments.link_parts_for(tx, conversation, number)


class UnpaidOrdersOfContacts:
    """Routing's ``UnpaidOrders`` port over the payments' orders (the priority rule
    ``unpaid_order``)."""

    async def has_unpaid(self, tx: RoutingTx, contact_id: ContactId) -> bool:
        if not isinstance(tx, SqlTx):  # pragma: no cover - the root wires the SqlStore
            return False
        return await tx.payments.has_unpaid(contact_id)


class PaymentWebhook:
    """``POST /webhooks/payments/{kind}/{provider_id}``: 200 once the notification is
    acted on (or known), 409 when the provider's own record does not confirm it yet (it
    notifies again), the provider's refusal code for a request not from it, 404 for an
    unknown provider, 413 for an oversized body."""

    def __init__(self, payments: PaymentService) -> None:
        self._payments = payments

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if (request.content_length or 0) > MAX_WEBHOOK_BYTES:
            return error_response(413, "too_large", "the body is too large")
        body = await request.content.read(MAX_WEBHOOK_BYTES + 1)
        if len(body) > MAX_WEBHOOK_BYTES:
            return error_response(413, "too_large", "the body is too large")
        kind = request.match_info["kind"]
        notification = NotificationRequest(
            headers={k.lower(): v for k, v in request.headers.items()},
            body=bytes(body),
            remote=request.remote or "",
        )
        try:
            result = await self._payments.handle_notification(
                kind, ProviderId(request.match_info["provider_id"]), notification
            )
        except WebhookRejected as exc:
            logger.info("payment notification for %s rejected: %s", kind, exc.code)
            return error_response(exc.status, exc.code, exc.message)
        except NotFound as exc:
            return error_response(404, "not_found", exc.message)
        if result.status != 200:
            return error_response(result.status, "not_confirmed", result.message)
        return web.json_response({"ok": True, "result": result.message})


class PaymentPages:
    """The sandbox's "pay" page: what a customer sees after the link, with a Pay and a
    Cancel button. Pressing one notifies the server the way a provider would."""

    def __init__(self, payments: PaymentService) -> None:
        self._payments = payments

    def _sandbox(self) -> SandboxGateway:
        gateway = self._payments.gateways.get("sandbox")
        if not isinstance(gateway, SandboxGateway):
            raise NotFound("the sandbox provider is not available")
        return gateway

    async def show(self, request: web.Request) -> web.StreamResponse:
        payment_id = request.match_info["payment_id"]
        safe = html.escape(payment_id)
        page = (
            "<!doctype html><html><head><meta charset=utf-8><title>Sandbox payment</title>"
            "<meta name=viewport content='width=device-width,initial-scale=1'></head>"
            "<body style='font-family:system-ui;max-width:28rem;margin:3rem auto'>"
            "<h1>Sandbox payment</h1><p>No money moves: this is the sandbox provider.</p>"
            f"<p>Payment <code>{safe}</code></p>"
            "<form method=post><button name=status value=succeeded data-testid=sandbox-pay>"
            "Pay</button> <button name=status value=canceled data-testid=sandbox-cancel>"
            "Cancel</button></form></body></html>"
        )
        return web.Response(text=page, content_type="text/html")

    async def pay(self, request: web.Request) -> web.StreamResponse:
        provider_id = ProviderId(request.match_info["provider_id"])
        payment_id = request.match_info["payment_id"]
        form = await request.post()
        try:
            status = PaymentStatus(str(form.get("status", "succeeded")))
        except ValueError:
            return error_response(400, "bad_request", "status is succeeded or canceled")
        if status not in (PaymentStatus.SUCCEEDED, PaymentStatus.CANCELED):
            return error_response(400, "bad_request", "status is succeeded or canceled")
        providers = {p.id: p for p in await self._payments.list_providers()}
        provider = providers.get(provider_id)
        if provider is None or provider.kind != "sandbox":
            return error_response(404, "not_found", "no such sandbox provider")
        self._sandbox().mark(payment_id, status)
        body = _sandbox_body(provider.options, payment_id, status)
        result = await self._payments.handle_notification(
            "sandbox", provider_id, NotificationRequest({}, body, request.remote or "")
        )
        word = "Paid" if status is PaymentStatus.SUCCEEDED else "Cancelled"
        page = (
            "<!doctype html><html><head><meta charset=utf-8><title>Sandbox payment</title></head>"
            f"<body style='font-family:system-ui;max-width:28rem;margin:3rem auto'><h1 "
            f"data-testid=sandbox-result>{word}</h1><p>{html.escape(result.message)}</p>"
            "</body></html>"
        )
        return web.Response(text=page, content_type="text/html")


def _sandbox_body(options: Mapping[str, str], payment_id: str, status: PaymentStatus) -> bytes:
    signature = sandbox_signature(options.get("secret", ""), payment_id, status)
    return json.dumps(
        {"payment_id": payment_id, "status": str(status), "signature": signature}
    ).encode()
