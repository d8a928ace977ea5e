"""The HTTP benchmark still runs end to end and says what it measured: its tiniest mode
(a few dozen messages through the real server in a subprocess) prints one JSON line with
the figures, the ratio and the machine. Timings are never asserted; counts are, because a
benchmark whose messages were not all stored and pushed measures nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own argv
        [sys.executable, "-m", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_bench_http_tiny_prints_one_json_line_with_its_figures() -> None:
    done = _run("bench.bench_http", "--tiny")
    assert done.returncode == 0, done.stderr[-3000:]
    line: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert line["name"] == "bench_http"
    assert set(line) >= {"figures", "ratios", "goals", "machine"}
    assert set(line["machine"]) >= {"cpus", "python", "database"}
    assert "sqlite_vs_bare" in line["ratios"]
    baseline, sqlite = line["figures"]["baseline"], line["figures"]["sqlite"]
    assert baseline["rate"] > 0
    assert baseline["errors"] == 0
    throughput, latency = sqlite["throughput"], sqlite["latency"]
    # Every message was answered 2xx, stored and pushed to the supervisor's socket.
    assert throughput["errors"] == 0
    assert throughput["timeouts"] == 0
    assert throughput["pushed"] == throughput["messages"] > 0
    assert latency["sent"] > 0
    assert latency["accepted_frames_missing"] == 0
    assert latency["non_2xx"] == 0
    assert latency["no_answer_in_time"] == 0
    for key in ("answer_p50_ms", "answer_p99_ms", "frame_p50_ms", "frame_p99_ms"):
        assert isinstance(latency[key], float), key
    # The overload phases ran at 2x and 5x the rate the throughput run sustained: every
    # request was answered (2xx or a refusal), and what was acknowledged was pushed.
    overload = sqlite["overload"]
    assert set(overload) == {"2x", "5x"}
    for phase in overload.values():
        assert phase["sent"] > 0
        assert phase["no_answer_in_time"] == 0
        assert phase["accepted_frames_missing"] == 0
        assert sum(phase["statuses"].values()) == phase["sent"]
        assert set(phase["statuses"]) <= {"200", "503"}
    assert line["goals"]["overload_5x_nothing_acknowledged_lost"] is True


def test_run_all_reports_a_benchmark_without_its_own_json_line() -> None:
    done = _run("bench.run_all", "--only", "bench_event_codec")
    assert done.returncode == 0, done.stderr[-3000:]
    line = json.loads(done.stdout.strip().splitlines()[-1])
    assert line["name"] == "bench_event_codec"
    assert line["ok"] is True
    assert line["output"], "the benchmark's own last lines are kept"


@pytest.mark.skipif(
    not os.environ.get("INBOX_TEST_POSTGRES_URL"), reason="INBOX_TEST_POSTGRES_URL not set"
)
def test_bench_http_tiny_on_postgresql_prints_the_ratio_to_sqlite() -> None:
    done = _run("bench.bench_http", "--tiny", "--postgres", os.environ["INBOX_TEST_POSTGRES_URL"])
    assert done.returncode == 0, done.stderr[-3000:]
    line: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert "postgresql_vs_sqlite" in line["ratios"]
    throughput = line["figures"]["postgresql"]["throughput"]
    assert throughput["pushed"] == throughput["messages"] > 0
    assert throughput["errors"] == 0
