"""Resumable session streams: exactly the missed frames, or resync."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from inbox.domain.ids import OperatorId
from inbox.domain.operators import Operator, Role
from inbox.ports import AuthSession
from operator_ws.streams import SessionStream

NOW = datetime(2026, 1, 1, tzinfo=UTC)
OPERATOR = Operator(OperatorId("op"), "op", "Op", Role.OPERATOR, "h", NOW)
SESSION = AuthSession("hash", OPERATOR.id, NOW, NOW + timedelta(hours=1))


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def stream(clock: Clock, frames: int = 5, age: float = 60.0) -> SessionStream:
    return SessionStream(
        "k", OPERATOR, SESSION, max_frames=frames, max_age_seconds=age, monotonic=clock
    )


def seqs(texts: list[str] | None) -> list[int] | None:
    return None if texts is None else [json.loads(t)["seq"] for t in texts]


def test_replay_returns_exactly_what_came_after() -> None:
    s = stream(Clock())
    for n in range(4):
        s.push({"type": "x", "n": n})
    assert seqs(s.replay_after(0)) == [1, 2, 3, 4]
    assert seqs(s.replay_after(2)) == [3, 4]
    assert s.replay_after(4) == []


def test_too_old_or_from_the_future_needs_resync() -> None:
    s = stream(Clock(), frames=3)
    for n in range(6):
        s.push({"type": "x", "n": n})
    assert seqs(s.replay_after(3)) == [4, 5, 6]
    assert s.replay_after(2) is None
    assert s.replay_after(7) is None
    assert s.replay_after(-1) is None


def test_frames_older_than_max_age_are_forgotten() -> None:
    clock = Clock()
    s = stream(clock, frames=100, age=60)
    s.push({"type": "old"})
    clock.t += 61
    s.push({"type": "new"})
    assert s.replay_after(0) is None
    assert seqs(s.replay_after(1)) == [2]
