"""The hub: turns domain events into frames for every operator session that may see them."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import WSCloseCode

from inbox.domain.clock import Clock
from inbox.domain.conversations import ConversationStatus
from inbox.domain.events import (
    ConversationChanged,
    Event,
    MessageCreated,
    MessageUpdated,
    OfferChanged,
    OperatorPresenceChanged,
    RoutingAlert,
    Typing,
)
from inbox.domain.ids import OperatorId
from inbox.domain.operators import Operator, Role
from inbox.domain.views import conversation_view, message_view, offer_view
from inbox.ports import AuthSession
from inbox.usecases.access import can_see
from operator_ws.streams import Connection, SessionStream

__all__ = ["HubSettings", "OperatorHub"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HubSettings:
    replay_frames: int = 2000
    replay_seconds: float = 15 * 60
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
    ) -> None:
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
            )
            self._streams[session.token_hash] = stream
        stream.operator = operator
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
        """Heartbeat every attached stream; close expired sessions; forget idle streams."""
        self._seen(self.connected_operators())
        for key, stream in list(self._streams.items()):
            if stream.session.expires_at <= now:
                self.revoke(key)
                continue
            if stream.connections:
                stream.push({"type": "heartbeat", "at": now.isoformat()})
            elif stream.idle_for() > self.settings.replay_seconds:
                del self._streams[key]

    # ------------------------------------------------------------------ events

    async def on_event(self, event: Event) -> None:
        """Fan an event out to the streams that may see it. Never awaits a socket."""
        match event:
            case MessageCreated(message=message, conversation=conversation):
                self._push_where(
                    lambda op: can_see(op, conversation),
                    {
                        "type": "message.created",
                        "conversation_id": conversation.id,
                        "message": message_view(message),
                        "conversation": conversation_view(conversation),
                    },
                )
            case MessageUpdated(message=message, conversation=conversation):
                self._push_where(
                    lambda op: can_see(op, conversation),
                    {
                        "type": "message.updated",
                        "conversation_id": conversation.id,
                        "message": message_view(message),
                    },
                )
            case ConversationChanged():
                self._conversation_changed(event)
            case OperatorPresenceChanged(operator_id=operator_id, presence=presence):
                for stream in self._streams.values():
                    if stream.operator.id == operator_id:
                        stream.operator = dataclasses.replace(stream.operator, presence=presence)
                self._push_where(
                    lambda op: True,
                    {"type": "presence", "operator_id": operator_id, "status": str(presence)},
                )
            case OfferChanged():
                self._offer_changed(event)
            case RoutingAlert():
                self._routing_alert(event)
            case Typing():
                self._push_where(
                    lambda op: _sees_typing(op, event),
                    {
                        "type": "typing",
                        "conversation_id": event.conversation_id,
                        "by": event.by,
                        "operator_id": event.operator_id,
                        "name": event.operator_name,
                    },
                )
            case _:
                pass

    def _push_where(self, allowed: Callable[[Operator], bool], frame: dict[str, Any]) -> None:
        # Streams without a connection still collect frames, so a reconnect misses nothing.
        for stream in list(self._streams.values()):
            if allowed(stream.operator):
                stream.push(frame)

    def _conversation_changed(self, event: ConversationChanged) -> None:
        conversation = event.conversation
        view = conversation_view(conversation)
        was_queued = event.previous_status is ConversationStatus.QUEUED
        for stream in list(self._streams.values()):
            op = stream.operator
            sees_now = can_see(op, conversation)
            saw_before = was_queued or event.previous_assignee_id == op.id
            if not (sees_now or saw_before or op.role.sees_everything):
                continue
            if event.reason == "assigned" and conversation.assignee_id == op.id:
                stream.push({"type": "conversation.assigned", "conversation": view})
            else:
                stream.push(
                    {"type": "conversation.updated", "reason": event.reason, "conversation": view}
                )

    def _offer_changed(self, event: OfferChanged) -> None:
        if event.state == "created":
            frame: dict[str, Any] = {
                "type": "offer.created",
                "offer": offer_view(
                    event.conversation,
                    event.queue_id,
                    event.queue_name,
                    event.offered_at,
                    event.expires_at,
                ),
                "conversation": conversation_view(event.conversation),
            }
        else:
            frame = {
                "type": "offer.ended",
                "conversation_id": event.conversation.id,
                "state": event.state,
                "reason": event.reason,
            }
        self._push_where(lambda op: op.id == event.operator_id, frame)

    def _routing_alert(self, event: RoutingAlert) -> None:
        frame = {
            "type": "routing.alert",
            "alert": {
                "kind": event.kind,
                "target": event.target,
                "conversation_id": event.conversation.id,
                "queue_id": event.queue_id,
                "queue_name": event.queue_name,
                "due_at": event.due_at.isoformat(),
                "at": event.at.isoformat(),
                "operator_id": event.operator_id,
            },
            "conversation": conversation_view(event.conversation),
        }
        if event.kind == "sla_warning":
            self._push_where(lambda op: op.id == event.operator_id, frame)
        else:
            self._push_where(lambda op: op.role in (Role.SUPERVISOR, Role.ADMIN), frame)


def _sees_typing(op: Operator, event: Typing) -> bool:
    if event.by == "operator" and op.id == event.operator_id:
        return False  # nobody needs to see their own typing
    return op.role.sees_everything or event.assignee_id in (op.id, None)


def _dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False)
