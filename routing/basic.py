"""Basic assignment: the least loaded online operator with free capacity gets the
conversation that has waited longest; otherwise it waits in the queue until an operator
frees up or comes online. (The skill-based router replaces this behind the same port.)"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.errors import Conflict, NotFound
from inbox.domain.events import ConversationChanged, Event, OperatorPresenceChanged
from inbox.domain.ids import OperatorId
from inbox.domain.operators import Operator, Presence
from inbox.ports import Tx
from inbox.usecases import Core, assign_conversation

__all__ = ["BasicRouter", "Candidate", "pick_operator"]

logger = logging.getLogger(__name__)

_NEVER = datetime.min.replace(tzinfo=UTC)

_Snapshot = tuple[list[Conversation], list[Operator], dict[OperatorId, int]]


@dataclass(frozen=True, slots=True)
class Candidate:
    operator_id: OperatorId
    online: bool
    load: int
    capacity: int
    last_assigned_at: datetime | None = None

    @property
    def free(self) -> bool:
        return self.online and self.load < self.capacity


def pick_operator(candidates: Sequence[Candidate]) -> OperatorId | None:
    """Fewest open conversations first; ties go to whoever waited longest since their last
    assignment, then by id so the result never depends on input order. Pure."""
    free = [c for c in candidates if c.free]
    if not free:
        return None
    best = min(free, key=lambda c: (c.load, c.last_assigned_at or _NEVER, c.operator_id))
    return best.operator_id


class BasicRouter:
    """Implements :class:`routing.ports.Router`. One task; an event only sets a flag, so a
    burst of arrivals costs one pass. A periodic sweep catches anything an event missed
    (another process's change, a failed pass)."""

    def __init__(self, core: Core, *, sweep_seconds: float = 5.0, batch: int = 100) -> None:
        self._core = core
        self._sweep = sweep_seconds
        self._batch = batch
        self._kick = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def on_event(self, event: Event) -> None:
        match event:
            case ConversationChanged(conversation=c) if c.status in (
                ConversationStatus.QUEUED,
                ConversationStatus.RESOLVED,
            ):
                self._kick.set()
            case OperatorPresenceChanged(presence=Presence.ONLINE):
                self._kick.set()
            case _:
                pass

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="basic-router")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):  # not wait_for: see inbox/delivery.py
                async with asyncio.timeout(self._sweep):
                    await self._kick.wait()
            self._kick.clear()
            try:
                await self.assign_waiting()
            except Exception:
                logger.exception("routing pass failed")

    async def assign_waiting(self) -> int:
        """Assign as many queued conversations as capacity allows; returns how many."""

        async def snapshot(
            tx: Tx,
        ) -> tuple[list[Conversation], list[Operator], dict[OperatorId, int]]:
            queued = await tx.conversations.list_queued(self._batch)
            operators = await tx.operators.list()
            loads = await tx.conversations.count_open_by_assignee([o.id for o in operators])
            return queued, operators, loads

        queued, operators, loads = await self._core.store.read(snapshot)
        if not queued:
            return 0
        candidates = {
            o.id: Candidate(
                o.id,
                o.presence is Presence.ONLINE and not o.disabled,
                loads.get(o.id, 0),
                o.capacity,
                o.last_assigned_at,
            )
            for o in operators
        }
        assigned = 0
        for conversation in queued:
            chosen = pick_operator(list(candidates.values()))
            if chosen is None:
                break
            try:
                await assign_conversation(self._core, conversation.id, chosen)
            except (Conflict, NotFound) as exc:
                # Someone else (a claim, another process) got there first, or the operator
                # changed: the next pass works from fresh data.
                logger.info("assignment skipped: %s", exc.message)
                self._kick.set()
                break
            c = candidates[chosen]
            candidates[chosen] = Candidate(
                c.operator_id, c.online, c.load + 1, c.capacity, self._core.clock.now()
            )
            assigned += 1
        return assigned
