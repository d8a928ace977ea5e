"""The ``inbox`` command: JSON out, clear messages and exit codes (0 ok, 1 failed, 2 usage)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from server.cli import main


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


def test_operator_add_prints_json_without_the_password(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "operator",
        "add",
        "anna",
        "--password",
        "s3cret-pass",
        "--name",
        "Anna",
        "--role",
        "supervisor",
        "--skills",
        "ru,lenses=3",
        "--capacity",
        "4",
    )
    assert code == 0
    operator = json.loads(out)
    assert operator["login"] == "anna"
    assert operator["role"] == "supervisor"
    assert operator["skills"] == {"ru": 1, "lenses": 3}
    assert operator["capacity"] == 4
    assert "s3cret-pass" not in out
    code, _, err = run(capsys, "operator", "add", "anna", "--password", "another-pass")
    assert code == 1
    assert "taken" in err
    code, out, _ = run(capsys, "operator", "list")
    assert [json.loads(line)["login"] for line in out.splitlines()] == ["anna"]


@pytest.mark.parametrize(
    "argv",
    [
        ["operator", "add", "bob", "--password", "short"],
        ["operator", "add", "bob", "--password", "long enough", "--skills", "x=99"],
        ["operator", "add", "bob", "--password", "long enough", "--role", "king"],
        ["operator", "add", "bad login!", "--password", "long enough"],
        ["operator", "add", "bob", "--password", "long enough", "--capacity", "-1"],
        ["channel", "add", "webchat", "Shop", "--option", "no-equals-sign"],
        ["channel", "add", "webchat", "Shop", "--option", "colour=red"],
        ["channel", "add", "fax", "Shop"],
        ["frobnicate"],
    ],
)
def test_bad_arguments_exit_2_and_write_nothing(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    try:
        code, _, err = run(capsys, *argv)
    except SystemExit as exc:  # argparse's own usage errors
        code, err = int(exc.code or 0), capsys.readouterr().err
    assert code == 2
    assert err.strip()
    code, out, _ = run(capsys, "operator", "list")
    assert out == ""
    code, out, _ = run(capsys, "channel", "list")
    assert out == ""


def test_channel_add_webchat_list_and_disable(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "channel", "add", "webchat", "Shop", "--option", "origin=https://shop.example"
    )
    assert code == 0
    channel = json.loads(out)
    assert channel["kind"] == "webchat"
    assert channel["options"]["origin"] == "https://shop.example"
    assert channel["options"]["visitor_secret"] == "***"  # secrets never leave the server
    assert f'data-channel="{channel["id"]}"' in channel["embed"]
    assert channel["websocket_url"].endswith(f"/ws/webchat/{channel['id']}")
    code, out, _ = run(capsys, "channel", "disable", channel["id"])
    assert code == 0
    assert json.loads(out)["enabled"] is False
    code, out, _ = run(capsys, "channel", "list")
    assert [json.loads(line)["id"] for line in out.splitlines()] == [channel["id"]]
    code, _, err = run(capsys, "channel", "enable", "no-such-id")
    assert code == 1
    assert "no such channel" in err


@pytest.mark.parametrize(
    ("kind", "missing"),
    [
        ("email", "address"),
        ("telegram", "token"),
        ("whatsapp", "phone_number_id"),
        ("vk", "group_id"),
        ("viber", "token"),
    ],
)
def test_a_messenger_channel_without_its_options_is_refused_clearly(
    capsys: pytest.CaptureFixture[str], kind: str, missing: str
) -> None:
    code, _, err = run(capsys, "channel", "add", kind, "Shop")
    assert code == 2
    assert missing in err
    code, out, _ = run(capsys, "channel", "list")
    assert out == ""  # nothing stored


def test_migrate(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "migrate")
    assert code == 0
    assert "up to date" in out


def test_operator_update_changes_skills_and_capacity(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "operator", "add", "anna", "--password", "s3cret-pass")[0] == 0
    code, out, _ = run(
        capsys, "operator", "update", "anna", "--skills", "lenses=4,lang:ru", "--capacity", "2"
    )
    assert code == 0
    assert json.loads(out)["skills"] == {"lenses": 4, "lang:ru": 1}
    assert json.loads(out)["capacity"] == 2
    assert run(capsys, "operator", "update", "anna", "--skills", "lenses=11")[0] == 2
    code, _, err = run(capsys, "operator", "update", "ghost", "--capacity", "1")
    assert code == 1
    assert "no operator" in err


def test_queue_commands_add_update_list_and_refuse_bad_flags(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(capsys, "operator", "add", "anna", "--password", "s3cret-pass")[0] == 0
    code, out, _ = run(
        capsys,
        "queue",
        "add",
        "Lenses",
        "--members",
        "anna",
        "--skills",
        "lenses=2",
        "--strategy",
        "round-robin",
        "--accept-timeout",
        "30",
        "--escalation",
        "0:last",
        "--escalation",
        "60:lenses=3",
        "--escalation",
        "120:any",
        "--sla",
        "0:300/86400",
        "--priority",
        "tag:vip=10",
        "--position-interval",
        "120",
        "--language",
        "ru",
    )
    assert code == 0
    queue = json.loads(out)
    settings = queue["settings"]
    assert settings["strategy"] == "round_robin"
    assert settings["accept_timeout"] == 30
    assert [s["target"] for s in settings["escalation"]] == ["last_operator", "skills", "any"]
    assert settings["sla"] == {"0": {"first_response": 300, "resolution": 86400}}
    assert settings["priority"] == [{"rule": "tag", "tag": "vip", "bonus": 10}]
    assert settings["position"] == {"interval": 120, "language": "ru"}
    assert len(settings["members"]) == 1
    assert run(capsys, "queue", "add", "Night")[0] == 0
    code, out, _ = run(
        capsys,
        "queue",
        "update",
        "Lenses",
        "--escalation",
        "0:any",
        "--escalation",
        "600:overflow=Night",
        "--rename",
        "Optics",
    )
    assert code == 0
    assert json.loads(out)["name"] == "Optics"
    code, out, _ = run(capsys, "queue", "update", "Optics", "--visible-to", "members")
    assert code == 0
    assert json.loads(out)["settings"]["visible_to"] == "members"
    with pytest.raises((SystemExit, argparse.ArgumentError)) as refused:  # argparse's refusal
        main(["queue", "update", "Optics", "--visible-to", "nobody"])
    assert "invalid choice: 'nobody'" in str(refused.value) + capsys.readouterr().err
    code, out, _ = run(capsys, "queue", "list")
    names = [json.loads(line)["name"] for line in out.splitlines()]
    assert "Optics" in names
    assert "Night" in names
    for argv, message in (
        (("queue", "add", "X", "--strategy", "fastest"), "strategy"),
        (("queue", "add", "X", "--sla", "0:abc"), "--sla"),
        (("queue", "add", "X", "--escalation", "10:any"), "start at 0"),
        (("queue", "add", "X", "--members", "ghost"), "ghost"),
        (("queue", "add", "Night"), "exists"),
        (("queue", "update", "Nope", "--pick"), "no queue"),
    ):
        code, _, err = run(capsys, *argv)
        assert code in (1, 2), argv
        assert message in err, (argv, err)
