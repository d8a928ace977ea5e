"""Which escalation step is in force for a task, and when the next one starts.

Steps are counted from the moment the task entered the queue, not from the previous step,
so a restart or a late timer never stretches a step: the step in force is a function of
``now - entered_queue_at`` alone (plus one rule: a :class:`LastOperator` step is skipped
for a task that has no last operator, so nobody waits for an operator who does not exist).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from routing.policy.model import (
    AnyMember,
    EscalationStep,
    LastOperator,
    OverflowQueue,
    QueueConfig,
    SkillAtLeast,
    TaskState,
)

__all__ = ["ActiveStep", "describe_step", "next_step_at", "step_in_force"]


@dataclass(frozen=True, slots=True)
class ActiveStep:
    """The step in force: its index in ``queue.steps``, the step, and when the following
    step takes over (``None`` for the last step)."""

    index: int
    step: EscalationStep
    next_at: datetime | None

    @property
    def description(self) -> str:
        return describe_step(self.index, self.step)


def _applies(step: EscalationStep, task: TaskState) -> bool:
    return not (isinstance(step.target, LastOperator) and task.last_operator_id is None)


def step_in_force(queue: QueueConfig, task: TaskState, now: datetime) -> ActiveStep:
    """The step in force for ``task`` at ``now``.

    The latest step whose ``after_seconds`` has passed; a step that does not apply to the
    task (``LastOperator`` with no last operator) hands over to the next step at once. If
    no later step applies, the inapplicable one stays in force (and finds no candidate).
    Before ``entered_queue_at`` (clock skew) the first step is in force.
    """
    steps = queue.steps
    elapsed = (now - task.entered_queue_at).total_seconds()
    index = 0
    for i, step in enumerate(steps):
        if step.after_seconds <= elapsed:
            index = i
        else:
            break
    while index + 1 < len(steps) and not _applies(steps[index], task):
        index += 1
    following = index + 1
    next_at = (
        task.entered_queue_at + timedelta(seconds=steps[following].after_seconds)
        if following < len(steps)
        else None
    )
    return ActiveStep(index, steps[index], next_at)


def next_step_at(queue: QueueConfig, task: TaskState, now: datetime) -> datetime | None:
    """When the step after the one in force starts (a timer service wakes then to run a
    pass); ``None`` when the last step is in force. May be in the past for a task whose
    in-force step was reached early by skipping."""
    return step_in_force(queue, task, now).next_at


def describe_step(index: int, step: EscalationStep) -> str:
    """A one-line, human-readable description, e.g. ``"step 1 (from 60s): operators with
    lenses>=3"``."""
    target = step.target
    match target:
        case LastOperator():
            what = "the operator who last served this customer"
        case SkillAtLeast(skills=skills):
            what = "operators with " + ", ".join(
                f"{name}>={level}" for name, level in sorted(skills.items())
            )
        case AnyMember():
            what = "any member of the queue"
        case OverflowQueue(queue_id=queue_id):
            what = f"overflow to queue {queue_id}"
    return f"step {index} (from {step.after_seconds:g}s): {what}"
