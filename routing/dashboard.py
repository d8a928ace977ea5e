"""The supervisors' live dashboard: what is waiting, who can take it, and how the SLA goes
today -- in one read of the routing state (docs/routing.md, "The dashboard").

Routing owns every number here (queues, presence, loads, SLA clocks), so they come from
one snapshot (:func:`routing.snapshot.take_snapshot`) plus one counting query for the
breaches of the day, inside one read transaction: the tiles and the per-queue table
never disagree. "Today" starts at local midnight in the inbox's zone (the root gives it:
the zone of the whole inbox's business hours, else UTC, as the reports do), and counts
tasks already done.

:func:`steady_part` is what a live feed compares to decide whether anything changed: the
longest-wait clock moves every second by itself, and a console advances it from
``longest_wait_since``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, time, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from inbox.domain.errors import Forbidden
from inbox.domain.operators import Operator, Presence, Role
from routing.context import Pass, RoutingContext
from routing.ports import RoutingTx
from routing.records import QueueId, RoutingTask, TaskStatus
from routing.snapshot import queue_config, take_snapshot

__all__ = ["dashboard", "day_start", "require_dashboard", "steady_part", "zone_named"]

#: The keys of :func:`dashboard`'s document that move with the clock alone.
_CLOCK_KEYS = frozenset({"at", "longest_wait_seconds"})


def require_dashboard(actor: Operator) -> None:
    """Supervisors and admins see the dashboard (an API token with ``reports:read`` acts
    as a supervisor); operators get :class:`Forbidden`."""
    if actor.role is Role.OPERATOR:
        raise Forbidden("the dashboard is for supervisors and admins")


def zone_named(name: str) -> tzinfo:
    """The IANA zone ``name``; UTC for an unknown one (a zone that vanished from the
    system's database must not take the dashboard down)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def day_start(now: datetime, zone: tzinfo) -> datetime:
    """The last local midnight at or before ``now`` in ``zone``, as an aware datetime."""
    local = now.astimezone(zone)
    return datetime.combine(local.date(), time(), zone)


async def dashboard(ctx: RoutingContext, actor: Operator, zone: tzinfo) -> dict[str, Any]:
    """The dashboard's numbers now, JSON-ready: ``totals``, ``operators`` and one entry
    per queue (by name). A read; no routing lock."""
    require_dashboard(actor)

    async def work(tx: RoutingTx) -> dict[str, Any]:
        p = await take_snapshot(ctx, tx, write=False)
        since = day_start(p.now, zone)
        today = await tx.routing.count_breaches_since(since)
        return _document(p, today, since, zone)

    return await ctx.read(work)


def _document(
    p: Pass, today: Mapping[QueueId, int], since: datetime, zone: tzinfo
) -> dict[str, Any]:
    open_tasks = list(p.tasks.values())
    by_queue: dict[QueueId, list[RoutingTask]] = defaultdict(list)
    for t in open_tasks:
        by_queue[t.queue_id].append(t)
    queues = []
    for qid, record in sorted(p.records.items(), key=lambda kv: kv[1].name):
        queue = p.queues.get(qid)
        members = queue_config(p, queue).members if queue else ()
        row = _numbers(p, by_queue.get(qid, []), today.get(qid, 0))
        row["members_online"] = sum(
            1
            for m in members
            if m in p.operators
            and not p.operators[m].disabled
            and p.operators[m].presence is Presence.ONLINE
        )
        queues.append({"id": qid, "name": record.name, "is_default": record.is_default, **row})
    return {
        "at": p.now.isoformat(),
        "tz": getattr(zone, "key", str(zone)),
        "day_start": since.isoformat(),
        "totals": _numbers(p, open_tasks, sum(today.values())),
        "operators": _operators(p),
        "queues": queues,
    }


def _numbers(p: Pass, tasks: list[RoutingTask], breaches_today: int) -> dict[str, Any]:
    """Waiting, longest wait (seconds and since when), offers, assigned and breaches of
    these open tasks."""
    waiting = [t for t in tasks if t.status is TaskStatus.WAITING]
    oldest = min((t.entered_queue_at for t in waiting), default=None)
    return {
        "waiting": len(waiting),
        "longest_wait_seconds": (
            max(0.0, (p.now - oldest).total_seconds()) if oldest is not None else 0.0
        ),
        "longest_wait_since": oldest.isoformat() if oldest is not None else None,
        "offers": sum(len(p.offers.get(t.conversation_id, ())) for t in waiting),
        "assigned": sum(1 for t in tasks if t.status is TaskStatus.ASSIGNED),
        "breaches_today": breaches_today,
        "breaches_open": sum(
            1 for t in tasks if t.first_response_breached_at or t.resolution_breached_at
        ),
    }


def _operators(p: Pass) -> dict[str, int]:
    """Enabled operators by presence; the online ones split into busy (their load, offers
    included, at or over capacity) and free."""
    counts = {"online": 0, "away": 0, "offline": 0, "busy": 0, "free": 0}
    for op in p.operators.values():
        if op.disabled:
            continue
        counts[str(op.presence)] += 1
        if op.presence is Presence.ONLINE:
            busy = p.loads.get(op.id, 0.0) >= op.capacity
            counts["busy" if busy else "free"] += 1
    return counts


def steady_part(document: Any) -> Any:
    """``document`` without what moves with the clock alone (``at``, the longest waits'
    seconds): equal steady parts mean nothing a console shows changed."""
    if isinstance(document, Mapping):
        return {k: steady_part(v) for k, v in document.items() if k not in _CLOCK_KEYS}
    if isinstance(document, list):
        return [steady_part(v) for v in document]
    return document
