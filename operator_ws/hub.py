"""The hub: turns domain events into frames for every operator session that may see them.

Who may see what is each session's :class:`~inbox.domain.visibility.Viewer`, computed from
the queues' restrictions the hub keeps in memory: loaded at start and again on
``AudienceChanged`` (a queue's visibility or members were saved, in any process), never
per event."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import WSCloseCode

from inbox.domain.clock import Clock
from inbox.domain.event_registry import EventRegistry
from inbox.domain.events import AudienceChanged, Event, OperatorPresenceChanged
from inbox.domain.ids import OperatorId
from inbox.domain.operators import Operator
from inbox.domain.visibility import QueueRestrictions
from inbox.ports import AuthSession, QueueRestrictionSource
from operator_ws.streams import Connection, SessionStream

__all__ = ["BufferStats", "HubSettings", "OperatorHub"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BufferStats:
    """What the hub holds (:meth:`OperatorHub.buffer_stats`): streams, open connections,
    and frames kept for replay over all streams."""

    streams: int
    connections: int
    frames: int


@dataclass(frozen=True, slots=True)
class HubSettings:
    """``replay_frames`` / ``replay_seconds`` bound every stream's replay buffer (both
    apply). ``replay_seconds`` is also the resume window: a stream with no connection for
    longer is freed, since every frame it kept would be too old to replay anyway.
    500 frames cover a busy supervisor's reconnect (a few events a second for a minute
    or two); 5 minutes cover a reload, a laptop lid, a flaky train network. Past that
    the console reloads over REST (``resync_required``), which is cheap."""

    replay_frames: int = 500
    replay_seconds: float = 5 * 60
    heartbeat_seconds: float = 25.0
    #: An operator whose last console closed turns "away" after this long (a reload or a
    #: flaky network must not push their conversations back to the queue).
    presence_grace_seconds: float = 60.0


class OperatorHub:
    """Owns the session streams of this process and its two background tasks (heartbeats
    with stream collection, and presence grace timers)."""

    def __init__(
        self,
        clock: Clock,
        settings: HubSettings,
        on_gone_away: Callable[[OperatorId], Awaitable[None]],
        on_seen: Callable[[set[OperatorId]], Awaitable[None]] | None = None,
        *,
        registry: EventRegistry,
        restrictions: QueueRestrictionSource | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._monotonic = monotonic
        self._registry = registry
        self._restriction_source = restrictions
        self._restrictions = QueueRestrictions()
        self._on_seen = on_seen
        self._clock = clock
        self.settings = settings
        self._streams: dict[str, SessionStream] = {}
        self._on_gone_away = on_gone_away
        self._tasks: set[asyncio.Task[None]] = set()
        self._grace: dict[OperatorId, asyncio.Task[None]] = {}

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._spawn(self._heartbeat_loop(), "operator-hub-heartbeat")

    async def stop(self) -> None:
        for stream in self._streams.values():
            for conn in list(stream.connections):
                conn.close_soon(WSCloseCode.GOING_AWAY, "server shutdown")
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def load_restrictions(self) -> None:
        """Read the queues' restrictions and recompute every session's viewer. Called at
        start (before consoles connect) and on ``AudienceChanged``; a failed read keeps the
        previous restrictions (logged)."""
        if self._restriction_source is None:
            return
        try:
            self._restrictions = await self._restriction_source.load()
        except Exception:
            logger.exception("reading the queues' visibility failed; keeping the previous")
            return
        for stream in self._streams.values():
            stream.see_as(stream.operator, self._restrictions)

    def _spawn(self, coro: Awaitable[None], name: str) -> asyncio.Task[None]:
        async def guarded() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("background task %s failed", name)

        task = asyncio.create_task(guarded(), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        # A task cancelled before its first step (stop() right after a detach) never
        # awaited ``coro``: close it, so it is not reported as never awaited.
        if isinstance(coro, Coroutine):
            task.add_done_callback(lambda _: coro.close())
        return task

    # ------------------------------------------------------------------ sessions

    def attach(
        self,
        conn: Connection,
        operator: Operator,
        session: AuthSession,
        last_seq: int | None,
        auth_ok: dict[str, Any],
    ) -> None:
        """Attach a connection to its session's stream and queue, in this order and with no
        await in between: ``auth.ok``, the replay (or ``resync_required``), then live frames.
        """
        stream = self._streams.get(session.token_hash)
        if stream is None:
            stream = SessionStream(
                session.token_hash,
                operator,
                session,
                max_frames=self.settings.replay_frames,
                max_age_seconds=self.settings.replay_seconds,
                monotonic=self._monotonic,
            )
            self._streams[session.token_hash] = stream
        stream.see_as(operator, self._restrictions)
        replay = stream.replay_after(last_seq) if last_seq is not None else []
        conn.send_text(
            _dumps(
                {
                    **auth_ok,
                    "last_seq": stream.seq,
                    "resumed": bool(last_seq) and replay is not None,
                }
            )
        )
        stream.attach(conn)
        if replay is None:
            reason = "too_old" if last_seq is not None and last_seq <= stream.seq else "unknown"
            stream.push({"type": "resync_required", "reason": reason})
        else:
            for text in replay:
                conn.send_text(text)
        grace = self._grace.pop(operator.id, None)
        if grace is not None:
            grace.cancel()
        self._seen({operator.id})

    def _seen(self, operator_ids: set[OperatorId]) -> None:
        """Record console heartbeats in the database, where every process's router reads
        them (an operator whose consoles all vanished, even with their process, turns away)."""
        if self._on_seen is not None and operator_ids:
            self._spawn(self._on_seen(operator_ids), "operator-seen")

    def detach(self, conn: Connection, session: AuthSession) -> None:
        stream = self._streams.get(session.token_hash)
        if stream is None:
            return
        stream.detach(conn)
        operator_id = stream.operator.id
        if not self._connected(operator_id) and operator_id not in self._grace:
            task = self._spawn(self._grace_timer(operator_id), "presence-grace")
            self._grace[operator_id] = task

    def push(self, session: AuthSession, frame: dict[str, Any]) -> None:
        """Send a frame (an ack, an error) into one session's stream."""
        stream = self._streams.get(session.token_hash)
        if stream is not None:
            stream.push(frame)

    def push_encoded(self, key: str, body: str) -> bool:
        """Send a frame serialised once for many sessions (``SessionStream.push_encoded``)
        into the session ``key``'s stream; ``False`` (nothing sent) when the session has no
        open connection in this process."""
        stream = self._streams.get(key)
        if stream is None or not stream.connections:
            return False
        stream.push_encoded(body)
        return True

    def is_connected(self, key: str) -> bool:
        """Whether the session ``key`` has an open connection in this process."""
        stream = self._streams.get(key)
        return stream is not None and bool(stream.connections)

    def revoke(self, token_hash: str) -> None:
        """The token was revoked: close its connections and forget its stream."""
        stream = self._streams.pop(token_hash, None)
        if stream is None:
            return
        for conn in list(stream.connections):
            conn.send_text(
                _dumps(
                    {"type": "error", "code": "unauthorized", "message": "the session was closed"}
                )
            )
            conn.close_soon(4401, "unauthorized")

    def connection_count(self) -> int:
        """Open operator sockets in this process (the metrics' gauge)."""
        return sum(len(s.connections) for s in self._streams.values())

    def buffer_stats(self) -> BufferStats:
        """Streams, connections and buffered frames held now (tests and diagnostics)."""
        streams = list(self._streams.values())
        return BufferStats(
            streams=len(streams),
            connections=sum(len(s.connections) for s in streams),
            frames=sum(s.buffered() for s in streams),
        )

    def connected_operators(self) -> set[OperatorId]:
        return {s.operator.id for s in self._streams.values() if s.connections}

    def _connected(self, operator_id: OperatorId) -> bool:
        return any(s.connections for s in self._streams.values() if s.operator.id == operator_id)

    async def _grace_timer(self, operator_id: OperatorId) -> None:
        try:
            await asyncio.sleep(self.settings.presence_grace_seconds)
            if not self._connected(operator_id):
                await self._on_gone_away(operator_id)
        finally:
            if self._grace.get(operator_id) is asyncio.current_task():
                del self._grace[operator_id]

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_seconds)
            self.heartbeat_round(self._clock.now())

    def heartbeat_round(self, now: datetime) -> None:
        """Heartbeat every attached stream; close expired sessions; then :meth:`sweep`."""
        self._seen(self.connected_operators())
        for key, stream in list(self._streams.items()):
            if stream.session.expires_at <= now:
                self.revoke(key)
            elif stream.connections:
                stream.push({"type": "heartbeat", "at": now.isoformat()})
        self.sweep()

    def sweep(self) -> None:
        """Give memory back without waiting for traffic: drop every buffered frame past the
        count or age bound, and free the streams that have had no connection for longer
        than the resume window (a resume after that gets ``resync_required``, as it would
        from the frames' age alone). Runs with every heartbeat round."""
        now = self._monotonic()
        for key, stream in list(self._streams.items()):
            if not stream.connections and stream.idle_for() > self.settings.replay_seconds:
                del self._streams[key]
            else:
                stream.trim(now)

    # ------------------------------------------------------------------ events

    async def on_event(self, event: Event) -> None:
        """Fan an event out to the streams that may see it. Never awaits a socket.

        The frames and their audiences come from the event's declaration in the registry;
        each frame is serialised once, whatever the number of sessions it reaches. Each
        session is judged by its viewer (computed beforehand, no I/O here)."""
        if isinstance(event, AudienceChanged):
            await self.load_restrictions()
        if isinstance(event, OperatorPresenceChanged):
            for stream in self._streams.values():
                if stream.operator.id == event.operator_id:
                    stream.see_as(
                        dataclasses.replace(stream.operator, presence=event.presence),
                        self._restrictions,
                    )
        for out in self._registry.frames(event):
            body: str | None = None
            # Streams without a connection still collect frames, so a reconnect misses nothing.
            for stream in list(self._streams.values()):
                if out.audience(stream.viewer):
                    if body is None:
                        body = _dumps(dict(out.frame))
                    stream.push_encoded(body)


def _dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False)
