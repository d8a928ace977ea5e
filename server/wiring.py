"""The one wiring of the core (STYLE.md #4): every entry point -- the aiohttp application
(``server.app``) and each ``inbox`` command (``server.cli``) -- builds its store, bus, clock,
:class:`~inbox.usecases.Core`, password hasher, media store, channel adapters, routing,
bots, payments and reports here, from :class:`~server.config.Settings`, and nowhere else.
Two hooks on the store write inside every transaction of the core and the features: the
reports' facts (:func:`~server.reports.facts_hook`, docs/reports.md) and the outgoing
webhooks' deliveries (docs/webhooks.md).

Ownership: :func:`open_wiring` opens the store and builds the rest; the caller owns the
returned :class:`Wiring` and calls :meth:`Wiring.close` exactly once (or uses :func:`wired`),
which closes the adapters, stops the Redis bus and closes the store. Background loops that
only a serving process runs (the router's, the bus listener) are started by that process's
owner (``server.app``); the wiring never starts a task by itself.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bots import BotService
from channels.telegram.spec import KIND as TELEGRAM
from inbox.bus import InProcessEventBus
from inbox.domain.clock import Clock, SystemClock
from inbox.domain.content import Text
from inbox.domain.event_registry import EventRegistry
from inbox.domain.ids import ChannelId, ConversationId, MessageId, new_id
from inbox.domain.messages import OutboundMessage
from inbox.ports import AdapterDeps, ChannelAdapter, EventBus, MediaStore, PasswordHasher
from inbox.usecases import Admission, ChannelCache, Core, get_channel
from operator_ws import Argon2PasswordHasher
from payments.service import PaymentService
from reports import FactRecorder, ReportService
from routing import QueueRestrictionsOfRouting, RoutingService, RoutingSettings, parse_weights
from server.bots import BotOpeningHours, CachedQueueOf, as_bots_tx
from server.channels import ADAPTER_FACTORIES, CATALOG, AdapterFactory
from server.config import Settings
from server.events import event_registry
from server.outgoing_webhooks import OutgoingWebhooks, open_outgoing_webhooks
from server.payments import (
    OrderLinksForBots,
    UnpaidOrdersOfContacts,
    default_gateways,
    language_of,
)
from server.reports import BotBusinessClock, build_reports, facts_hook, inbox_zone, rating_of
from storage import FileMediaStore, SqlStore, migrate, open_store
from storage.redis_bus import RedisEventBus

__all__ = [
    "DEFAULT_ADAPTER_FACTORIES",
    "AdapterFactory",
    "Wiring",
    "build_adapters",
    "open_wiring",
    "supported_kinds",
    "wired",
]

logger = logging.getLogger(__name__)

#: The channel kinds this server runs that need an adapter (server/channels.py).
DEFAULT_ADAPTER_FACTORIES: Mapping[str, AdapterFactory] = ADAPTER_FACTORIES


def build_adapters(
    settings: Settings,
    media: MediaStore,
    clock: Clock,
    factories: Mapping[str, AdapterFactory] | None = None,
) -> dict[str, ChannelAdapter]:
    """One adapter per channel kind (shared by every channel of that kind). ``factories``
    replace the defaults kind by kind (tests hand in adapters that talk to fake APIs).
    Building does no I/O; the caller closes each adapter that has a ``close``."""
    deps = AdapterDeps(media=media, clock=clock, public_url=settings.public_url)
    chosen = {**DEFAULT_ADAPTER_FACTORIES, **(factories or {})}
    return {kind: factory(deps) for kind, factory in chosen.items()}


def supported_kinds() -> frozenset[str]:
    """Kinds this server can run: every installed kind (server/channels.py)."""
    return frozenset(CATALOG.kinds())


@dataclass(frozen=True, slots=True)
class Wiring:
    """The parts every entry point shares, built by :func:`open_wiring`.

    ``redis_bus`` is the bus itself when events cross processes (``INBOX_REDIS_URL``), so
    that its owner can start its listener; ``None`` with the in-process bus.
    """

    settings: Settings
    store: SqlStore
    bus: EventBus
    redis_bus: RedisEventBus | None
    core: Core
    hasher: PasswordHasher
    media: MediaStore
    adapters: Mapping[str, ChannelAdapter]
    router: RoutingService
    bots: BotService
    payments: PaymentService
    #: Outgoing webhooks: the recorder on the store and the admin's use cases.
    webhooks: OutgoingWebhooks
    #: Reports: the figures of a period from the facts the store records.
    reports: ReportService
    #: Every event type this server declares: the Redis codec and the operators' frames.
    events: EventRegistry

    def start_bus(self) -> None:
        """Listen for other processes' events (serving processes only; idempotent)."""
        if self.redis_bus is not None:
            self.redis_bus.start()

    async def close(self) -> None:
        """Close every adapter, stop the Redis bus, close the store -- in that order; the
        store is closed even when stopping the bus failed, and an adapter that fails to
        close is logged and does not keep the others open. The router's loop must already
        be stopped by whoever started it."""
        await _close_adapters(self.adapters)
        for gateway in self.payments.gateways.values():
            try:
                await gateway.close()
            except Exception:
                logger.exception("closing the %s payment gateway failed", gateway.kind)
        try:
            if self.redis_bus is not None:
                await self.redis_bus.stop()
        finally:
            await self.store.close()


async def open_wiring(
    settings: Settings,
    *,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
    adapter_factories: Mapping[str, AdapterFactory] | None = None,
    local_bus: bool = False,
) -> Wiring:
    """Migrate the database, open the store and build the rest; the caller owns the result.

    ``local_bus``: an in-process bus even when ``redis_url`` is set. The command line asks
    for it: a one-shot command's events stay in its process, as they always have.
    """
    await migrate(settings.database_url)
    sql_store = await open_store(settings.database_url)
    try:
        # Every write of the core and the features goes through this store; from here on
        # each one records the reports' facts in its own transaction (server/reports.py).
        store = sql_store
        store.add_transaction_hook(
            facts_hook(FactRecorder(BotBusinessClock(lambda: bots), rating_of=rating_of))
        )
        # Set, Redis carries events between processes (docs/scaling.md); unset, one process.
        registry = event_registry()
        redis_bus = (
            RedisEventBus(settings.redis_url, registry=registry)
            if settings.redis_url and not local_bus
            else None
        )
        bus: EventBus = redis_bus if redis_bus is not None else InProcessEventBus()
        plain = Core(
            store=store,
            bus=bus,
            clock=clock or SystemClock(),
            channels=CATALOG,
            # Back-pressure in front of the durable write (docs/reliability.md).
            admission=Admission(
                settings.ingest_max_pending,
                settings.ingest_retry_after_seconds,
                max_wait=settings.ingest_max_wait_ms / 1000,
            ),
            # Channel rows kept for a moment on the hot paths; the copies of this core
            # below share it, so a change through any of them drops its entry.
            channel_cache=ChannelCache(settings.channel_cache_seconds),
        )
        # The bots take new conversations through the core's intake policy; the service
        # and the core share the store, bus, clock and catalog.
        bots = BotService(plain, store, CachedQueueOf(settings.channel_cache_seconds), as_bots_tx)
        # Members-only queues hide their waiting conversations (routing says which).
        core = dataclasses.replace(
            plain, intake=bots.intake, restrictions=QueueRestrictionsOfRouting(store)
        )
        await bots.settings.load()
        media = FileMediaStore(settings.data_dir)
        adapters = build_adapters(settings, media, core.clock, adapter_factories)

        async def notify_telegram(target: Mapping[str, str], text: str) -> None:
            await _notify_telegram(core, adapters, target, text)

        payments = PaymentService(
            core,
            store,
            default_gateways(),
            public_url=settings.public_url or f"http://{settings.host}:{settings.port}",
            language_of=language_of(bots),
        )
        # "Оплатить заказ 1042": the bot sends that order's link (payments, via the root).
        bots.order_links = OrderLinksForBots(payments)
        router = RoutingService(
            core,
            store,
            weights=parse_weights(settings.channel_weights, CATALOG.kinds()),
            settings=RoutingSettings(
                sweep_seconds=settings.routing_sweep_seconds,
                presence_stale_seconds=settings.presence_stale_seconds or None,
                full_read_seconds=settings.routing_full_read_seconds or None,
                pass_budget=settings.routing_pass_budget or None,
            ),
            notifier=notify_telegram,
            # Business hours are the bots' (server/bots.py): closed queues wait for opening.
            hours=BotOpeningHours(bots),
            unpaid_orders=UnpaidOrdersOfContacts(),
            # The dashboard's "today" is a day in the zone the reports use.
            zone=lambda: inbox_zone(bots),
        )
        # From here on every unit of work records its webhook deliveries (server/
        # outgoing_webhooks.py); a change of subscriptions reaches every process's copy.
        outgoing = await open_outgoing_webhooks(core, store, settings)
        bus.subscribe(outgoing.recorder.on_event)
        reports = build_reports(sql_store, core.clock, bots)
    except BaseException:
        await sql_store.close()
        raise
    return Wiring(
        settings=settings,
        store=sql_store,
        bus=bus,
        redis_bus=redis_bus,
        core=core,
        hasher=hasher or Argon2PasswordHasher(),
        media=media,
        adapters=adapters,
        router=router,
        bots=bots,
        payments=payments,
        webhooks=outgoing,
        reports=reports,
        events=registry,
    )


@asynccontextmanager
async def wired(settings: Settings, *, local_bus: bool = False) -> AsyncIterator[Wiring]:
    """:func:`open_wiring` for one block of work; closed when the block ends."""
    wiring = await open_wiring(settings, local_bus=local_bus)
    try:
        yield wiring
    finally:
        await wiring.close()


async def _close_adapters(adapters: Mapping[str, ChannelAdapter]) -> None:
    """Adapters with a ``close`` (HTTP sessions, mailbox log-outs) release it; a failure is
    logged and the others still close."""
    for kind, adapter in adapters.items():
        close = getattr(adapter, "close", None)
        if close is None:
            continue
        try:
            await close()
        except Exception:
            logger.exception("closing the %s adapter failed", kind)


async def _notify_telegram(
    core: Core, adapters: Mapping[str, ChannelAdapter], target: Mapping[str, str], text: str
) -> None:
    """A supervisor alert into a Telegram chat, through one of our Telegram channels (the
    queue's ``alert_telegram``: ``channel_id`` and ``chat_id``)."""
    adapter = adapters.get(str(TELEGRAM))
    channel = await get_channel(core, ChannelId(target["channel_id"]))
    if adapter is None or channel is None or channel.kind != TELEGRAM:
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
