"""The access log of ``inbox serve``: routine provider callbacks left out in the quiet
mode, failures always in, never a query string (server/access_log.py)."""

from __future__ import annotations

import logging

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.access_log import InboxAccessLogger, is_routine
from server.config import ConfigError, load_settings
from server.webhooks import RefusalLog


async def _ok(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def _refused(request: web.Request) -> web.Response:
    return web.json_response({"error": {"code": "unauthorized"}}, status=401)


async def _serve_and_call(mode: str, caplog: pytest.LogCaptureFixture) -> list[str]:
    app = web.Application()
    app.router.add_post("/webhooks/telegram/c1", _ok)
    app.router.add_post("/webhooks/vk/c2", _refused)
    app.router.add_get("/api/v1/me", _ok)
    app.router.add_get("/healthz", _ok)
    server = TestServer(app)
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    # The runner takes the class as ``inbox serve``'s ``web.run_app`` does.
    await server.start_server(access_log_class=InboxAccessLogger.configure(mode))
    try:
        async with aiohttp.ClientSession() as http:
            for method, path in (
                ("POST", "/webhooks/telegram/c1?hub.verify_token=SECRET-TOKEN"),
                ("POST", "/webhooks/vk/c2"),
                ("GET", "/api/v1/me?q=private-words"),
                ("GET", "/healthz"),
            ):
                async with http.request(method, server.make_url(path)) as resp:
                    await resp.read()
    finally:
        await server.close()
    return [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]


async def test_quiet_leaves_out_routine_callbacks_and_keeps_failures(
    caplog: pytest.LogCaptureFixture,
) -> None:
    lines = await _serve_and_call("quiet", caplog)
    assert len(lines) == 2, lines
    assert any('"POST /webhooks/vk/c2" 401' in line for line in lines)
    assert any('"GET /api/v1/me" 200' in line for line in lines)
    assert not any("SECRET-TOKEN" in line or "private-words" in line for line in lines)


async def test_all_logs_every_request_without_its_query(caplog: pytest.LogCaptureFixture) -> None:
    lines = await _serve_and_call("all", caplog)
    assert len(lines) == 4, lines
    assert any('"POST /webhooks/telegram/c1" 200' in line for line in lines)
    assert not any("?" in line for line in lines)


async def test_off_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    assert await _serve_and_call("off", caplog) == []


def test_routine_means_a_successful_callback_or_health_check() -> None:
    assert is_routine("/webhooks/whatsapp/x", 200)
    assert is_routine("/webhooks/payments/yookassa/p", 200)
    assert is_routine("/healthz", 200)
    assert not is_routine("/webhooks/whatsapp/x", 403)
    # Back-pressure refusals of provider callbacks are counted by the endpoint instead.
    assert is_routine("/webhooks/telegram/x", 503)
    assert not is_routine("/api/v1/conversations", 503)
    assert not is_routine("/webhooks/telegram/x", 500)
    assert not is_routine("/api/v1/conversations", 200)


def test_an_unknown_mode_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="INBOX_ACCESS_LOG"):
        load_settings({"INBOX_ACCESS_LOG": "loud"}, toml_path="/nonexistent.toml")
    assert load_settings({}, toml_path="/nonexistent.toml").access_log == "quiet"
    with pytest.raises(ValueError):
        InboxAccessLogger.configure("loud")


def test_refusals_under_back_pressure_are_logged_as_a_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    refusals = RefusalLog(every=10.0, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, "server.webhooks"):
        for _ in range(500):
            refusals.note("telegram")  # within the first 10 s: no line yet
        assert caplog.records == []
        now[0] = 111.0
        refusals.note("vk")
        [line] = caplog.records
        assert line.levelno == logging.WARNING
        assert "refused 501 webhook calls" in line.getMessage()
        assert "telegram 500, vk 1" in line.getMessage()
        refusals.note("vk")  # the count starts again
        assert len(caplog.records) == 1
