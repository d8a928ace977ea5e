"""Offers: a conversation offered to operators who accept it within a timeout.

An offer reserves its ``weight`` of the operator's capacity until it is accepted, declined,
withdrawn (the conversation was taken, moved or resolved, or the operator left) or expires;
each of those ends it with an ``OfferChanged`` event to the operator. Expired and withdrawn
offers count as refusals, so the next offer goes to someone else. Accepting and declining
are console commands (``routing.commands``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from inbox.domain.conversations import Conversation
from inbox.domain.ids import ConversationId, OperatorId
from inbox.domain.operators import Operator, Presence
from routing.context import Pass, RoutingContext
from routing.events import OfferChanged
from routing.policy import Offer
from routing.ports import RoutingTx
from routing.records import OfferRecord, RoutingTask
from routing.tasks import put_task, record_decision
from routing.views import offer_view, stored_explanation

__all__ = ["expire_offers", "list_offers_for", "make_offers", "offer_event", "withdraw_offers"]


def offer_event(
    p: Pass, conv: Conversation, offer: OfferRecord, state: Any, reason: str = ""
) -> OfferChanged:
    """The event that tells the offered operator the offer is in ``state``."""
    queue = p.queues.get(offer.queue_id)
    return OfferChanged(
        conversation=conv,
        operator_id=offer.operator_id,
        state=state,
        queue_id=offer.queue_id,
        queue_name=queue.name if queue else "",
        offered_at=offer.offered_at,
        expires_at=offer.expires_at,
        reason=reason,
    )


async def withdraw_offers(
    tx: RoutingTx,
    p: Pass,
    conv: Conversation | None,
    reason: str,
    *,
    conversation_id: ConversationId | None = None,
    keep: OperatorId | None = None,
) -> None:
    """End every pending offer of the conversation (but ``keep``'s), release their
    capacity and tell the operators (when the conversation is still there to show)."""
    cid = conv.id if conv is not None else conversation_id
    assert cid is not None
    remaining = []
    for offer in p.offers.pop(cid, []):
        if offer.operator_id == keep:
            remaining.append(offer)
            continue
        await tx.routing.delete_offers(cid, offer.operator_id)
        p.loads[offer.operator_id] -= offer.weight
        if conv is not None:
            p.events.append(offer_event(p, conv, offer, "withdrawn", reason))
    if remaining:
        p.offers[cid] = remaining


async def make_offers(
    ctx: RoutingContext, tx: RoutingTx, p: Pass, task: RoutingTask, d: Offer
) -> None:
    """Offer the task to the policy's operators who are still online under their row
    locks; each offer reserves the conversation's weight until ``d.expires_at``."""
    conv = p.convs.get(task.conversation_id)
    if conv is None:
        return
    weight = ctx.weight(task.channel_kind)
    made = []
    for state in d.operators:
        operator = await tx.operators.get_for_update(state.id)
        if operator is None or operator.disabled or operator.presence is not Presence.ONLINE:
            continue
        offer = OfferRecord(conv.id, state.id, task.queue_id, p.now, d.expires_at, weight)
        await tx.routing.add_offer(offer)
        updated = dataclasses.replace(operator, last_assigned_at=p.now)
        await tx.operators.update(updated)
        p.operators[operator.id] = updated
        p.offers.setdefault(conv.id, []).append(offer)
        p.loads[state.id] += weight
        p.events.append(offer_event(p, conv, offer, "created"))
        made.append(state.id)
    if made:
        await record_decision(tx, p, task, "offer", stored_explanation(d.explanation))
        p.wake_at(d.expires_at)


async def expire_offers(tx: RoutingTx, p: Pass) -> None:
    """End offers past their timeout and offers held by operators who are no longer
    online; both count as the operator's refusal."""
    for cid, offers in list(p.offers.items()):
        conv = p.convs.get(cid)
        task = p.tasks.get(cid)
        for offer in list(offers):
            operator = p.operators.get(offer.operator_id)
            gone = operator is None or operator.disabled or operator.presence is not Presence.ONLINE
            if offer.expires_at > p.now and not gone:
                p.wake_at(offer.expires_at)
                continue
            await tx.routing.delete_offers(cid, offer.operator_id)
            offers.remove(offer)
            p.loads[offer.operator_id] -= offer.weight
            state = "expired" if offer.expires_at <= p.now else "withdrawn"
            if conv is not None:
                p.events.append(
                    offer_event(p, conv, offer, state, "" if state == "expired" else "away")
                )
            if task is not None:
                task = await put_task(
                    tx,
                    p,
                    dataclasses.replace(task, declined_by=task.declined_by | {offer.operator_id}),
                )
                await record_decision(
                    tx,
                    p,
                    task,
                    "timeout" if state == "expired" else "withdrawn",
                    {
                        "operator": offer.operator_id,
                        "offered_at": offer.offered_at.isoformat(),
                        "expires_at": offer.expires_at.isoformat(),
                        "reason": "the offer was not accepted in time"
                        if state == "expired"
                        else "the operator is no longer online",
                    },
                )
        if not offers:
            p.offers.pop(cid, None)


async def list_offers_for(ctx: RoutingContext, actor: Operator) -> list[dict[str, object]]:
    """The actor's pending offers as JSON views (a read; no routing lock)."""

    async def work(tx: RoutingTx) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        now = ctx.now()
        queues = {q.id: q for q in await tx.routing.list_queues()}
        for offer in await tx.routing.list_offers(operator_id=actor.id):
            if offer.expires_at <= now:
                continue
            conv = await tx.conversations.get(offer.conversation_id)
            if conv is None:
                continue
            q = queues.get(offer.queue_id)
            out.append(
                offer_view(
                    conv,
                    offer.queue_id,
                    q.name if q else "",
                    offer.offered_at,
                    offer.expires_at,
                )
            )
        return out

    return await ctx.read(work)
