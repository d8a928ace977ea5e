"""Small builders for routing policy tests: defaults for everything a case does not vary."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from inbox.domain.channels import ChannelKind
from inbox.domain.ids import ConversationId, OperatorId
from inbox.domain.operators import Presence
from routing.policy import (
    EscalationStep,
    OperatorState,
    QueueConfig,
    QueueId,
    Strategy,
    TaskState,
)

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
WEBCHAT = ChannelKind("webchat")
Q = QueueId("q")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def op(
    name: str,
    *,
    skills: Mapping[str, int] | None = None,
    cap: float = 3.0,
    load: float = 0.0,
    presence: Presence = Presence.ONLINE,
    last: datetime | None = None,
    rr: int = 0,
) -> OperatorState:
    return OperatorState(OperatorId(name), dict(skills or {}), cap, load, presence, last, rr)


def task(
    name: str,
    *,
    kind: ChannelKind = WEBCHAT,
    entered: datetime = T0,
    priority: int = 0,
    last_op: str | None = None,
    declined: Iterable[str] = (),
    offered: Iterable[str] = (),
    queue: QueueId = Q,
) -> TaskState:
    return TaskState(
        ConversationId(name),
        queue,
        kind,
        entered,
        priority,
        None if last_op is None else OperatorId(last_op),
        frozenset(OperatorId(d) for d in declined),
        frozenset(OperatorId(o) for o in offered),
    )


def queue(
    members: Iterable[str],
    *,
    strategy: Strategy = Strategy.LEAST_LOADED,
    timeout: float | None = None,
    steps: Iterable[EscalationStep] = (),
    skills: Mapping[str, int] | None = None,
    qid: QueueId = Q,
) -> QueueConfig:
    return QueueConfig(
        id=qid,
        name=str(qid),
        members=tuple(OperatorId(m) for m in members),
        required_skills=dict(skills or {}),
        strategy=strategy,
        accept_timeout_seconds=timeout,
        escalation=tuple(steps),
    )
