"""JSON views of routing state for the console and the API (queues, tasks, offers), and
the explanation as the decision log stores it."""

from __future__ import annotations

import dataclasses
import itertools
from collections import defaultdict
from datetime import datetime
from typing import Any

from inbox.domain.conversations import Conversation
from routing.policy import CandidateNote, Explanation, to_json
from routing.records import QueueRecord, RoutingTask

__all__ = ["STORED_CANDIDATES", "offer_view", "queue_view", "stored_explanation", "task_view"]


#: An explanation stores every candidate up to this many; above it, the winners, the first
#: eligible ones and a sample of each exclusion reason, with the counts of all reasons.
STORED_CANDIDATES = 30


def stored_explanation(explanation: Explanation) -> dict[str, Any]:
    """The explanation as stored in the decision log. A queue of 500 members would store
    500 notes per decision (tens of kilobytes, on the hot path); a supervisor needs the
    winner, the runners-up and why the others were out, so a large list is cut to
    :data:`STORED_CANDIDATES` notes plus ``excluded_counts`` and ``candidates_total``."""
    notes = explanation.candidates
    if len(notes) <= STORED_CANDIDATES:
        return dict(to_json(explanation))
    winners = set(explanation.winners)
    kept: list[CandidateNote] = [n for n in notes if n.operator_id in winners]
    eligible = [n for n in notes if n.score is not None and n.operator_id not in winners]
    kept.extend(eligible[: STORED_CANDIDATES // 2])
    by_reason: dict[str, list[CandidateNote]] = defaultdict(list)
    for n in notes:
        if n.excluded is not None:
            by_reason[str(n.excluded)].append(n)
    samples = list(itertools.chain.from_iterable(itertools.zip_longest(*by_reason.values())))
    kept.extend(n for n in samples if n is not None and len(kept) < STORED_CANDIDATES)
    doc = dict(to_json(dataclasses.replace(explanation, candidates=tuple(kept))))
    doc["candidates_total"] = len(notes)
    doc["eligible_total"] = sum(1 for n in notes if n.score is not None)
    doc["excluded_counts"] = {reason: len(ns) for reason, ns in sorted(by_reason.items())}
    return doc


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def queue_view(record: QueueRecord) -> dict[str, object]:
    return {
        "id": record.id,
        "name": record.name,
        "is_default": record.is_default,
        "settings": dict(record.settings),
        "created_at": record.created_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
    }


def task_view(task: RoutingTask) -> dict[str, object]:
    return {
        "queue_id": task.queue_id,
        "status": str(task.status),
        "priority": task.priority,
        "started_at": task.started_at.isoformat(),
        "entered_queue_at": task.entered_queue_at.isoformat(),
        "assignee_id": task.assignee_id,
        "last_operator_id": task.last_operator_id,
        "declined_by": sorted(task.declined_by),
        "extra_skills": dict(task.extra_skills),
        "awaiting_reply_since": _iso(task.awaiting_reply_since),
        "first_response_at": _iso(task.first_response_at),
        "first_response_due": _iso(task.first_response_due),
        "resolution_due": _iso(task.resolution_due),
        "first_response_breached_at": _iso(task.first_response_breached_at),
        "resolution_breached_at": _iso(task.resolution_breached_at),
        "sla_met": task.sla_met,
        "position_sent": task.position_sent,
    }


def offer_view(
    conversation: Conversation,
    queue_id: str,
    queue_name: str,
    offered_at: datetime,
    expires_at: datetime,
) -> dict[str, Any]:
    """A pending offer as the offered operator sees it (``offer.created``, ``/offers``)."""
    return {
        "conversation_id": conversation.id,
        "queue_id": queue_id,
        "queue_name": queue_name,
        "offered_at": offered_at.isoformat(),
        "expires_at": expires_at.isoformat(),
        "contact_name": conversation.contact_name,
        "channel_kind": conversation.channel_kind,
        "preview": conversation.preview,
    }
