"""Who may read reports, and what a bad period gets: 400 with a clear JSON error, 403 for a
plain operator, 401 without a session (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from inbox.domain.operators import Role
from inbox.usecases import add_operator
from server.app import SERVICES, create_app
from tests.e2e.conftest import make_settings
from tests.reports.scenario import HASHER, PASSWORD

PATHS = ("/api/v1/reports/summary", "/api/v1/reports/breakdown", "/api/v1/reports/hours")


@pytest.fixture
async def server(
    database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[TestServer, dict[str, str]]]:
    app = await create_app(make_settings(database_url, tmp_path), hasher=HASHER)
    core = app[SERVICES].core
    for login, role in (("op", Role.OPERATOR), ("sup", Role.SUPERVISOR), ("adm", Role.ADMIN)):
        await add_operator(core, HASHER, login=login, password=PASSWORD, role=role)
    srv = TestServer(app, host="127.0.0.1")
    await srv.start_server()
    tokens: dict[str, str] = {}
    try:
        async with aiohttp.ClientSession() as http:
            for login in ("op", "sup", "adm"):
                async with http.post(
                    srv.make_url("/api/v1/auth/login"), json={"login": login, "password": PASSWORD}
                ) as resp:
                    tokens[login] = (await resp.json())["token"]
        yield srv, tokens
    finally:
        await srv.close()


async def _get(srv: TestServer, path: str, token: str | None, **params: str) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as http,
        http.get(srv.make_url(path), params=params, headers=headers) as resp,
    ):
        return resp.status, await resp.json()


async def test_only_supervisors_and_admins_read_reports(
    server: tuple[TestServer, dict[str, str]],
) -> None:
    srv, tokens = server
    period = {"from": "2026-03-01", "to": "2026-03-31", "by": "channel"}
    for path in PATHS:
        status, body = await _get(srv, path, tokens["op"], **period)
        assert status == 403, (path, body)
        assert body["error"]["code"] == "forbidden"
        status, body = await _get(srv, path, None, **period)
        assert status == 401
        for login in ("sup", "adm"):
            status, body = await _get(srv, path, tokens[login], **period)
            assert status == 200, (path, body)
    # An empty inbox has a report of zeros and unknowns, not an error.
    status, body = await _get(srv, PATHS[0], tokens["sup"], **period)
    assert body["received"] == 0
    assert body["first_response_seconds"] == {"median": None, "p90": None}
    assert body["csat"] == {"average": None, "count": 0}
    assert body["orders"] == {
        "created": 0,
        "paid": 0,
        "paid_total": "0",
        "currency": None,
        "paid_totals": {},
        "converted": 0,
        "conversion_percent": None,
    }
    assert body["period"]["tz"] == "UTC"  # no business hours: the server's zone is UTC


BAD = (
    ({"to": "2026-03-31"}, "'from' is required"),
    ({"from": "2026-03-01"}, "'to' is required"),
    ({"from": "2026-13-01", "to": "2026-03-31"}, "YYYY-MM-DD"),
    ({"from": "yesterday", "to": "2026-03-31"}, "YYYY-MM-DD"),
    ({"from": "2026-03-31", "to": "2026-03-01"}, "is after"),
    ({"from": "2025-01-01", "to": "2026-01-02"}, "at most 366"),
    ({"from": "2026-03-01", "to": "2026-03-31", "tz": "Mars/Olympus"}, "time zone"),
    ({"from": "2026-03-01", "to": "2026-03-31", "format": "xml"}, "json or csv"),
)


async def test_a_bad_period_is_a_400_with_a_clear_error(
    server: tuple[TestServer, dict[str, str]],
) -> None:
    srv, tokens = server
    for params, words in BAD:
        for path in PATHS:
            status, body = await _get(srv, path, tokens["sup"], **{"by": "queue", **params})
            assert status == 400, (path, body)
            assert body["error"]["code"] == "invalid_input"
            assert words in body["error"]["message"], (params, body)


async def test_a_breakdown_needs_a_known_group(server: tuple[TestServer, dict[str, str]]) -> None:
    srv, tokens = server
    period = {"from": "2026-03-01", "to": "2026-03-31"}
    for by in (None, "weather"):
        params = {**period, "by": by} if by else period
        status, body = await _get(srv, PATHS[1], tokens["sup"], **params)
        assert status == 400
        assert "'by' must be one of channel, queue, operator, tag" in body["error"]["message"]
    # 366 days (a leap year) is the longest period.
    status, _ = await _get(
        srv, PATHS[0], tokens["sup"], **{"from": "2028-01-01", "to": "2028-12-31"}
    )
    assert status == 200
