"""Routing names the core's events still use.

Kept for inbox/domain/events.py until the routing events move: ``OfferChanged`` and
``RoutingAlert`` carry a queue id and an alert kind. Routing's records live in
:mod:`routing.records`, which re-exports these two.
"""

from __future__ import annotations

from typing import Literal, NewType

__all__ = ["AlertKind", "QueueId"]

QueueId = NewType("QueueId", str)

AlertKind = Literal["sla_warning", "sla_breach", "response_overdue"]
