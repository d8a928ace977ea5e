"""What a running application holds: :class:`Services`, under the app key :data:`SERVICES`.

Defined apart from the app factory so that the handlers' modules and the factory can both
name it without importing each other; ``server.app`` re-exports both names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web

from bots import BotService
from channels.webchat import VisitorRegistry
from inbox.delivery import DeliveryWorker
from inbox.pollers import PollerService
from inbox.ports import ChannelAdapter, MediaStore
from inbox.usecases import Core
from operator_ws import DashboardFeed, OperatorHub
from payments.service import PaymentService
from reports import ReportService
from routing import RoutingService
from server.config import Settings
from server.metrics import Metrics
from storage import SqlStore
from webhooks import WebhookAdmin, WebhookWorker

__all__ = ["SERVICES", "Services"]


@dataclass(frozen=True, slots=True)
class Services:
    """The application's parts, for its lifecycle hooks and for tests that drive them.
    Built once by ``create_app``; the app's cleanup stops and closes every one."""

    settings: Settings
    core: Core
    store: SqlStore
    hub: OperatorHub
    visitors: VisitorRegistry
    worker: DeliveryWorker
    router: RoutingService
    bots: BotService
    payments: PaymentService
    reports: ReportService
    media: MediaStore
    adapters: Mapping[str, ChannelAdapter]
    pollers: PollerService
    #: Outgoing webhooks: the admin's use cases and the delivery worker (docs/webhooks.md).
    webhook_admin: WebhookAdmin
    webhook_worker: WebhookWorker
    metrics: Metrics
    #: The supervisors' live dashboard over the operator WebSocket (docs/routing.md).
    dashboard: DashboardFeed


SERVICES = web.AppKey("services", Services)
