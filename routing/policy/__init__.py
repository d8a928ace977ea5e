"""The skill-based routing policy: pure decisions over an immutable snapshot.

No I/O, no clock, no database: the caller hands in the queue's configuration, the waiting
tasks, the operators' states and ``now``, and gets back one explained decision per task.
Persisting decisions, offers over the WebSocket and timers are the service's job (not built
yet). See ``docs/routing.md``.
"""

from routing.policy.escalation import ActiveStep, describe_step, next_step_at, step_in_force
from routing.policy.explain import (
    CandidateNote,
    Exclusion,
    Explanation,
    JsonValue,
    Score,
    from_json,
    to_json,
)
from routing.policy.model import (
    CAPACITY_EPSILON,
    DEFAULT_WEIGHTS,
    AnyMember,
    ChannelWeights,
    EscalationStep,
    EscalationTarget,
    LastOperator,
    OperatorState,
    OverflowQueue,
    QueueConfig,
    QueueId,
    SkillAtLeast,
    SlaTarget,
    Strategy,
    TaskState,
    weight_of,
)
from routing.policy.offers import on_accept, on_decline, on_timeout
from routing.policy.priority import (
    CustomerFacts,
    HasTag,
    PriorityRule,
    ReturningCustomer,
    UnpaidOrder,
    priority_of,
)
from routing.policy.selection import (
    Assign,
    Decision,
    Offer,
    Overflow,
    Wait,
    WaitReason,
    decide,
    decide_until_full,
    eligible_operators,
    service_order,
)

__all__ = [
    "CAPACITY_EPSILON",
    "DEFAULT_WEIGHTS",
    "ActiveStep",
    "AnyMember",
    "Assign",
    "CandidateNote",
    "ChannelWeights",
    "CustomerFacts",
    "Decision",
    "EscalationStep",
    "EscalationTarget",
    "Exclusion",
    "Explanation",
    "HasTag",
    "JsonValue",
    "LastOperator",
    "Offer",
    "OperatorState",
    "Overflow",
    "OverflowQueue",
    "PriorityRule",
    "QueueConfig",
    "QueueId",
    "ReturningCustomer",
    "Score",
    "SkillAtLeast",
    "SlaTarget",
    "Strategy",
    "TaskState",
    "UnpaidOrder",
    "Wait",
    "WaitReason",
    "decide",
    "decide_until_full",
    "describe_step",
    "eligible_operators",
    "from_json",
    "next_step_at",
    "on_accept",
    "on_decline",
    "on_timeout",
    "priority_of",
    "service_order",
    "step_in_force",
    "to_json",
    "weight_of",
]
