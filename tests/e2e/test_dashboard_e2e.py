"""The live supervisor dashboard end to end (docs/routing.md, "The dashboard";
docs/operator-protocol.md, ``dashboard.subscribe``): over the real WebSocket and REST
surface, with a short interval so the feed's rounds come quickly."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from inbox.domain.operators import Role
from server.app import SERVICES
from tests.e2e.conftest import Live, OperatorClient

INTERVAL = 0.1


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"dashboard_interval_seconds": INTERVAL}


async def _dashboard_where(
    client: OperatorClient, check: Any, timeout: float = 5.0
) -> dict[str, Any]:
    """The first ``dashboard`` frame whose numbers pass ``check``."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, "no dashboard frame with the expected numbers"
        frame = await client.expect("dashboard", timeout=left)
        if check(frame["dashboard"]):
            return frame


async def _frames_for(client: OperatorClient, seconds: float) -> list[dict[str, Any]]:
    """Every frame that arrives within ``seconds``."""
    got = list(client.pending)
    client.pending.clear()
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            got.append(await client.recv(left))
        except TimeoutError:
            break
    return got


async def _until(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_supervisors_get_live_numbers_and_operators_are_refused(live: Live) -> None:
    await live.add_operator("sam", Role.SUPERVISOR)
    await live.add_operator("anna")
    sam_token, anna_token = await live.token("sam"), await live.token("anna")
    feed = live.app[SERVICES].dashboard

    sam, _ = await live.operator(sam_token)
    ack = await sam.command("dashboard.subscribe")
    assert ack == {**ack, "type": "ack", "subscribed": "dashboard"}
    first = await sam.expect("dashboard")
    numbers = first["dashboard"]
    assert numbers["totals"]["waiting"] == 0
    assert numbers["totals"]["longest_wait_since"] is None
    assert numbers["operators"]["offline"] == 2
    assert feed.subscribed() == 1

    # An operator's socket is refused, and so is the REST read.
    anna, _ = await live.operator(anna_token)
    refused = await anna.command("dashboard.subscribe")
    assert refused["type"] == "error"
    assert refused["code"] == "forbidden"
    assert feed.subscribed() == 1
    status, body = await live.api("GET", "/api/v1/dashboard", anna_token)
    assert status == 403, body
    assert body["error"]["code"] == "forbidden"

    # A customer writes; nobody is online, so it waits: the numbers change at once.
    customer = await live.customer()
    await customer.hello()
    await customer.say("Where is my parcel?", "c-1")
    frame = await _dashboard_where(sam, lambda d: d["totals"]["waiting"] == 1)
    totals = frame["dashboard"]["totals"]
    assert totals["longest_wait_since"] is not None
    assert [(q["name"], q["waiting"]) for q in frame["dashboard"]["queues"]] == [("Default", 1)]
    # Nothing else changes: no more dashboard frames, though the wait grows.
    quiet = await _frames_for(sam, 8 * INTERVAL)
    assert [f for f in quiet if f["type"] == "dashboard"] == []

    # The REST read gives the same numbers.
    status, body = await live.api("GET", "/api/v1/dashboard", sam_token)
    assert status == 200, body
    assert body["dashboard"]["totals"]["waiting"] == 1
    assert body["dashboard"]["totals"]["longest_wait_since"] == totals["longest_wait_since"]

    # A second supervisor's console gets the last frame at once.
    await live.add_operator("sue", Role.SUPERVISOR)
    sue, _ = await live.operator(await live.token("sue"))
    assert (await sue.command("dashboard.subscribe"))["type"] == "ack"
    sue_first = await sue.expect("dashboard")
    assert sue_first["dashboard"] == frame["dashboard"]
    assert feed.subscribed() == 2

    # Anna comes online: the numbers change for both consoles.
    ack = await anna.command("presence.set", status="online")
    assert ack["type"] == "ack"
    for client in (sam, sue):
        await _dashboard_where(client, lambda d: d["operators"]["online"] == 1)

    # Unsubscribing is acked; a closed console is unsubscribed.
    ack = await sue.command("dashboard.unsubscribe")
    assert ack == {**ack, "type": "ack", "unsubscribed": "dashboard"}
    assert feed.subscribed() == 1
    await sam.ws.close()
    await _until(lambda: feed.subscribed() == 0)


async def test_an_api_token_with_reports_read_reads_the_dashboard(live: Live) -> None:
    await live.add_operator("root", Role.ADMIN)
    admin = await live.token("root")
    tokens = {}
    for scope in ("reports:read", "conversations:read"):
        status, created = await live.api(
            "POST", "/api/v1/tokens", admin, json={"name": scope, "scopes": [scope]}
        )
        assert status == 201, created
        tokens[scope] = created["token"]
    status, body = await live.api("GET", "/api/v1/dashboard", tokens["reports:read"])
    assert status == 200, body
    assert set(body["dashboard"]) >= {"totals", "operators", "queues", "tz", "day_start"}
    status, body = await live.api("GET", "/api/v1/dashboard", tokens["conversations:read"])
    assert status == 403, body
    assert body["error"]["message"] == "this API token lacks the scope reports:read"


async def test_today_is_a_day_in_the_zone_of_the_inbox_business_hours(live: Live) -> None:
    await live.add_operator("root", Role.ADMIN)
    admin = await live.token("root")
    status, body = await live.api("GET", "/api/v1/dashboard", admin)
    assert status == 200, body
    assert body["dashboard"]["tz"] == "UTC"
    hours = {"tz": "Asia/Vladivostok", "week": "mon-sun 00:00-24:00"}
    status, body = await live.api("PUT", "/api/v1/bots/default/hours", admin, json=hours)
    assert status == 200, body
    status, body = await live.api("GET", "/api/v1/dashboard", admin)
    assert status == 200, body
    assert body["dashboard"]["tz"] == "Asia/Vladivostok"
    assert body["dashboard"]["day_start"].endswith("T00:00:00+10:00")
