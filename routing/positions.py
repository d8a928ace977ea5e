"""Queue positions: telling waiting customers their place and the expected wait.

A queue with ``position.interval`` set sends each waiting customer a system message
``first_after`` seconds after they started waiting, then again every ``interval`` seconds
while their place changes. The wait is estimated from the place, the queue's running
average handling time and the capacity of its members online, plus the time until a
closed queue opens.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from inbox.domain.operators import Presence
from inbox.usecases import write_system_message
from routing.context import DEFAULT_HANDLE_SECONDS, Pass
from routing.policy import service_order
from routing.ports import RoutingTx
from routing.queues import position_text
from routing.records import TaskStatus
from routing.snapshot import queue_config, task_state
from routing.tasks import put_task

__all__ = ["send_positions"]


async def send_positions(tx: RoutingTx, p: Pass) -> None:
    """Tell waiting customers their place and the expected wait, at most every
    ``interval`` seconds and only when the place changed."""
    for qid, queue in p.queues.items():
        settings = queue.position
        if settings.interval is None:
            continue
        waiting = [
            task_state(p, t)
            for t in p.tasks.values()
            if t.status is TaskStatus.WAITING and t.queue_id == qid
        ]
        if not waiting:
            continue
        record = p.records.get(qid)
        handle = float(
            (record.state if record else {}).get("handle_seconds", DEFAULT_HANDLE_SECONDS)
        )
        config = queue_config(p, queue)
        online = sum(
            float(p.operators[m].capacity)
            for m in config.members
            if m in p.operators
            and p.operators[m].presence is Presence.ONLINE
            and not p.operators[m].disabled
        )
        for index, ts in enumerate(service_order(waiting)):
            task = p.tasks[ts.conversation_id]
            position = index + 1
            first_at = task.started_at + timedelta(seconds=settings.first_after)
            if task.position_sent_at is None:
                due = first_at
            elif position != task.position_sent:
                due = task.position_sent_at + timedelta(seconds=settings.interval)
            else:
                continue
            if due > p.now:
                p.wake_at(due)
                continue
            eta = position * handle / max(1.0, online)
            opens = p.next_open(qid)
            if opens is not None and opens > p.now:
                eta += (opens - p.now).total_seconds()  # closed: nobody answers before
            text = position_text(settings, position, eta)
            p.events.extend(await write_system_message(tx, task.conversation_id, text, p.now))
            await put_task(
                tx,
                p,
                dataclasses.replace(task, position_sent_at=p.now, position_sent=position),
            )
