"""Boolean settings: ``INBOX_ONLINE_ON_LOGIN`` from the environment or inbox.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.config import ConfigError, load_settings


def test_online_on_login_is_on_by_default(tmp_path: Path) -> None:
    assert load_settings({}, str(tmp_path / "none.toml")).online_on_login is True


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("false", False), ("0", False), ("no", False), ("OFF", False), ("true", True), ("1", True)],
)
def test_online_on_login_from_the_environment(tmp_path: Path, raw: str, expected: bool) -> None:
    settings = load_settings({"INBOX_ONLINE_ON_LOGIN": raw}, str(tmp_path / "none.toml"))
    assert settings.online_on_login is expected


def test_online_on_login_from_toml(tmp_path: Path) -> None:
    toml = tmp_path / "inbox.toml"
    toml.write_text("online_on_login = false\n", "utf-8")
    assert load_settings({}, str(toml)).online_on_login is False


def test_a_flag_that_is_no_flag_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="INBOX_ONLINE_ON_LOGIN"):
        load_settings({"INBOX_ONLINE_ON_LOGIN": "maybe"}, str(tmp_path / "none.toml"))
