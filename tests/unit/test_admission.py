"""The admission bound (docs/reliability.md): a counter, refused past the bound with the
retry hint, counted down again whatever the ingest's end; and its settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from channels.webchat.errors import slow_down
from inbox.domain.errors import Overloaded
from inbox.usecases import Admission
from server.config import ConfigError, load_settings


def test_past_the_bound_a_new_ingest_is_refused_and_nothing_is_counted() -> None:
    gate = Admission(2, retry_after=0.25)
    first = gate.enter()
    gate.enter()
    with pytest.raises(Overloaded) as refused:
        gate.enter()
    assert refused.value.code == "overloaded"
    assert refused.value.retry_after == 0.25
    assert refused.value.retry_after_seconds == 1  # Retry-After is whole seconds, >= 1
    assert (gate.pending, gate.refused) == (2, 1)
    gate.leave(first)
    gate.enter()  # a slot freed is taken again
    assert gate.pending == 2


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_past_the_wait_bound_a_new_ingest_is_refused_until_the_oldest_leaves() -> None:
    clock = _Clock()
    gate = Admission(0, retry_after=0.5, max_wait=0.2, clock=clock)
    oldest = gate.enter()
    clock.now += 0.1
    younger = gate.enter()
    clock.now += 0.15  # the oldest has waited 0.25 s, the younger 0.15 s
    assert gate.oldest_wait() == pytest.approx(0.25)
    with pytest.raises(Overloaded):
        gate.enter()
    assert (gate.pending, gate.refused) == (2, 1)
    # The oldest leaves: the wait now is the younger one's, under the bound.
    gate.leave(oldest)
    assert gate.oldest_wait() == pytest.approx(0.15)
    third = gate.enter()
    # Leaving out of order: the younger finished first, the third is the oldest now.
    clock.now += 0.1
    gate.leave(younger)
    assert gate.oldest_wait() == pytest.approx(0.1)
    gate.leave(third)
    assert (gate.pending, gate.oldest_wait()) == (0, 0.0)
    # With nothing in flight nothing waits: admitted however long the gate was idle.
    clock.now += 60
    gate.leave(gate.enter())
    assert gate.refused == 1


def test_an_idle_gate_keeps_no_tickets() -> None:
    clock = _Clock()
    gate = Admission(0, max_wait=1.0, clock=clock)
    tickets = [gate.enter() for _ in range(1000)]
    for ticket in reversed(tickets):  # the newest first: the heap's top leaves last
        gate.leave(ticket)
    assert gate.oldest_wait() == 0.0
    assert not gate._entered
    assert not gate._done


def test_no_bound_admits_everything() -> None:
    gate = Admission()
    for _ in range(10_000):
        gate.enter()
    assert (gate.pending, gate.refused) == (10_000, 0)


def test_retry_after_seconds_round_up() -> None:
    assert Overloaded("busy", 2.1).retry_after_seconds == 3


def test_the_slow_down_frame_carries_milliseconds_and_the_client_id() -> None:
    assert slow_down(0.3, "c-1") == {
        "type": "error",
        "code": "slow_down",
        "message": "busy; send it again shortly",
        "client_id": "c-1",
        "retry_after_ms": 300,
    }


def test_the_settings_default_and_refuse_nonsense(tmp_path: Path) -> None:
    none = str(tmp_path / "none.toml")
    settings = load_settings({}, none)
    assert (settings.ingest_max_pending, settings.ingest_retry_after_seconds) == (256, 1.0)
    assert settings.ingest_max_wait_ms == 500
    with pytest.raises(ConfigError, match="INBOX_INGEST_MAX_WAIT_MS"):
        load_settings({"INBOX_INGEST_MAX_WAIT_MS": "-5"}, none)
    assert load_settings({"INBOX_INGEST_MAX_PENDING": "8"}, none).ingest_max_pending == 8
    with pytest.raises(ConfigError, match="INBOX_INGEST_MAX_PENDING"):
        load_settings({"INBOX_INGEST_MAX_PENDING": "-1"}, none)
    with pytest.raises(ConfigError, match="INBOX_INGEST_RETRY_AFTER_SECONDS"):
        load_settings({"INBOX_INGEST_RETRY_AFTER_SECONDS": "0"}, none)
