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
    gate.enter()
    gate.enter()
    with pytest.raises(Overloaded) as refused:
        gate.enter()
    assert refused.value.code == "overloaded"
    assert refused.value.retry_after == 0.25
    assert refused.value.retry_after_seconds == 1  # Retry-After is whole seconds, >= 1
    assert (gate.pending, gate.refused) == (2, 1)
    gate.leave()
    gate.enter()  # a slot freed is taken again
    assert gate.pending == 2


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
    assert load_settings({"INBOX_INGEST_MAX_PENDING": "8"}, none).ingest_max_pending == 8
    with pytest.raises(ConfigError, match="INBOX_INGEST_MAX_PENDING"):
        load_settings({"INBOX_INGEST_MAX_PENDING": "-1"}, none)
    with pytest.raises(ConfigError, match="INBOX_INGEST_RETRY_AFTER_SECONDS"):
        load_settings({"INBOX_INGEST_RETRY_AFTER_SECONDS": "0"}, none)
