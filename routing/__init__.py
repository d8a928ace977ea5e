"""Routing: who gets which conversation. The policy (``routing.policy``) is pure; the
service (``routing.service``) persists its decisions under the routing lock and runs the
timers (ARCHITECTURE.md, docs/routing.md). ``BasicRouter`` is the earlier least-loaded
router, kept as the baseline the benchmarks compare against."""

from routing.basic import BasicRouter, Candidate, pick_operator
from routing.queues import QueueSettings, parse_settings, parse_weights
from routing.service import AlertNotifier, RoutingService, RoutingSettings

__all__ = [
    "AlertNotifier",
    "BasicRouter",
    "Candidate",
    "QueueSettings",
    "RoutingService",
    "RoutingSettings",
    "parse_settings",
    "parse_weights",
    "pick_operator",
]
