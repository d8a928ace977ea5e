"""Queue administration: listing queues with their live numbers, creating and changing
them.

Supervisors and admins manage queues; plain operators may list them and see how a queue
works (:data:`OPERATOR_VISIBLE_SETTINGS`), not who else is in it or where alerts go.
Saving runs as a console command under the routing lock (``routing.commands``), so a
pass never sees half a change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from inbox.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from inbox.domain.events import AudienceChanged
from inbox.domain.ids import new_id
from inbox.domain.operators import Operator, Presence, Role
from routing.commands import run_command
from routing.context import Pass, RoutingContext
from routing.ports import RoutingTx
from routing.queues import parse_settings
from routing.records import QueueId, QueueRecord, TaskStatus
from routing.snapshot import queue_config, take_snapshot
from routing.views import queue_view

__all__ = ["OPERATOR_VISIBLE_SETTINGS", "list_queues", "save_queue"]

#: The queue settings a plain operator may read (``list_queues``).
OPERATOR_VISIBLE_SETTINGS = frozenset(
    {
        "skills",
        "strategy",
        "accept_timeout",
        "allow_pick",
        "response_timeout",
        "sla",
        "sla_business_hours",
        "visible_to",
    }
)


async def list_queues(ctx: RoutingContext, actor: Operator) -> list[dict[str, object]]:
    """Every queue (by name) with its settings and live numbers (waiting, longest wait,
    offers, assigned, members online, SLA breaches). A read; no routing lock."""

    async def work(tx: RoutingTx) -> list[dict[str, object]]:
        p = await take_snapshot(ctx, tx, write=False)
        out = []
        for qid, record in sorted(p.records.items(), key=lambda kv: kv[1].name):
            queue = p.queues.get(qid)
            waiting = [
                t for t in p.tasks.values() if t.status is TaskStatus.WAITING and t.queue_id == qid
            ]
            members = queue_config(p, queue).members if queue else ()
            view = queue_view(record)
            # What the console needs for this actor: whether they are a member, and
            # whether they may take its waiting conversations by hand (``pick``).
            member = actor.id in members
            view["you"] = {
                "member": member,
                "may_pick": actor.role.sees_everything
                or (member and queue is not None and queue.allow_pick),
            }
            if actor.role is Role.OPERATOR:
                # Operators see how a queue works, not who else is in it or where
                # alerts go.
                settings = view["settings"]
                assert isinstance(settings, dict)
                view["settings"] = {
                    k: v for k, v in settings.items() if k in OPERATOR_VISIBLE_SETTINGS
                }
            view["stats"] = {
                "waiting": len(waiting),
                "longest_wait_seconds": max(
                    ((p.now - t.entered_queue_at).total_seconds() for t in waiting), default=0.0
                ),
                "offers": sum(1 for t in waiting for _ in p.offers.get(t.conversation_id, [])),
                "assigned": sum(
                    1
                    for t in p.tasks.values()
                    if t.status is TaskStatus.ASSIGNED and t.queue_id == qid
                ),
                "members_online": sum(
                    1
                    for m in members
                    if m in p.operators and p.operators[m].presence is Presence.ONLINE
                ),
                "sla_breaches": sum(
                    1
                    for t in p.tasks.values()
                    if t.queue_id == qid
                    and (t.first_response_breached_at or t.resolution_breached_at)
                ),
            }
            out.append(view)
        return out

    return await ctx.read(work)


async def save_queue(
    ctx: RoutingContext,
    actor: Operator,
    name: str,
    settings: Mapping[str, object],
    *,
    create: bool,
    is_default: bool | None = None,
    new_name: str | None = None,
) -> dict[str, object]:
    """Admins and supervisors: create a queue, or update one (by id or name) with the
    given settings keys replacing the stored ones. Members may be given by login,
    overflow queues by name; both are stored as ids. One queue is always the default."""
    if actor.role is Role.OPERATOR:
        raise Forbidden("queues are managed by supervisors and admins")
    name = name.strip()
    if create and not 1 <= len(name) <= 100:
        raise InvalidInput("a queue name is 1..100 characters")

    async def work(tx: RoutingTx, p: Pass) -> dict[str, object]:
        existing = p.records.get(QueueId(name)) or next(
            (r for r in p.records.values() if r.name == name), None
        )
        if create and existing is not None:
            raise Conflict(f"a queue named {name!r} exists")
        if not create and existing is None:
            raise NotFound(f"no queue {name!r}")
        merged = dict(existing.settings) if existing is not None else {}
        merged.update(settings)
        merged = await _resolve_refs(tx, p, merged)
        if existing is None:
            record = QueueRecord(QueueId(new_id()), name, merged, p.now, p.now, bool(is_default))
        else:
            record = dataclasses.replace(existing, settings=merged, updated_at=p.now)
            if is_default is not None:
                record = dataclasses.replace(record, is_default=is_default)
        if new_name is not None:
            new_name_clean = new_name.strip()
            if not 1 <= len(new_name_clean) <= 100:
                raise InvalidInput("a queue name is 1..100 characters")
            if any(r.name == new_name_clean and r.id != record.id for r in p.records.values()):
                raise Conflict(f"a queue named {new_name_clean!r} exists")
            record = dataclasses.replace(record, name=new_name_clean)
        parse_settings(record)  # raises InvalidInput
        for step in record.settings.get("escalation") or []:
            if (
                isinstance(step, Mapping)
                and step.get("target") == "overflow"
                and step.get("queue") not in p.records
            ):
                raise InvalidInput(f"overflow queue {step.get('queue')!r} does not exist")
        off_hours = record.settings.get("off_hours_overflow")
        if off_hours is not None and off_hours not in p.records:
            raise InvalidInput(f"off_hours_overflow queue {off_hours!r} does not exist")
        if record.is_default:
            for other in p.records.values():
                if other.is_default and other.id != record.id:
                    await tx.routing.update_queue(
                        dataclasses.replace(other, is_default=False, updated_at=p.now)
                    )
        elif existing is not None and existing.is_default:
            raise InvalidInput("one queue must stay the default; make another one default")
        if existing is None:
            await tx.routing.add_queue(record)
        else:
            await tx.routing.update_queue(record)
        # Its visibility or members may have changed: every hub recomputes its sessions'.
        p.events.append(AudienceChanged(at=p.now))
        return queue_view(record)

    return await run_command(ctx, work)


async def _resolve_refs(tx: RoutingTx, p: Pass, settings: dict[str, Any]) -> dict[str, Any]:
    """Members by login or id → ids; overflow queues (escalation and off hours) by name
    or id → ids; channels must exist."""
    members = settings.get("members")
    if isinstance(members, list):
        by_login = {o.login: o.id for o in p.operators.values()}
        resolved = []
        for m in members:
            if not isinstance(m, str):
                raise InvalidInput("members must be operator logins or ids")
            if m in p.operators:
                resolved.append(m)
            elif m in by_login:
                resolved.append(by_login[m])
            else:
                raise InvalidInput(f"no operator {m!r}")
        settings["members"] = resolved
    channels = settings.get("channels")
    if isinstance(channels, list):
        known = {c.id for c in await tx.channels.list()}
        for c in channels:
            if c not in known:
                raise InvalidInput(f"no channel {c!r}")
    steps = settings.get("escalation")
    if isinstance(steps, list):
        fixed = []
        for step in steps:
            if isinstance(step, Mapping) and step.get("target") == "overflow":
                ref = step.get("queue")
                found = next((r.id for r in p.records.values() if ref in (r.id, r.name)), ref)
                step = {**step, "queue": found}
            fixed.append(step)
        settings["escalation"] = fixed
    off_hours = settings.get("off_hours_overflow")
    if isinstance(off_hours, str):
        settings["off_hours_overflow"] = next(
            (r.id for r in p.records.values() if off_hours in (r.id, r.name)), off_hours
        )
    return settings
