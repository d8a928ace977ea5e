"""Sequenced, resumable event streams, one per login session (STYLE.md #12).

Every frame after ``auth.ok`` gets the next ``seq`` of its stream and is kept for replay
(the last ``max_frames`` frames, none older than ``max_age``). A client that reconnects
with ``last_seq`` gets exactly the frames after it, or ``resync_required``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from aiohttp import WSCloseCode, web

from inbox.domain.operators import Operator
from inbox.domain.visibility import QueueRestrictions, Viewer
from inbox.ports import AuthSession

__all__ = ["Connection", "SessionStream"]

logger = logging.getLogger(__name__)

#: A connection whose unsent frames pile past this is too slow: it is closed and will
#: resume from its last seq, which costs nothing but a replay.
MAX_PENDING_FRAMES = 5000


class Connection:
    """One WebSocket. Frames are queued and written by the connection's own writer task, so
    pushing never blocks the publisher on a slow client."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._close: tuple[int, str] = (WSCloseCode.GOING_AWAY, "bye")
        self._closing = False

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write_loop(), name="operator-ws-writer")

    def send_text(self, text: str) -> None:
        if self._closing:
            return
        if self._queue.qsize() >= MAX_PENDING_FRAMES:
            logger.warning(
                "closing a slow operator connection (%d frames behind)", self._queue.qsize()
            )
            self.close_soon(WSCloseCode.TRY_AGAIN_LATER, "too slow")
            return
        self._queue.put_nowait(text)

    def close_soon(self, code: int, message: str) -> None:
        """Close after the frames already queued are written."""
        if not self._closing:
            self._closing = True
            self._close = (code, message)
            self._queue.put_nowait(None)

    async def _write_loop(self) -> None:
        try:
            while True:
                text = await self._queue.get()
                if text is None:
                    code, message = self._close
                    await self.ws.close(code=code, message=message.encode())
                    return
                await self.ws.send_str(text)
                del text  # an idle connection must not hold on to the last frame it sent
        except (ConnectionError, RuntimeError):
            return  # the socket went away; the reader notices and detaches
        except Exception:
            logger.exception("operator websocket writer failed")

    async def stop(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer


class SessionStream:
    """The stream of one login session. Shared by every connection with that token.

    ``viewer`` is what the session's operator may see, computed when the operator or the
    queues' restrictions change (:meth:`see_as`), never per event."""

    def __init__(
        self,
        key: str,
        operator: Operator,
        session: AuthSession,
        *,
        max_frames: int,
        max_age_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.key = key
        self.operator = operator
        self.viewer = Viewer.of(operator)
        self.session = session
        self.seq = 0
        self.connections: set[Connection] = set()
        self.detached_at: float | None = monotonic()
        self._buffer: deque[tuple[int, float, str]] = deque()
        self._max_frames = max_frames
        self._max_age = max_age_seconds
        self._monotonic = monotonic

    def see_as(self, operator: Operator, restrictions: QueueRestrictions) -> None:
        """The session's operator (a new login, a new presence) and what they may see."""
        self.operator = operator
        self.viewer = Viewer.of(operator, restrictions)

    def push(self, frame: dict[str, Any]) -> None:
        """Give ``frame`` the next seq, keep it for replay and send it to every connection."""
        self.push_encoded(json.dumps(frame, ensure_ascii=False))

    def push_encoded(self, body: str) -> None:
        """Like :meth:`push` for a frame already serialised (a JSON object with at least one
        key, as ``json.dumps`` writes it): one event reaching many sessions is serialised
        once, and each stream only appends its own ``seq``."""
        self.seq += 1
        text = f'{{"seq": {self.seq}}}' if body == "{}" else f'{body[:-1]}, "seq": {self.seq}}}'
        now = self._monotonic()
        self._buffer.append((self.seq, now, text))
        self._trim(now)
        for conn in self.connections:
            conn.send_text(text)

    def trim(self, now: float | None = None) -> None:
        """Drop the frames past the count or age bound (the hub's sweep calls this, so a
        stream with no traffic gives its old frames back too)."""
        self._trim(self._monotonic() if now is None else now)

    def buffered(self) -> int:
        """Frames kept for replay."""
        return len(self._buffer)

    def _trim(self, now: float) -> None:
        while self._buffer and (
            len(self._buffer) > self._max_frames or now - self._buffer[0][1] > self._max_age
        ):
            self._buffer.popleft()

    def replay_after(self, last_seq: int) -> list[str] | None:
        """Frames after ``last_seq`` in order, or ``None`` when they are no longer all kept
        (or ``last_seq`` is from the future)."""
        self._trim(self._monotonic())
        if last_seq > self.seq or last_seq < 0:
            return None
        if last_seq == self.seq:
            return []
        first_kept = self._buffer[0][0] if self._buffer else self.seq + 1
        if last_seq + 1 < first_kept:
            return None
        return [text for seq, _, text in self._buffer if seq > last_seq]

    def attach(self, conn: Connection) -> None:
        self.connections.add(conn)
        self.detached_at = None

    def detach(self, conn: Connection) -> None:
        self.connections.discard(conn)
        if not self.connections:
            self.detached_at = self._monotonic()

    def idle_for(self) -> float:
        return 0.0 if self.detached_at is None else self._monotonic() - self.detached_at
