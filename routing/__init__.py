"""Routing: who gets which conversation. The policy (``routing.policy``) is pure; the
service (``routing.service`` and its parts) persists its decisions under the routing lock
and runs the timers (ARCHITECTURE.md, docs/routing.md). Routing owns its records
(``routing.records``), its ports and unit of work (``routing.ports``) and its views
(``routing.views``); ``storage`` implements the ports. ``BasicRouter`` is the earlier
least-loaded router, kept as the baseline the benchmarks compare against."""

from routing.basic import BasicRouter, Candidate, pick_operator
from routing.ports import (
    OpeningHours,
    Router,
    RoutingControl,
    RoutingRepo,
    RoutingStore,
    RoutingTx,
    UnpaidOrders,
)
from routing.queues import QueueSettings, parse_settings, parse_weights
from routing.records import (
    AlertKind,
    DecisionRecord,
    OfferRecord,
    QueueId,
    QueueRecord,
    RoutingTask,
    TaskStatus,
)
from routing.service import AlertNotifier, RoutingService, RoutingSettings
from routing.views import offer_view, queue_view, task_view
from routing.visibility import QueueRestrictionsOfRouting

__all__ = [
    "AlertKind",
    "AlertNotifier",
    "BasicRouter",
    "Candidate",
    "DecisionRecord",
    "OfferRecord",
    "OpeningHours",
    "QueueId",
    "QueueRecord",
    "QueueRestrictionsOfRouting",
    "QueueSettings",
    "Router",
    "RoutingControl",
    "RoutingRepo",
    "RoutingService",
    "RoutingSettings",
    "RoutingStore",
    "RoutingTask",
    "RoutingTx",
    "TaskStatus",
    "UnpaidOrders",
    "offer_view",
    "parse_settings",
    "parse_weights",
    "pick_operator",
    "queue_view",
    "task_view",
]
