"""The application factory and its lifecycle (ARCHITECTURE.md, the root floor).

``create_app`` takes the shared parts from the one wiring (``server.wiring``: store, bus,
core, hasher, media, adapters, router), adds what only a serving process runs -- the
operator hub, the web chat visitors, the delivery worker and the pollers --, mounts the
routes table (``server.routes``) and returns the aiohttp application. Nothing happens at
import time.

Ownership (STYLE.md #11): the application owns every background object. ``on_startup``
starts the bus listener, the hub, the worker, the router, the dashboard feed and the
pollers; ``on_shutdown`` closes the operators' sockets with GOING_AWAY; ``on_cleanup``
stops the pollers, the router, the dashboard feed and the worker, then closes the wiring
(adapters, bus, store).
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from bots.events import BotSettingsChanged
from channels.webchat import VisitorRegistry, WebchatSender
from channels.webchat.spec import KIND as WEBCHAT
from inbox.delivery import DeliveryWorker
from inbox.domain.clock import Clock
from inbox.domain.events import Event
from inbox.domain.ids import OperatorId
from inbox.domain.operators import Presence
from inbox.pollers import PollerService
from inbox.ports import ChannelSender, PasswordHasher
from inbox.usecases import set_presence, touch_operators
from operator_ws import DashboardFeed, HubSettings, OperatorHub
from server.config import Settings
from server.errors import json_errors
from server.metrics import Metrics, metrics_middleware
from server.process_owners import LocalProcessOwners
from server.routes import routes
from server.services import SERVICES, Services
from server.wiring import AdapterFactory, Wiring, open_wiring

__all__ = ["SERVICES", "Services", "create_app"]

_WIRING = web.AppKey("wiring", Wiring)

#: The largest request body the API accepts (webhooks have their own cap, MAX_WEBHOOK_BYTES).
_CLIENT_MAX_SIZE = 1024 * 1024


async def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
    adapter_factories: Mapping[str, AdapterFactory] | None = None,
) -> web.Application:
    """Migrate, open and wire everything; the returned application owns it all (see the
    module's docstring). ``clock``, ``hasher`` and ``adapter_factories`` replace the real
    ones (tests pass a fast hasher and adapters that talk to fake provider APIs)."""
    wiring = await open_wiring(
        settings, clock=clock, hasher=hasher, adapter_factories=adapter_factories
    )
    try:
        services = _serving_parts(wiring)
        app = web.Application(
            # The metrics see the status json_errors answered with.
            middlewares=[metrics_middleware(services.metrics), json_errors],
            client_max_size=_CLIENT_MAX_SIZE,
        )
        app[SERVICES] = services
        app[_WIRING] = wiring
        app.add_routes(routes(services, wiring.hasher))
    except BaseException:
        await wiring.close()
        raise
    app.on_startup.append(_start)
    app.on_shutdown.append(_shutdown)
    app.on_cleanup.append(_cleanup)
    return app


def _serving_parts(wiring: Wiring) -> Services:
    """The hub, visitors, worker and pollers on top of the wiring, subscribed to its bus."""
    core, settings = wiring.core, wiring.settings

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
        registry=wiring.events,
        restrictions=core.restrictions,
    )
    visitors = VisitorRegistry()
    senders: dict[str, ChannelSender] = {str(WEBCHAT): WebchatSender(visitors, clock=core.clock)}
    senders.update(wiring.adapters)
    # Leases named after this process: after a crash the next process takes its replies,
    # deliveries and pollers over at once instead of after their terms (docs/reliability.md).
    owners = LocalProcessOwners()
    worker = DeliveryWorker(core, senders, owners=owners)
    pollers = PollerService(core, wiring.adapters, owners=owners)
    metrics = Metrics(settings.metrics_token)
    wiring.store.add_commit_observer(metrics.observe_commit)
    webhook_worker = wiring.webhooks.worker(metrics.observe_webhook_attempt, owners=owners)
    for subscriber in (hub, visitors, worker, wiring.router, wiring.bots, webhook_worker):
        wiring.bus.subscribe(subscriber.on_event)
    router = wiring.router

    async def hours_changed(event: Event) -> None:
        # New business hours may open or close a queue now: the router decides again.
        if isinstance(event, BotSettingsChanged):
            router.kick()

    wiring.bus.subscribe(hours_changed)
    return Services(
        settings=settings,
        core=core,
        store=wiring.store,
        hub=hub,
        visitors=visitors,
        worker=worker,
        router=wiring.router,
        bots=wiring.bots,
        payments=wiring.payments,
        reports=wiring.reports,
        media=wiring.media,
        adapters=wiring.adapters,
        pollers=pollers,
        webhook_admin=wiring.webhooks.admin,
        webhook_worker=webhook_worker,
        metrics=metrics,
        dashboard=DashboardFeed(
            hub, router.dashboard, interval_seconds=settings.dashboard_interval_seconds
        ),
    )


async def _start(app: web.Application) -> None:
    services = app[SERVICES]
    app[_WIRING].start_bus()
    await services.hub.load_restrictions()  # before the first console connects
    services.hub.start()
    services.worker.start()
    services.router.start()
    services.dashboard.start()
    services.bots.start()
    services.pollers.start()
    services.webhook_worker.start()
    services.worker.wake()  # deliver whatever was pending before a restart
    services.webhook_worker.wake()


async def _shutdown(app: web.Application) -> None:
    await app[SERVICES].hub.stop()  # close sockets with GOING_AWAY
    await app[SERVICES].visitors.close_all()  # and the customers' web chat sockets


async def _cleanup(app: web.Application) -> None:
    services = app[SERVICES]
    try:
        await services.pollers.stop()
        await services.router.stop()
        await services.dashboard.stop()
        await services.bots.stop()
        await services.worker.stop()
        await services.webhook_worker.stop()
    finally:
        await app[_WIRING].close()
