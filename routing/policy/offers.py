"""What an offer's answer does to the task: pure updates the caller persists.

An offer reserves the task's weight on each operator offered it (``OperatorState.load``
counts pending offers), so the caller releases that reservation — ``operator.with_load(
-weight)`` — for every operator whose offer ends without an assignment: a decline, a
timeout, or another operator winning a ring-all offer. An operator who goes away or offline
with an offer pending should be treated as a timeout.
"""

from __future__ import annotations

import dataclasses

from inbox.domain.ids import OperatorId
from routing.policy.model import TaskState

__all__ = ["on_accept", "on_decline", "on_timeout"]


def _refused(task: TaskState, operator_id: OperatorId) -> TaskState:
    if operator_id not in task.offered_to:
        raise ValueError(f"operator {operator_id} holds no offer for {task.conversation_id}")
    return dataclasses.replace(
        task,
        offered_to=task.offered_to - {operator_id},
        declined_by=task.declined_by | {operator_id},
    )


def on_decline(task: TaskState, operator_id: OperatorId) -> TaskState:
    """The task after ``operator_id`` declined its offer: the offer is gone and the
    operator is never offered this task again in this queue (the next pass offers it to
    the next operator). Raises ValueError if the operator held no offer for it."""
    return _refused(task, operator_id)


def on_timeout(task: TaskState, operator_id: OperatorId) -> TaskState:
    """The task after ``operator_id``'s offer expired unanswered: treated like a decline
    (an operator who does not answer is likely not at the console). Raises ValueError if
    the operator held no offer for it."""
    return _refused(task, operator_id)


def on_accept(task: TaskState, operator_id: OperatorId) -> frozenset[OperatorId]:
    """``operator_id`` accepted: the task is theirs (its reserved weight becomes their
    load) and the result is the other operators whose pending offers are withdrawn (their
    reservations to release). Raises ValueError if the operator held no offer for it, e.g.
    a late accept after a timeout or after another operator won a ring-all."""
    if operator_id not in task.offered_to:
        raise ValueError(f"operator {operator_id} holds no offer for {task.conversation_id}")
    return task.offered_to - {operator_id}
