"""Every report figure of a known month (tests/reports/scenario.py), exactly, over the real
REST API and the command line, on SQLite and PostgreSQL; filters, groups, CSV, bad
periods and permissions."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from inbox.domain.clock import FixedClock
from server.app import SERVICES, create_app
from server.cli import main
from tests.e2e.conftest import make_settings
from tests.reports.scenario import HASHER, PASSWORD, Scenario, msk

MARCH = {"from": "2026-03-01", "to": "2026-03-31", "tz": "Europe/Moscow"}


class Api:
    def __init__(self, server: TestServer, http: aiohttp.ClientSession) -> None:
        self.server = server
        self.http = http

    async def token(self, login: str) -> str:
        async with self.http.post(
            self.server.make_url("/api/v1/auth/login"), json={"login": login, "password": PASSWORD}
        ) as resp:
            assert resp.status == 200, await resp.text()
            return str((await resp.json())["token"])

    async def get(self, path: str, token: str, **params: str) -> tuple[int, str, str]:
        async with self.http.get(
            self.server.make_url(path),
            params=params,
            headers={"Authorization": f"Bearer {token}"},
        ) as resp:
            return resp.status, resp.content_type, await resp.text()

    async def json(self, path: str, token: str, **params: str) -> Any:
        status, kind, body = await self.get(path, token, **params)
        assert (status, kind) == (200, "application/json"), body
        return json.loads(body)


@pytest.fixture
async def month(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[Scenario, Api]]:
    clock = FixedClock(msk(28, 23, 0, month=2))
    app = await create_app(make_settings(database_url, tmp_path), clock=clock, hasher=HASHER)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        scenario = Scenario(app[SERVICES], clock)
        await scenario.run()
        async with aiohttp.ClientSession() as http:
            yield scenario, Api(server, http)
    finally:
        await server.close()


def figures(
    received: int,
    answered: int,
    missed: int,
    frt: tuple[float | None, float | None],
    resolution: tuple[float | None, float | None],
) -> dict[str, Any]:
    return {
        "received": received,
        "answered": answered,
        "missed": missed,
        "first_response_seconds": {"median": frt[0], "p90": frt[1]},
        "resolution_seconds": {"median": resolution[0], "p90": resolution[1]},
    }


async def test_every_figure_of_a_known_month(month: tuple[Scenario, Api]) -> None:
    scenario, api = month
    sup = await api.token("sup")
    report = await api.json("/api/v1/reports/summary", sup, **MARCH)
    assert report["period"] == {"from": "2026-03-01", "to": "2026-03-31", "tz": "Europe/Moscow"}
    # E8 E1 E2 E3 E4 E5 E6 E7 (E0 is February's; E6's and E7's ratings are no requests).
    assert {k: report[k] for k in figures(0, 0, 0, (0, 0), (0, 0))} == figures(
        8,
        5,  # E8 E1 E2 E4 E6
        2,  # E3 closed unanswered, E5 abandoned
        (120.0, 288.0),  # 30 60 120 120 400
        (600.0, 3720.0),  # 200 300 600 1800 5000
    )
    assert report["first_response_business_seconds"] == {"median": 90.0, "p90": 288.0}
    assert report["bot_resolved"] == 1  # E7
    assert report["resolved"] == 5
    assert report["sla"] == {"met": 1, "total": 3, "met_percent": 33.33}  # E1 met; E2, E3 not
    assert report["csat"] == {"average": 4.0, "count": 2}
    assert report["close_reasons"] == {"": 2, "Sold": 1, "Spam": 1, "Too expensive": 1}
    assert list(report["close_reasons"]) == ["", "Sold", "Spam", "Too expensive"]
    assert report["customers"] == {"new": 7, "returning": 1}  # E4 is c1's second request
    assert report["orders"] == {
        "created": 3,
        "paid": 2,
        "paid_total": "3950.00",
        "currency": "RUB",
        "paid_totals": {"RUB": "3950.00"},
        "converted": 2,
        "conversion_percent": 25.0,
    }

    # The heat map in Moscow time: weekday (Monday 0) and hour of each request.
    hours = await api.json("/api/v1/reports/hours", sup, **MARCH)
    expected = [[0] * 24 for _ in range(7)]
    for day, hour in ((6, 0), (0, 10), (0, 10), (1, 15), (2, 9), (3, 23), (4, 12), (4, 12)):
        expected[day][hour] += 1
    assert hours["cells"] == expected
    assert hours["max"] == 2
    assert hours["weekdays"][0] == "mon"

    # The same month in UTC loses E8 (2026-02-28 21:10 UTC).
    utc = await api.json("/api/v1/reports/summary", sup, **{**MARCH, "tz": "UTC"})
    assert utc["period"]["tz"] == "UTC"
    assert (utc["received"], utc["answered"]) == (7, 4)
    # February (Moscow) has E0 only, unanswered and open for more than a day: missed.
    feb = await api.json(
        "/api/v1/reports/summary",
        sup,
        **{"from": "2026-02-01", "to": "2026-02-28", "tz": "Europe/Moscow"},
    )
    assert {k: feb[k] for k in ("received", "answered", "missed")} == {
        "received": 1,
        "answered": 0,
        "missed": 1,
    }
    assert feb["first_response_seconds"] == {"median": None, "p90": None}
    assert feb["orders"]["paid_total"] == "0"

    await _filters(scenario, api, sup)
    await _breakdowns(scenario, api, sup)
    await _csv(api, sup, report)


async def _filters(scenario: Scenario, api: Api, sup: str) -> None:
    assert scenario.shop is not None
    path = "/api/v1/reports/summary"
    shop = await api.json(path, sup, **MARCH, channel=scenario.shop.id)
    assert {k: shop[k] for k in ("received", "answered", "missed")} == {
        "received": 6,
        "answered": 4,
        "missed": 2,
    }
    assert shop["csat"] == {"average": None, "count": 0}
    anna = await api.json(path, sup, **MARCH, operator=scenario.ops["anna"].id)
    assert anna["received"] == 3  # E1 E4 E6
    assert anna["first_response_seconds"] == {"median": 120.0, "p90": 120.0}  # 60 120 120
    assert anna["orders"]["paid"] == 2
    support = await api.json(path, sup, **MARCH, queue=scenario.queues["support"])
    assert (support["received"], support["csat"]["count"]) == (1, 1)  # E6 (E7 never queued)
    vip = await api.json(path, sup, **MARCH, tag="vip")
    assert (vip["received"], vip["customers"]) == (3, {"new": 2, "returning": 1})
    both = await api.json(path, sup, **MARCH, tag="vip", channel=scenario.shop.id)
    assert both["received"] == 2
    nobody = await api.json(path, sup, **MARCH, tag="nobody")
    assert nobody["received"] == 0
    assert nobody["csat"]["average"] is None


async def _breakdowns(scenario: Scenario, api: Api, sup: str) -> None:
    assert scenario.shop is not None
    assert scenario.help is not None
    path = "/api/v1/reports/breakdown"

    def rows(report: dict[str, Any]) -> dict[str | None, dict[str, Any]]:
        return {r["group"]: r for r in report["rows"]}

    by_channel = await api.json(path, sup, **MARCH, by="channel")
    assert by_channel["by"] == "channel"
    got = rows(by_channel)
    assert set(got) == {scenario.shop.id, scenario.help.id}
    assert got[scenario.shop.id]["name"] == "Shop"
    assert {
        k: got[scenario.help.id][k] for k in ("received", "answered", "missed", "bot_resolved")
    } == {
        "received": 2,
        "answered": 1,
        "missed": 0,
        "bot_resolved": 1,
    }
    assert got[scenario.help.id]["csat"] == {"average": 4.0, "count": 2}
    assert [r["group"] for r in by_channel["rows"]] == [scenario.shop.id, scenario.help.id]

    ops = scenario.ops
    by_operator = rows(await api.json(path, sup, **MARCH, by="operator"))
    assert {k: v["received"] for k, v in by_operator.items()} == {
        ops["anna"].id: 3,
        ops["boris"].id: 2,  # E8 E2
        None: 3,  # E3 E5 E7
    }
    assert by_operator[ops["boris"].id]["name"] == "Boris"
    assert by_operator[ops["boris"].id]["first_response_seconds"] == {"median": 215.0, "p90": 363.0}
    assert by_operator[ops["boris"].id]["orders"]["created"] == 1

    by_queue = rows(await api.json(path, sup, **MARCH, by="queue"))
    assert {k: v["received"] for k, v in by_queue.items()} == {
        scenario.queues["sales"]: 6,
        scenario.queues["support"]: 1,
        None: 1,
    }
    assert by_queue[scenario.queues["sales"]]["sla"] == {"met": 1, "total": 3, "met_percent": 33.33}
    assert by_queue[scenario.queues["sales"]]["name"] == "sales"

    by_tag = rows(await api.json(path, sup, **MARCH, by="tag"))
    assert {k: v["received"] for k, v in by_tag.items()} == {"vip": 3, "wholesale": 1, None: 4}
    assert by_tag["vip"]["orders"]["paid_total"] == "3950.00"
    assert by_tag["wholesale"]["close_reasons"] == {"Too expensive": 1}


async def _csv(api: Api, sup: str, report: dict[str, Any]) -> None:
    status, kind, body = await api.get("/api/v1/reports/summary", sup, **MARCH, format="csv")
    assert (status, kind) == (200, "text/csv")
    (row,) = list(csv.DictReader(io.StringIO(body)))
    assert row["received"] == "8"
    assert row["missed"] == "2"
    assert float(row["first_response_median"]) == report["first_response_seconds"]["median"]
    assert float(row["resolution_p90"]) == 3720.0
    assert row["csat_average"] == "4.0"
    assert row["csat_count"] == "2"
    assert row["paid_total"] == "3950.00"
    assert row["currency"] == "RUB"
    assert row["sla_met_percent"] == "33.33"
    assert json.loads(row["close_reasons"]) == report["close_reasons"]
    assert row["returning_customers"] == "1"

    status, kind, body = await api.get(
        "/api/v1/reports/breakdown", sup, **MARCH, by="tag", format="csv"
    )
    assert (status, kind) == (200, "text/csv")
    parsed = {r["group"]: r for r in csv.DictReader(io.StringIO(body))}
    assert set(parsed) == {"vip", "wholesale", ""}
    assert parsed["vip"]["received"] == "3"

    status, kind, body = await api.get("/api/v1/reports/hours", sup, **MARCH, format="csv")
    cells = list(csv.DictReader(io.StringIO(body)))
    assert len(cells) == 7 * 24
    assert {"weekday": "mon", "hour": "10", "received": "2"} in cells


async def test_the_command_line_prints_the_same_reports(
    month: tuple[Scenario, Api],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scenario, api = month
    assert scenario.shop is not None
    expected = await api.json("/api/v1/reports/summary", await api.token("sup"), **MARCH)
    monkeypatch.setenv("INBOX_DATABASE_URL", database_url)
    flags = ["--from", "2026-03-01", "--to", "2026-03-31", "--tz", "Europe/Moscow"]
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["report", "summary", *flags]) == 0
    assert json.loads(capsys.readouterr().out) == expected
    assert (
        await asyncio.to_thread(
            main, ["report", "summary", *flags, "--channel", scenario.shop.id, "--csv"]
        )
        == 0
    )
    (row,) = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert row["received"] == "6"
    assert (
        await asyncio.to_thread(main, ["report", "breakdown", *flags, "--by", "operator", "--csv"])
        == 0
    )
    groups = {
        r["name"]: r["received"] for r in csv.DictReader(io.StringIO(capsys.readouterr().out))
    }
    assert groups == {"Anna": "3", "Boris": "2", "": "3"}
    assert (
        await asyncio.to_thread(
            main, ["report", "summary", "--from", "2026-03-31", "--to", "2026-03-01"]
        )
        == 2
    )
    assert "after" in capsys.readouterr().err
