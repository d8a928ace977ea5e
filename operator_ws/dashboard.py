"""The live dashboard over the operator WebSocket: ``dashboard.subscribe`` and the
``dashboard`` frames (docs/operator-protocol.md).

One :class:`DashboardFeed` per process computes the numbers (the routing control's
``dashboard``, one database read) at most once per interval, and only while at least one
of this process's sessions is subscribed -- not once per session. The frame is serialised
once and pushed into every subscribed session's stream; a round whose numbers equal the
last one's (the longest-wait clock aside: a console advances it from
``longest_wait_since``) sends nothing. A session whose last connection closed is
unsubscribed; its console subscribes again after reconnecting.

Every process computes for its own sessions from the database (docs/scaling.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from inbox.domain.errors import Forbidden
from inbox.domain.operators import Operator
from operator_ws.hub import OperatorHub
from routing.dashboard import require_dashboard, steady_part

__all__ = ["DashboardFeed", "DashboardSource"]

logger = logging.getLogger(__name__)

#: Computes the numbers as ``actor`` may see them (``RoutingControl.dashboard``).
DashboardSource = Callable[[Operator], Awaitable[dict[str, object]]]


class DashboardFeed:
    """Owns the subscriptions of this process and the task that feeds them; the
    application starts and stops it (server/app.py)."""

    def __init__(
        self, hub: OperatorHub, source: DashboardSource, *, interval_seconds: float = 2.0
    ) -> None:
        self._hub = hub
        self._source = source
        self._interval = max(0.01, interval_seconds)
        #: Session key (its token hash) -> the operator who subscribed.
        self._subscribers: dict[str, Operator] = {}
        self._steady: Any = None
        self._body: str | None = None
        self._wanted = asyncio.Event()  # set while anyone is subscribed
        self._now = asyncio.Event()  # a subscriber waits for its first frame
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="dashboard-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # ------------------------------------------------------------------ subscriptions

    def subscribe(self, key: str, operator: Operator) -> None:
        """Subscribe session ``key``: it gets the last frame at once when there is one
        (at most one interval old), else the next round runs now. Raises
        :class:`Forbidden` for an operator."""
        require_dashboard(operator)
        self._subscribers[key] = operator
        self._wanted.set()
        if self._body is not None:
            self._hub.push_encoded(key, self._body)
        else:
            self._now.set()

    def unsubscribe(self, key: str) -> bool:
        """Whether ``key`` was subscribed. The last one out stops the computing."""
        found = self._subscribers.pop(key, None) is not None
        if not self._subscribers:
            self._idle()
        return found

    def dropped(self, key: str) -> None:
        """A connection of session ``key`` closed: unsubscribe it unless another of its
        connections is still open."""
        if key in self._subscribers and not self._hub.is_connected(key):
            self.unsubscribe(key)

    def subscribed(self) -> int:
        return len(self._subscribers)

    def _idle(self) -> None:
        self._wanted.clear()
        self._steady = None
        self._body = None

    # ------------------------------------------------------------------ rounds

    async def _loop(self) -> None:
        while True:
            await self._wanted.wait()
            self._now.clear()
            try:
                await self.run_round()
            except Exception:
                logger.exception("computing the dashboard failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await self._now.wait()

    async def run_round(self) -> bool:
        """Compute once and push to every subscriber when the numbers changed (or someone
        still waits for a first frame); returns whether a frame went out."""
        for key in [k for k in self._subscribers if not self._hub.is_connected(k)]:
            self.unsubscribe(key)
        while self._subscribers:
            key, actor = next(iter(self._subscribers.items()))
            try:
                numbers = await self._source(actor)
            except Forbidden:
                # No longer a supervisor: this subscription ends; the others go on.
                self.unsubscribe(key)
                continue
            if not self._subscribers:
                return False  # everyone left meanwhile: keep nothing that would go stale
            steady = steady_part(numbers)
            if self._body is not None and steady == self._steady:
                return False
            self._steady = steady
            self._body = json.dumps({"type": "dashboard", "dashboard": numbers}, ensure_ascii=False)
            for k in list(self._subscribers):
                if not self._hub.push_encoded(k, self._body):
                    self.unsubscribe(k)
            return True
        return False
