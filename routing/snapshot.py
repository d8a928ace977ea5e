"""The state a unit of work under the routing lock starts from, the policy's view of it,
and the queue state it saves at the end.

:func:`take_snapshot` reads queues, operators, routable conversations, tasks and offers
into a :class:`~routing.context.Pass`; :func:`resume_snapshot` builds the same from the
picture the last pass kept (:mod:`routing.kept`) and what changed since;
:func:`queue_config`, :func:`operator_states` and :func:`task_state` turn that snapshot
into the inputs of the pure policy
(:func:`routing.policy.decide`). All of them read only what the pass carries, so a later
step of the same pass sees every earlier decision.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict
from collections.abc import Mapping

from inbox.domain.channels import ChannelKind
from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.errors import InvalidInput
from inbox.domain.ids import ConversationId, OperatorId, new_id
from inbox.domain.operators import Presence
from routing.context import Pass, RoutingContext
from routing.kept import KeptState, Marks
from routing.policy import OperatorState, QueueConfig, TaskState
from routing.ports import RoutingTx
from routing.queues import QueueSettings, parse_settings
from routing.records import OfferRecord, QueueId, QueueRecord, RoutingTask, TaskStatus

__all__ = [
    "DEFAULT_QUEUE_NAME",
    "kept_state",
    "nothing_to_do",
    "operator_states",
    "queue_config",
    "queue_for",
    "resume_snapshot",
    "save_queue_state",
    "take_snapshot",
    "task_state",
]

logger = logging.getLogger(__name__)

DEFAULT_QUEUE_NAME = "Default"


async def take_snapshot(ctx: RoutingContext, tx: RoutingTx, *, write: bool = True) -> Pass:
    """Everything routing decides on. ``write``: inside a routing transaction, which
    creates the default queue if there is none yet; a read leaves it missing."""
    now = ctx.now()
    records = {r.id: r for r in await tx.routing.list_queues()}
    default = next((r.id for r in records.values() if r.is_default), None)
    if default is None and not write:
        default = QueueId("")
    elif default is None:
        record = QueueRecord(QueueId(new_id()), DEFAULT_QUEUE_NAME, {}, now, now, is_default=True)
        if any(r.name == DEFAULT_QUEUE_NAME for r in records.values()):
            record = dataclasses.replace(record, name=f"{DEFAULT_QUEUE_NAME} {record.id[:6]}")
        await tx.routing.add_queue(record)
        records[record.id] = record
        default = record.id
    queues: dict[QueueId, QueueSettings] = {}
    for record in records.values():
        try:
            queues[record.id] = parse_settings(record)
        except InvalidInput as exc:
            if write:
                logger.error("queue %s has bad settings and is skipped: %s", record.name, exc)
    if write and default not in queues:
        queues[default] = parse_settings(dataclasses.replace(records[default], settings={}))
    operators = {o.id: o for o in await tx.operators.list()}
    convs = {c.id: c for c in await tx.routing.list_routable()}
    tasks = {
        t.conversation_id: t
        for t in await tx.routing.list_tasks((TaskStatus.WAITING, TaskStatus.ASSIGNED))
    }
    offers: dict[ConversationId, list[OfferRecord]] = defaultdict(list)
    for offer in await tx.routing.list_offers():
        offers[offer.conversation_id].append(offer)
    return Pass(
        now,
        queues,
        records,
        default,
        convs,
        tasks,
        offers,
        operators,
        _loads(ctx, convs, offers),
        hours=ctx.hours,
        unpaid=ctx.unpaid,
    )


async def resume_snapshot(
    ctx: RoutingContext, tx: RoutingTx, kept: KeptState, marks: Marks
) -> Pass:
    """The kept picture (:mod:`routing.kept`) with the marked conversations and operators
    read again: what :func:`take_snapshot` would read, for the cost of the changes."""
    convs = dict(kept.convs)
    if marks.conversations:
        ids = sorted(marks.conversations)
        fresh = {c.id: c for c in await tx.routing.list_routable(ids)}
        for cid in ids:
            conv = fresh.get(cid)
            if conv is None:
                convs.pop(cid, None)  # resolved, or handed to the bot
            else:
                convs[cid] = conv
    operators = dict(kept.operators)
    for oid in sorted(marks.operators):
        op = await tx.operators.get(oid)
        if op is None:
            operators.pop(oid, None)
        else:
            operators[oid] = op
    offers = kept.copy_offers()
    return Pass(
        ctx.now(),
        dict(kept.queues),
        dict(kept.records),
        kept.default,
        convs,
        dict(kept.tasks),
        offers,
        operators,
        _loads(ctx, convs, offers),
        hours=ctx.hours,
        unpaid=ctx.unpaid,
    )


def kept_state(p: Pass, version: int, read_at: float) -> KeptState:
    """What a committed unit of work leaves for the next pass to start from."""
    return KeptState(
        version=version,
        read_at=read_at,
        queues=dict(p.queues),
        records=dict(p.records),
        default=p.default,
        convs=dict(p.convs),
        tasks=dict(p.tasks),
        offers={cid: list(o) for cid, o in p.offers.items() if o},
        operators=dict(p.operators),
        wake=p.wake,
        open_queues=frozenset(q for q in p.queues if p.is_open(q)),
        more=p.more,
    )


def nothing_to_do(ctx: RoutingContext, kept: KeptState) -> bool:
    """Whether a pass with no marks and no new replies may end at once: no deadline of
    the kept picture has come and the same queues are open (routing.kept)."""
    now = ctx.now()
    if kept.more or (kept.wake is not None and kept.wake <= now):
        return False
    hours = ctx.hours
    if hours is None:
        return True
    return frozenset(q for q in kept.queues if hours.is_open(q, now)) == kept.open_queues


def _loads(
    ctx: RoutingContext,
    convs: Mapping[ConversationId, Conversation],
    offers: Mapping[ConversationId, list[OfferRecord]],
) -> defaultdict[OperatorId, float]:
    """Each operator's load: the weights of their assigned conversations and of the
    offers that reserve their capacity."""
    loads: defaultdict[OperatorId, float] = defaultdict(float)
    for c in convs.values():
        if c.status is ConversationStatus.ASSIGNED and c.assignee_id is not None:
            loads[c.assignee_id] += ctx.weight(c.channel_kind)
    for offer_list in offers.values():
        for offer in offer_list:
            loads[offer.operator_id] += offer.weight
    return loads


async def save_queue_state(tx: RoutingTx, p: Pass) -> None:
    """Write the queues whose state (round-robin turns, handling time) the unit changed."""
    for qid in p.changed_queues:
        record = p.records[qid]
        await tx.routing.update_queue(dataclasses.replace(record, updated_at=p.now))


def queue_for(p: Pass, conversation: Conversation) -> QueueId:
    """The first queue (by name) that lists the conversation's channel, else the default."""
    for qid, q in sorted(p.queues.items(), key=lambda kv: kv[1].name):
        if conversation.channel_id in q.config.channel_ids:
            return qid
    return p.default


def queue_config(p: Pass, queue: QueueSettings) -> QueueConfig:
    """The queue's policy configuration; a queue with no members lists every operator
    (by login), so a fresh install routes to everyone."""
    config = queue.config
    if not config.members:
        members = tuple(
            o.id for o in sorted(p.operators.values(), key=lambda o: o.login) if not o.disabled
        )
        config = dataclasses.replace(config, members=members)
    return config


def operator_states(p: Pass, record: QueueRecord | None) -> dict[OperatorId, OperatorState]:
    """Every operator as the policy sees them for this queue (its round-robin turns)."""
    turns: Mapping[str, int] = (record.state.get("rr") or {}) if record else {}
    states = {}
    for op in p.operators.values():
        states[op.id] = OperatorState(
            id=op.id,
            skills=op.skills,
            capacity=float(op.capacity),
            load=max(0.0, p.loads.get(op.id, 0.0)),
            presence=Presence.OFFLINE if op.disabled else op.presence,
            last_assigned_at=op.last_assigned_at,
            rr_turn=int(turns.get(op.id, 0)),
        )
    return states


def task_state(p: Pass, task: RoutingTask) -> TaskState:
    """The task as the policy sees it, with the offers pending in this pass."""
    kind = ChannelKind(task.channel_kind)
    return TaskState(
        conversation_id=task.conversation_id,
        queue_id=task.queue_id,
        channel_kind=kind,
        entered_queue_at=task.entered_queue_at,
        priority=task.priority,
        last_operator_id=task.last_operator_id,
        declined_by=task.declined_by,
        offered_to=frozenset(o.operator_id for o in p.offers.get(task.conversation_id, [])),
    )
