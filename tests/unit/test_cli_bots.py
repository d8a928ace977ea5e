"""``inbox hours set|show`` and ``inbox bot set|show`` (CONTRACT.md): JSON out; bad input
exits non-zero with a message and changes nothing."""

# Russian texts are what these tests are about.
# ruff: noqa: RUF001

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from server.cli import main

FLOW = """\
language: ru
greeting: "Здравствуйте! Чем помочь?"
off_hours: "Сейчас мы не работаем. Ответим {next_open}."
faq:
  - answer: "Доставляем курьером за 1–2 дня."
    keywords: ["доставка", "курьер"]
handoff: ["оператор", "operator"]
collect: [phone]
"""


@pytest.fixture(autouse=True)
def _env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INBOX_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("INBOX_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("INBOX_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("INBOX_LOG_LEVEL", "WARNING")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_hours_set_and_show(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys,
        "hours",
        "set",
        "default",
        "--tz",
        "Europe/Moscow",
        "--week",
        "mon-fri 09:00-13:00,14:00-20:00; sat 10:00-16:00",
        "--holiday",
        "2027-01-01..2027-01-08",
        "--open",
        "2027-03-07=10:00-16:00",
    )
    assert code == 0, err
    saved = json.loads(out)
    assert saved["tz"] == "Europe/Moscow"
    assert saved["week"]["mon"] == ["09:00-13:00", "14:00-20:00"]
    assert saved["week"]["sun"] == []
    assert saved["holidays"] == ["2027-01-01..2027-01-08"]
    assert saved["exceptions"] == {"2027-03-07": ["10:00-16:00"]}

    code, out, err = run(capsys, "hours", "show")
    assert code == 0, err
    shown = json.loads(out)
    assert isinstance(shown["open_now"], bool)
    for key in ("next_open", "closes_at"):
        if shown[key] is not None:
            assert datetime.fromisoformat(shown[key]).utcoffset() is not None


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--tz", "Mars/Olympus", "--week", "mon 09:00-18:00"], "Mars/Olympus"),
        (["--tz", "Europe/Moscow", "--week", "mon 18:00-09:00"], "midnight"),
        (["--tz", "Europe/Moscow", "--week", "funday 09:00-18:00"], "funday"),
        (
            ["--tz", "Europe/Moscow", "--week", "mon 09:00-18:00", "--holiday", "2027-13-01"],
            "2027-13-01",
        ),
    ],
)
def test_bad_hours_exit_non_zero_and_change_nothing(
    capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    code, out, err = run(capsys, "hours", "set", "default", *flags)
    assert code != 0
    assert out == ""
    assert message in err
    code, out, _ = run(capsys, "hours", "show")
    assert code == 0
    assert json.loads(out)["hours"] is None


def test_unknown_queue_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "hours", "set", "nope", "--tz", "UTC", "--week", "mon 09:00-10:00")
    assert code == 1
    assert "no queue named 'nope'" in err


def test_bot_set_and_show(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(FLOW, "utf-8")
    code, out, err = run(capsys, "bot", "set", "default", "--file", str(path))
    assert code == 0, err
    flow = json.loads(out)["flow"]
    assert flow["language"] == "ru"
    assert flow["collect"][0]["field"] == "phone"
    code, out, _ = run(capsys, "bot", "show")
    assert json.loads(out)["flow"]["greeting"] == "Здравствуйте! Чем помочь?"

    # JSON is accepted too.
    path.write_text(json.dumps({"language": "en", "greeting": "Hi!"}), "utf-8")
    code, out, err = run(capsys, "bot", "set", "default", "--file", str(path))
    assert code == 0, err
    assert json.loads(out)["flow"]["greeting"] == "Hi!"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("language: ru\nfaq:\n  - answer: 'x'\n    keywords: доставка\n", "faq[0].keywords"),
        ("language: ru\ngreting: 'typo'\n", "greting"),
        ("language: ru\nfaq: [\n", "line"),
        ("language: de\n", "language"),
    ],
)
def test_a_bad_flow_file_exits_non_zero_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(content, "utf-8")
    code, out, err = run(capsys, "bot", "set", "default", "--file", str(path))
    assert code != 0
    assert out == ""
    assert message in err
    code, out, _ = run(capsys, "bot", "show")
    assert json.loads(out)["flow"] is None


def test_a_missing_or_binary_flow_file_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "bot", "set", "default", "--file", str(tmp_path / "none.yaml"))
    assert code != 0
    assert "cannot read" in err
    binary = tmp_path / "flow.bin"
    binary.write_bytes(b"\xff\xfe\x00")
    code, _, err = run(capsys, "bot", "set", "default", "--file", str(binary))
    assert code != 0
    assert "not UTF-8" in err


def test_payment_and_order_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "payment", "add", "sandbox", "Sandbox")
    assert code == 0, err
    provider = json.loads(out)
    assert provider["webhook_url"].endswith(f"/webhooks/payments/sandbox/{provider['id']}")
    assert provider["options"]["secret"] == "***"
    code, out, _ = run(capsys, "payment", "list")
    assert [json.loads(line)["id"] for line in out.splitlines()] == [provider["id"]]

    code, _, err = run(capsys, "order", "add", "no-such", "--line", "Lens;1;10.00")
    assert code == 1
    assert "no such conversation" in err
    code, _, err = run(capsys, "order", "add", "x", "--line", "Lens;one;10.00")
    assert code == 2
    assert "whole number" in err
    with pytest.raises(SystemExit) as exited:  # argparse's own usage error
        run(capsys, "payment", "add", "paypal", "P")
    assert exited.value.code == 2
    assert "paypal" in capsys.readouterr().err
