"""The composition root: the only module that knows every concrete class (ARCHITECTURE.md).

``create_app`` migrates the database, opens the store, wires the core, the edges and the
background workers, and returns the aiohttp application. Nothing happens at import time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from typing import Any

from aiohttp import web

from channels import email, telegram, viber, vk, whatsapp
from channels.webchat import VisitorRegistry, WebchatSender, WebchatSocket
from inbox.bus import InProcessEventBus
from inbox.delivery import DeliveryWorker
from inbox.domain.channel_io import MAX_WEBHOOK_BYTES, WebhookRejected, WebhookRequest
from inbox.domain.channels import ChannelKind
from inbox.domain.clock import Clock, SystemClock
from inbox.domain.content import Text
from inbox.domain.errors import DomainError
from inbox.domain.ids import ChannelId, ConversationId, MessageId, OperatorId, new_id
from inbox.domain.messages import OutboundMessage
from inbox.domain.operators import Presence
from inbox.pollers import PollerService
from inbox.ports import AdapterDeps, ChannelAdapter, ChannelSender, MediaStore, PasswordHasher
from inbox.usecases import (
    Core,
    get_channel,
    list_channels,
    receive_webhook,
    set_presence,
    touch_operators,
)
from operator_ws import Argon2PasswordHasher, HubSettings, OperatorApi, OperatorHub, OperatorSocket
from routing import RoutingService, RoutingSettings, parse_weights
from server.config import Settings
from server.events import event_registry
from storage import FileMediaStore, SqlStore, migrate, open_store
from storage.redis_bus import RedisEventBus

__all__ = [
    "DEFAULT_ADAPTER_FACTORIES",
    "SERVICES",
    "AdapterFactory",
    "Services",
    "build_adapters",
    "create_app",
]

AdapterFactory = Callable[[AdapterDeps], ChannelAdapter]

#: The channel kinds this server runs, besides the web chat (which needs no adapter).
DEFAULT_ADAPTER_FACTORIES: Mapping[str, AdapterFactory] = {
    "email": email.create_adapter,
    "telegram": telegram.create_adapter,
    "viber": viber.create_adapter,
    "vk": vk.create_adapter,
    "whatsapp": whatsapp.create_adapter,
}


def build_adapters(
    settings: Settings,
    media: MediaStore,
    clock: Clock,
    factories: Mapping[str, AdapterFactory] | None = None,
) -> dict[str, ChannelAdapter]:
    """One adapter per channel kind (shared by every channel of that kind)."""
    deps = AdapterDeps(media=media, clock=clock, public_url=settings.public_url)
    chosen = {**DEFAULT_ADAPTER_FACTORIES, **(factories or {})}
    return {kind: factory(deps) for kind, factory in chosen.items()}


logger = logging.getLogger(__name__)

_HTTP_STATUS = {
    "invalid_input": 400,
    "too_large": 413,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "invalid_transition": 409,
    "window_closed": 409,
    "unavailable": 502,
}

#: Browsers must not run anything but our own scripts in the console, nor frame it.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self' ws: wss:; media-src 'self' blob:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    core: Core
    store: SqlStore
    hub: OperatorHub
    visitors: VisitorRegistry
    worker: DeliveryWorker
    router: RoutingService
    media: MediaStore
    adapters: Mapping[str, ChannelAdapter]
    pollers: PollerService


SERVICES = web.AppKey("services", Services)
_REDIS_BUS = web.AppKey("redis_bus", RedisEventBus)


async def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
    adapter_factories: Mapping[str, AdapterFactory] | None = None,
) -> web.Application:
    await migrate(settings.database_url)
    store = await open_store(settings.database_url)
    # Set, Redis carries events between processes (docs/scaling.md); unset, one process.
    registry = event_registry()
    bus = (
        RedisEventBus(settings.redis_url, registry=registry)
        if settings.redis_url
        else InProcessEventBus()
    )
    core = Core(store=store, bus=bus, clock=clock or SystemClock())
    hasher = hasher or Argon2PasswordHasher()

    async def gone_away(operator_id: OperatorId) -> None:
        await set_presence(core, operator_id, Presence.AWAY, only_from=Presence.ONLINE)

    async def seen(operator_ids: set[OperatorId]) -> None:
        await touch_operators(core, operator_ids)

    hub = OperatorHub(
        core.clock,
        HubSettings(
            replay_frames=settings.ws_replay_frames,
            replay_seconds=settings.ws_replay_seconds,
            heartbeat_seconds=settings.ws_heartbeat_seconds,
            presence_grace_seconds=settings.presence_grace_seconds,
        ),
        gone_away,
        seen,
        registry=registry,
    )
    visitors = VisitorRegistry()
    media = FileMediaStore(settings.data_dir)
    adapters = build_adapters(settings, media, core.clock, adapter_factories)
    senders: dict[str, ChannelSender] = {str(ChannelKind.WEBCHAT): WebchatSender(visitors)}
    senders.update(adapters)
    worker = DeliveryWorker(core, senders)
    weights = parse_weights(settings.channel_weights)

    async def notify_telegram(target: Mapping[str, str], text: str) -> None:
        await _notify_telegram(core, adapters, target, text)

    router = RoutingService(
        core,
        store,
        weights=weights,
        settings=RoutingSettings(
            sweep_seconds=settings.routing_sweep_seconds,
            presence_stale_seconds=settings.presence_stale_seconds or None,
        ),
        notifier=notify_telegram,
    )
    pollers = PollerService(core, adapters)
    for subscriber in (hub, visitors, worker, router):
        bus.subscribe(subscriber.on_event)

    services = Services(
        settings, core, store, hub, visitors, worker, router, media, adapters, pollers
    )
    app = web.Application(middlewares=[_json_errors], client_max_size=1024 * 1024)
    app[SERVICES] = services
    if isinstance(bus, RedisEventBus):
        app[_REDIS_BUS] = bus
    api = OperatorApi(
        core, hasher, hub, timedelta(hours=settings.token_ttl_hours), media, adapters, router
    )
    app.add_routes(api.routes())
    app.add_routes(
        [
            web.get("/healthz", _healthz),
            web.get("/ws/operator", OperatorSocket(core, hub, router).handle),
            web.get("/ws/webchat/{channel_id}", WebchatSocket(core, visitors).handle),
            web.get("/", _static_page("index.html", "text/html")),
            web.get("/widget.js", _static_page("widget.js", "text/javascript", csp=False)),
            web.get("/static/{name}", _static_asset),
            web.get("/demo", _demo_page),
            web.route("*", "/webhooks/{kind}/{channel_id}", _webhook),
        ]
    )
    app.on_startup.append(_start)
    app.on_shutdown.append(_shutdown)
    app.on_cleanup.append(_cleanup)
    return app


async def _notify_telegram(
    core: Core, adapters: Mapping[str, ChannelAdapter], target: Mapping[str, str], text: str
) -> None:
    """A supervisor alert into a Telegram chat, through one of our Telegram channels (the
    queue's ``alert_telegram``: ``channel_id`` and ``chat_id``)."""
    adapter = adapters.get(str(ChannelKind.TELEGRAM))
    channel = await get_channel(core, ChannelId(target["channel_id"]))
    if adapter is None or channel is None or channel.kind is not ChannelKind.TELEGRAM:
        raise ValueError("alert_telegram must name a Telegram channel")
    message = OutboundMessage(
        message_id=MessageId(new_id()),
        conversation_id=ConversationId(""),
        channel_id=channel.id,
        recipient=target["chat_id"],
        parts=(Text(text),),
        automatic=True,
    )
    await adapter.send(channel, message)


async def _start(app: web.Application) -> None:
    services = app[SERVICES]
    if _REDIS_BUS in app:
        app[_REDIS_BUS].start()
    services.hub.start()
    services.worker.start()
    services.router.start()
    services.pollers.start()
    services.worker.wake()  # deliver whatever was pending before a restart


async def _shutdown(app: web.Application) -> None:
    await app[SERVICES].hub.stop()  # close sockets with GOING_AWAY


async def _cleanup(app: web.Application) -> None:
    services = app[SERVICES]
    await services.pollers.stop()
    await services.router.stop()
    await services.worker.stop()
    for adapter in services.adapters.values():
        close = getattr(adapter, "close", None)
        if close is not None:
            await close()
    if _REDIS_BUS in app:
        await app[_REDIS_BUS].stop()
    await services.store.close()


async def _webhook(request: web.Request) -> web.StreamResponse:
    """Authenticate, convert, store, then acknowledge (STYLE.md #5); nothing else here."""
    services = request.app[SERVICES]
    adapter = services.adapters.get(request.match_info["kind"])
    if adapter is None:
        return _error(404, "not_found", "no such channel kind on this server")
    if request.method not in ("GET", "POST"):
        return _error(405, "method_not_allowed", "webhooks take GET or POST")
    if (request.content_length or 0) > MAX_WEBHOOK_BYTES:
        return _error(413, "too_large", "the body is too large")
    body = bytearray()
    while chunk := await request.content.read(64 * 1024):
        body += chunk
        if len(body) > MAX_WEBHOOK_BYTES:
            return _error(413, "too_large", "the body is too large")
    hook = WebhookRequest(
        method=request.method,
        headers={k.lower(): v for k, v in request.headers.items()},
        query=dict(request.query),
        body=bytes(body),
    )
    try:
        reply = await receive_webhook(
            services.core, adapter, ChannelId(request.match_info["channel_id"]), hook
        )
    except WebhookRejected as exc:
        # Never the body, never the credentials: the kind, the channel and why.
        logger.info(
            "webhook for %s channel %s rejected: %s",
            adapter.kind,
            request.match_info["channel_id"][:40],
            exc.code,
        )
        return _error(exc.status, exc.code, exc.message)
    return web.Response(status=reply.status, body=reply.body, content_type=reply.content_type)


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def _read_static(name: str) -> bytes:
    return resources.files("static").joinpath(name).read_bytes()


_ASSET_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".html": "text/html",
}


def _headers(csp: bool) -> dict[str, str]:
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if csp:
        headers["Content-Security-Policy"] = _CSP
        headers["Referrer-Policy"] = "no-referrer"
    return headers


def _static_page(name: str, content_type: str, *, csp: bool = True) -> Any:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(
            body=_read_static(name),
            content_type=content_type,
            charset="utf-8",
            headers=_headers(csp),
        )

    return handler


async def _static_asset(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    suffix = "." + name.rpartition(".")[2]
    if "/" in name or "\\" in name or name.startswith(".") or suffix not in _ASSET_TYPES:
        raise web.HTTPNotFound()
    try:
        body = _read_static(name)
    except (FileNotFoundError, IsADirectoryError):
        raise web.HTTPNotFound() from None
    return web.Response(
        body=body, content_type=_ASSET_TYPES[suffix], charset="utf-8", headers=_headers(True)
    )


async def _demo_page(request: web.Request) -> web.Response:
    core = request.app[SERVICES].core
    wanted = request.query.get("channel")
    channels = [c for c in await list_channels(core) if c.kind is ChannelKind.WEBCHAT and c.enabled]
    chosen = next((c for c in channels if c.id == ChannelId(wanted or "")), None)
    if chosen is None and not wanted and channels:
        chosen = channels[0]
    if chosen is None:
        return _error(
            404, "not_found", "no web chat channel; add one: inbox channel add webchat NAME"
        )
    page = _read_static("demo.html").decode().replace("{{CHANNEL_ID}}", chosen.id)
    return web.Response(text=page, content_type="text/html", headers=_headers(False))


@web.middleware
async def _json_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Every error is JSON: ``{"error": {"code", "message"}}`` (CONTRACT.md)."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except DomainError as exc:
        return _error(_HTTP_STATUS.get(exc.code, 400), exc.code, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            exc.status, "http_error"
        )
        return _error(exc.status, code, exc.reason)
    except Exception:
        logger.exception("request %s %s failed", request.method, request.path)
        return _error(500, "internal", "the server could not complete the request")


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)
