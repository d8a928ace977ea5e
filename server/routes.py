"""The routes table: every URL this server answers, and the handler behind it, in one place
(CONTRACT.md, "HTTP" and "WebSocket"). The operator REST API's own table lives with its
handlers (``operator_ws``, ``OperatorApi.routes``) and is included here first."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from channels.webchat import WebchatSocket
from inbox.ports import PasswordHasher
from operator_ws import OperatorApi, OperatorSocket
from server.pages import DemoPage, StaticPage, healthz, static_asset
from server.services import Services
from server.webhooks import WebhookEndpoint

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
    )
    return [
        *api.routes(),  # /api/v1/... (operator_ws)
        web.get("/healthz", healthz),
        web.get("/ws/operator", OperatorSocket(core, services.hub, services.router).handle),
        web.get("/ws/webchat/{channel_id}", WebchatSocket(core, services.visitors).handle),
        web.get("/", StaticPage("index.html", "text/html").handle),
        web.get("/widget.js", StaticPage("widget.js", "text/javascript", csp=False).handle),
        web.get("/static/{name}", static_asset),
        web.get("/demo", DemoPage(core).handle),
        web.route("*", "/webhooks/{kind}/{channel_id}", webhook.handle),
    ]
