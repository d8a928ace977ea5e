"""The hub's replay buffers are bounded by count and age, and a stream whose session has
been gone longer than the resume window is freed by the sweep, with no further traffic."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from inbox.core_events import CORE_EVENTS
from inbox.domain.clock import FixedClock
from inbox.domain.event_registry import EventRegistry
from inbox.domain.ids import OperatorId
from inbox.domain.operators import Operator, Role
from inbox.ports import AuthSession
from operator_ws.hub import BufferStats, HubSettings, OperatorHub
from operator_ws.streams import Connection

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ANNA = Operator(OperatorId("anna"), "anna", "Anna", Role.SUPERVISOR, "h", NOW)


class Monotonic:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Unstarted:
    """No socket: a Connection whose writer never starts keeps what it is sent."""


async def _gone_away(operator_id: OperatorId) -> None:
    return None


def _hub(clock: Monotonic, frames: int = 10, seconds: float = 60.0) -> OperatorHub:
    return OperatorHub(
        FixedClock(NOW),
        HubSettings(replay_frames=frames, replay_seconds=seconds),
        _gone_away,
        registry=EventRegistry(CORE_EVENTS),
        monotonic=clock,
    )


def _session(token: str = "t1") -> AuthSession:
    return AuthSession(token, ANNA.id, NOW, NOW + timedelta(hours=1))


def _drain(conn: Connection) -> list[dict[str, object]]:
    out = []
    while not conn._queue.empty():
        item = conn._queue.get_nowait()
        if item is not None:
            out.append(json.loads(item))
    return out


def _connect(hub: OperatorHub, session: AuthSession, last_seq: int | None = None) -> Connection:
    conn = Connection(Unstarted())  # type: ignore[arg-type]
    hub.attach(conn, ANNA, session, last_seq, {"type": "auth.ok"})
    return conn


async def test_a_session_that_left_is_freed_after_the_resume_window() -> None:
    clock = Monotonic()
    hub = _hub(clock, seconds=60)
    session = _session()
    conn = _connect(hub, session)
    for n in range(5):
        hub.push(session, {"type": "x", "n": n})
    hub.detach(conn, session)
    assert hub.buffer_stats() == BufferStats(streams=1, connections=0, frames=5)
    clock.t += 59
    hub.sweep()
    assert hub.buffer_stats().streams == 1  # still inside the window
    clock.t += 2
    hub.sweep()
    assert hub.buffer_stats() == BufferStats(streams=0, connections=0, frames=0)
    # The resume that comes too late: resync_required, and the stream starts again.
    late = _connect(hub, session, last_seq=5)
    frames = _drain(late)
    assert frames[0]["resumed"] is False
    assert frames[1]["type"] == "resync_required"
    await hub.stop()


async def test_the_heartbeat_round_sweeps_too() -> None:
    clock = Monotonic()
    hub = _hub(clock, seconds=60)
    session = _session()
    hub.detach(_connect(hub, session), session)
    clock.t += 61
    hub.heartbeat_round(NOW)
    assert hub.buffer_stats().streams == 0
    await hub.stop()


async def test_a_connected_stream_is_never_freed_but_its_old_frames_are() -> None:
    clock = Monotonic()
    hub = _hub(clock, seconds=60)
    session = _session()
    conn = _connect(hub, session)
    hub.push(session, {"type": "x"})
    clock.t += 3600
    hub.sweep()  # no traffic since: the sweep alone drops the frame by age
    assert hub.buffer_stats() == BufferStats(streams=1, connections=1, frames=0)
    hub.detach(conn, session)
    await hub.stop()


async def test_the_count_bound_holds_across_streams() -> None:
    clock = Monotonic()
    hub = _hub(clock, frames=3)
    sessions = [_session("t1"), _session("t2")]
    for s in sessions:
        _connect(hub, s)
    for n in range(10):
        for s in sessions:
            hub.push(s, {"type": "x", "n": n})
    assert hub.buffer_stats() == BufferStats(streams=2, connections=2, frames=6)
    await hub.stop()


async def test_a_resume_inside_the_buffer_gets_every_missed_frame_once() -> None:
    clock = Monotonic()
    hub = _hub(clock, frames=10, seconds=60)
    session = _session()
    first = _connect(hub, session)
    hub.push(session, {"type": "x", "n": 0})
    hub.detach(first, session)
    for n in range(1, 4):
        hub.push(session, {"type": "x", "n": n})  # while away
    clock.t += 30
    hub.sweep()
    again = _connect(hub, session, last_seq=1)
    frames = _drain(again)
    assert frames[0]["resumed"] is True
    assert [(f["seq"], f["n"]) for f in frames[1:]] == [(2, 1), (3, 2), (4, 3)]
    await hub.stop()


async def test_a_resume_older_than_the_count_bound_needs_resync() -> None:
    clock = Monotonic()
    hub = _hub(clock, frames=3)
    session = _session()
    first = _connect(hub, session)
    hub.push(session, {"type": "x"})
    hub.detach(first, session)
    for _ in range(4):
        hub.push(session, {"type": "x"})
    frames = _drain(_connect(hub, session, last_seq=1))
    assert frames[0]["resumed"] is False
    assert frames[1]["type"] == "resync_required"
    assert frames[1]["reason"] == "too_old"
    await hub.stop()


async def test_a_resume_older_than_the_age_bound_needs_resync() -> None:
    clock = Monotonic()
    hub = _hub(clock, frames=100, seconds=60)
    session = _session()
    first = _connect(hub, session)
    hub.push(session, {"type": "x"})
    hub.detach(first, session)
    hub.push(session, {"type": "x"})  # seq 2, which the resume below misses
    clock.t += 30
    hub.push(session, {"type": "x"})
    clock.t += 31  # seq 2 is now 61 s old; the session was away 61 s too, but no sweep ran
    frames = _drain(_connect(hub, session, last_seq=1))
    assert frames[1]["type"] == "resync_required"
    assert frames[1]["reason"] == "too_old"
    await hub.stop()
