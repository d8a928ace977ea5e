"""The settings the console's admin pages use (SQLite and PostgreSQL): operators and
channels added and paused over REST with the CLI's checks; operators may not."""

from __future__ import annotations

from inbox.domain.operators import Role
from tests.e2e.conftest import Live


async def test_admins_add_operators_and_others_may_not(live: Live) -> None:
    await live.add_operator("root", Role.ADMIN)
    await live.add_operator("anna")
    admin, anna = await live.token("root"), await live.token("anna")
    body = {"login": "boris", "password": "long enough", "name": "Boris", "capacity": 3}
    status, created = await live.api("POST", "/api/v1/operators", admin, json=body)
    assert status == 201, created
    assert created["operator"]["login"] == "boris"
    assert "password" not in str(created)
    status, again = await live.api("POST", "/api/v1/operators", admin, json=body)
    assert status == 409, again
    status, refused = await live.api("POST", "/api/v1/operators", anna, json=body)
    assert status == 403, refused
    status, bad = await live.api(
        "POST", "/api/v1/operators", admin, json={**body, "login": "x", "role": "god"}
    )
    assert status == 400, bad


async def test_admins_add_and_pause_channels(live: Live) -> None:
    await live.add_operator("root", Role.ADMIN)
    await live.add_operator("sveta", Role.SUPERVISOR)
    admin, boss = await live.token("root"), await live.token("sveta")
    status, body = await live.api(
        "POST",
        "/api/v1/channels",
        admin,
        json={"kind": "webchat", "name": "Site", "options": {"title": "Hi"}},
    )
    assert status == 201, body
    channel = body["channel"]
    assert channel["websocket_url"].endswith(f"/ws/webchat/{channel['id']}")
    assert channel["options"]["visitor_secret"] == "***"
    for payload, code in (
        ({"kind": "fax", "name": "F"}, 400),
        ({"kind": "webchat", "name": "S", "options": {"titel": "typo"}}, 400),
        ({"kind": "webchat", "name": "S", "options": {"title": 5}}, 400),
    ):
        status, body = await live.api("POST", "/api/v1/channels", admin, json=payload)
        assert status == code, body
    status, body = await live.api(
        "POST", "/api/v1/channels", boss, json={"kind": "webchat", "name": "S"}
    )
    assert status == 403, body

    status, body = await live.api(
        "PATCH", f"/api/v1/channels/{channel['id']}", admin, json={"enabled": False}
    )
    assert status == 200, body
    assert body["channel"]["enabled"] is False
    status, body = await live.api("GET", "/api/v1/channels", boss)
    listed = {c["id"]: c for c in body["channels"]}
    assert listed[channel["id"]]["enabled"] is False
    assert "websocket_url" in listed[channel["id"]]
