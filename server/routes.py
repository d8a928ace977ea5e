"""The routes table: every URL this server answers, and the handler behind it, in one place
(CONTRACT.md, "HTTP" and "WebSocket"). The operator REST API's own table lives with its
handlers (``operator_ws``, ``OperatorApi.routes``) and is included here first."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from bots import Scope
from channels.webchat import WebchatSocket
from inbox.ports import PasswordHasher
from operator_ws import OperatorApi, OperatorSocket
from operator_ws.openapi import OpenApiDocument, route_scopes
from operator_ws.rest.bots import ScopeResolver
from operator_ws.rest.client_address import parse_networks
from operator_ws.rest.reports import ReportRoutes
from operator_ws.rest.webhooks import WebhookRoutes
from server.bots import scope_named
from server.channel_admin import ChannelAdmin
from server.inbound_api import RequestRoutes
from server.pages import DemoPage, StaticPage, healthz, static_asset
from server.payments import PaymentPages, PaymentWebhook
from server.readiness import Readiness
from server.services import Services
from server.webhooks import WebhookEndpoint
from storage.repositories.tx import SqlTx

__all__ = ["routes"]


def routes(services: Services, hasher: PasswordHasher) -> list[web.AbstractRouteDef]:
    """Every route of the application, its handlers bound to ``services``."""
    settings, core = services.settings, services.core
    webhook = WebhookEndpoint(core, services.adapters)
    api = OperatorApi(
        core,
        hasher,
        services.hub,
        timedelta(hours=settings.token_ttl_hours),
        services.media,
        services.adapters,
        services.router,
        services.bots,
        _scope_resolver(services),
        services.payments,
        ChannelAdmin(core, services.adapters, settings),
        online_on_login=settings.online_on_login,
        trusted_proxies=parse_networks(settings.trusted_proxies),
    )
    paying = PaymentPages(services.payments)
    rest = [
        *api.routes(),  # /api/v1/... (operator_ws)
        *WebhookRoutes(core, services.webhook_admin).routes(),  # /api/v1/webhooks...
        *RequestRoutes(core).routes(),  # /api/v1/requests (the shop's forms and calls)
        *ReportRoutes(core, services.reports).routes(),  # /api/v1/reports/...
    ]
    document = OpenApiDocument(settings.public_url, route_scopes(rest))
    return [
        *rest,
        # The document of those routes and a page that shows it (docs/openapi.md).
        web.get("/api/openapi.json", document.handle),
        web.get("/api/docs", StaticPage("api-docs.html", "text/html").handle),
        web.get(
            "/metrics",
            services.metrics.handler(
                services.store,
                services.hub.connection_count,
                services.visitors.open_count,
                services.core.admission,
            ),
        ),
        web.get("/healthz", healthz),
        web.get("/readyz", Readiness(services.store, core.bus).handle),
        web.get(
            "/ws/operator",
            OperatorSocket(core, services.hub, services.router, services.dashboard).handle,
        ),
        web.get("/ws/webchat/{channel_id}", WebchatSocket(core, services.visitors).handle),
        web.get("/", StaticPage("index.html", "text/html").handle),
        web.get("/reports", StaticPage("reports.html", "text/html").handle),
        web.get("/widget.js", StaticPage("widget.js", "text/javascript", csp=False).handle),
        web.get("/static/{name}", static_asset),
        web.get("/demo", DemoPage(core).handle),
        web.route("*", "/webhooks/{kind}/{channel_id}", webhook.handle),
        web.post(
            "/webhooks/payments/{kind}/{provider_id}", PaymentWebhook(services.payments).handle
        ),
        web.get("/pay/{provider_id}/{payment_id}", paying.show),
        web.post("/pay/{provider_id}/{payment_id}", paying.pay),
    ]


def _scope_resolver(services: Services) -> ScopeResolver:
    async def resolve(name: str) -> Scope:
        async def work(tx: SqlTx) -> Scope:
            return await scope_named(tx, name)

        return await services.store.read(work)

    return resolve
