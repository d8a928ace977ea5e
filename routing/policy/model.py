"""The routing vocabulary: queues, escalation steps, operators' and tasks' routing state.

Everything here is an immutable value: a routing pass takes a snapshot of these and returns
decisions (:mod:`routing.policy.selection`). Nothing reads the wall clock; times are
timezone-aware UTC datetimes handed in by the caller. See ``docs/routing.md``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from inbox.domain.channels import ChannelKind
from inbox.domain.ids import ChannelId, ConversationId, OperatorId
from inbox.domain.operators import Presence
from routing.records import QueueId

__all__ = [
    "CAPACITY_EPSILON",
    "DEFAULT_WEIGHTS",
    "AnyMember",
    "ChannelWeights",
    "EscalationStep",
    "EscalationTarget",
    "LastOperator",
    "OperatorState",
    "OverflowQueue",
    "QueueConfig",
    "QueueId",
    "SkillAtLeast",
    "SlaTarget",
    "Strategy",
    "TaskState",
    "weight_of",
]

#: Loads are sums of channel weights (1.0, 0.5, ...). A tolerance keeps a sum such as
#: 0.1 + 0.2 from being refused by a capacity of 0.3 through binary rounding.
CAPACITY_EPSILON = 1e-9

ChannelWeights = Mapping[ChannelKind, float]

#: What one open conversation costs an operator's capacity, per channel kind. A live chat
#: needs the operator's attention now; an e-mail can wait a few minutes between replies.
DEFAULT_WEIGHTS: ChannelWeights = MappingProxyType(
    {
        ChannelKind("webchat"): 1.0,
        ChannelKind("telegram"): 1.0,
        ChannelKind("vk"): 1.0,
        ChannelKind("whatsapp"): 1.0,
        ChannelKind("viber"): 1.0,
        ChannelKind("email"): 0.5,
    }
)


def weight_of(kind: ChannelKind, weights: ChannelWeights = DEFAULT_WEIGHTS) -> float:
    """The capacity one conversation on ``kind`` takes; 1.0 for a kind missing from
    ``weights``. Raises ValueError for a weight that is not positive (a free conversation
    would let one operator take unlimited work)."""
    w = weights.get(kind, 1.0)
    if not w > 0:
        raise ValueError(f"channel weight for {kind} must be positive, got {w!r}")
    return w


class Strategy(StrEnum):
    """How a queue chooses among the eligible operators (``docs/routing.md``)."""

    #: Lowest ``load / capacity``; ties by longest idle, then by id.
    LEAST_LOADED = "least_loaded"
    #: Longest since the last assignment (never assigned first); Bitrix24's "evenly".
    LONGEST_IDLE = "longest_idle"
    #: The next member in the queue's fixed order after the one who had the last turn.
    ROUND_ROBIN = "round_robin"
    #: Offer to every eligible operator at once; the first to accept wins.
    RING_ALL = "ring_all"


# -- escalation targets ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LastOperator:
    """Only the operator who last served this customer (``TaskState.last_operator_id``).
    A task with no such operator skips this step at once."""


@dataclass(frozen=True, slots=True)
class SkillAtLeast:
    """Members who have every listed skill at the given level or higher (on top of the
    queue's own required skills)."""

    skills: Mapping[str, int]

    def __post_init__(self) -> None:
        if not self.skills:
            raise ValueError("skill_at_least needs at least one skill")
        for name, level in self.skills.items():
            if not 1 <= level <= 10:
                raise ValueError(f"skill level for {name!r} must be 1..10, got {level}")


@dataclass(frozen=True, slots=True)
class AnyMember:
    """Any member of the queue who has the queue's required skills."""


@dataclass(frozen=True, slots=True)
class OverflowQueue:
    """Move the task to another queue (where its escalation starts again)."""

    queue_id: QueueId


EscalationTarget = LastOperator | SkillAtLeast | AnyMember | OverflowQueue


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """From ``after_seconds`` after the task entered the queue until the next step's
    ``after_seconds``, only operators matching ``target`` are eligible (TaskRouter-style
    workflow steps)."""

    after_seconds: float
    target: EscalationTarget

    def __post_init__(self) -> None:
        if not self.after_seconds >= 0:
            raise ValueError(f"after_seconds must be >= 0, got {self.after_seconds!r}")


@dataclass(frozen=True, slots=True)
class SlaTarget:
    """Seconds from entering the queue to the first operator reply and to resolution;
    ``None`` means no target."""

    first_response_seconds: float | None = None
    resolution_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """One queue as a supervisor configures it.

    ``members`` is an ordered tuple: its order is the round-robin order. ``escalation``
    must start at ``after_seconds == 0`` and strictly increase; an empty tuple means one
    step, :class:`AnyMember`, from the start. ``accept_timeout_seconds`` of ``None`` means
    the queue assigns directly instead of offering (ring-all always offers, so it needs
    one). ``sla`` maps a priority to its targets; :meth:`sla_for` picks the nearest one at
    or below a task's priority. Raises ValueError for an inconsistent configuration.
    """

    id: QueueId
    name: str
    channel_ids: frozenset[ChannelId] = frozenset()
    members: tuple[OperatorId, ...] = ()
    required_skills: Mapping[str, int] = field(default_factory=dict)
    strategy: Strategy = Strategy.LEAST_LOADED
    accept_timeout_seconds: float | None = None
    escalation: tuple[EscalationStep, ...] = ()
    sla: Mapping[int, SlaTarget] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(set(self.members)) != len(self.members):
            raise ValueError(f"queue {self.id}: a member is listed twice")
        for name, level in self.required_skills.items():
            if not 1 <= level <= 10:
                raise ValueError(f"queue {self.id}: level for {name!r} must be 1..10")
        if self.accept_timeout_seconds is not None and not self.accept_timeout_seconds > 0:
            raise ValueError(f"queue {self.id}: accept timeout must be positive")
        if self.strategy is Strategy.RING_ALL and self.accept_timeout_seconds is None:
            raise ValueError(f"queue {self.id}: ring-all offers, so it needs an accept timeout")
        if self.escalation and self.escalation[0].after_seconds != 0:
            raise ValueError(f"queue {self.id}: the first escalation step must start at 0")
        for a, b in zip(self.escalation, self.escalation[1:], strict=False):
            if not b.after_seconds > a.after_seconds:
                raise ValueError(f"queue {self.id}: escalation steps must strictly increase")
        for step in self.escalation:
            if isinstance(step.target, OverflowQueue) and step.target.queue_id == self.id:
                raise ValueError(f"queue {self.id}: cannot overflow into itself")

    @property
    def steps(self) -> tuple[EscalationStep, ...]:
        """The escalation steps in force, with the implicit default for an empty list."""
        return self.escalation or _DEFAULT_STEPS

    @property
    def offers(self) -> bool:
        """True when the queue offers with an accept timeout instead of assigning."""
        return self.accept_timeout_seconds is not None

    def sla_for(self, priority: int) -> SlaTarget | None:
        """The targets for the highest configured priority at or below ``priority``."""
        eligible = [p for p in self.sla if p <= priority]
        return self.sla[max(eligible)] if eligible else None


_DEFAULT_STEPS = (EscalationStep(0, AnyMember()),)


@dataclass(frozen=True, slots=True)
class OperatorState:
    """What routing knows about one operator at the moment of a pass.

    ``load`` is the weighted sum of the operator's open conversations **plus pending offers
    to them** (an offer reserves its weight, so accepting can never exceed ``capacity``).
    ``last_assigned_at`` is the last assignment or offer (recording offers too makes
    longest-idle spread pending offers). ``rr_turn`` is the queue's round-robin counter at
    the operator's last round-robin turn in this queue (0: never); the member with the
    highest value had the last turn.
    """

    id: OperatorId
    skills: Mapping[str, int] = field(default_factory=dict)
    capacity: float = 5.0
    load: float = 0.0
    presence: Presence = Presence.OFFLINE
    last_assigned_at: datetime | None = None
    rr_turn: int = 0

    def has_room_for(self, weight: float) -> bool:
        """Whether a conversation of ``weight`` fits (within :data:`CAPACITY_EPSILON`)."""
        return self.load + weight <= self.capacity + CAPACITY_EPSILON

    def with_load(self, delta: float) -> OperatorState:
        """This operator with ``delta`` added to (or, negative, released from) the load;
        never below zero."""
        return dataclasses.replace(self, load=max(0.0, self.load + delta))


@dataclass(frozen=True, slots=True)
class TaskState:
    """One conversation waiting in a queue.

    ``entered_queue_at`` starts the escalation clock (an overflow restarts it in the new
    queue). ``declined_by`` holds operators who declined the offer or let it time out: they
    are never offered this task again in this queue. ``offered_to`` holds operators with a
    pending offer for it.
    """

    conversation_id: ConversationId
    queue_id: QueueId
    channel_kind: ChannelKind
    entered_queue_at: datetime
    priority: int = 0
    last_operator_id: OperatorId | None = None
    declined_by: frozenset[OperatorId] = frozenset()
    offered_to: frozenset[OperatorId] = frozenset()

    def moved_to(self, queue_id: QueueId, now: datetime) -> TaskState:
        """The task after overflowing into ``queue_id`` at ``now``: its escalation starts
        again there and nobody holds an offer for it; refusals are forgotten, since the
        new queue has other members and other rules."""
        return dataclasses.replace(
            self,
            queue_id=queue_id,
            entered_queue_at=now,
            declined_by=frozenset(),
            offered_to=frozenset(),
        )
