"""What the console's settings pages rely on the server to refuse (SQLite and PostgreSQL):
a plain operator changes no operator, channel, queue or close reason (403), creates no
shared canned reply, and never reads or changes another operator's private one (404, as
if it did not exist). And the pages' own files are served."""

from __future__ import annotations

import aiohttp

from inbox.domain.operators import Role
from tests.e2e.conftest import Live


async def test_a_plain_operator_changes_no_settings(live: Live) -> None:
    await live.add_operator("root", Role.ADMIN)
    anna = await live.add_operator("anna")
    admin, token = await live.token("root"), await live.token("anna")
    _, channels = await live.api("GET", "/api/v1/channels", admin)
    _, queues = await live.api("GET", "/api/v1/queues", admin)
    channel_id, queue_id = channels["channels"][0]["id"], queues["queues"][0]["id"]
    refused = [
        ("PATCH", f"/api/v1/operators/{anna.id}", {"capacity": 50}),
        ("PATCH", f"/api/v1/operators/{anna.id}", {"role": "admin"}),
        ("POST", "/api/v1/operators", {"login": "eve", "password": "long enough"}),
        ("PATCH", f"/api/v1/channels/{channel_id}", {"enabled": False}),
        ("POST", "/api/v1/channels", {"kind": "webchat", "name": "Mine"}),
        ("PATCH", f"/api/v1/queues/{queue_id}", {"settings": {"accept_timeout": 5}}),
        ("POST", "/api/v1/queues", {"name": "Mine"}),
        ("PUT", "/api/v1/close-reasons", {"reasons": ["Mine"]}),
        ("POST", "/api/v1/canned-replies", {"shortcut": "/x", "text": "x", "shared": True}),
    ]
    for method, path, body in refused:
        status, answer = await live.api(method, path, token, json=body)
        assert status == 403, (method, path, answer)
        assert answer["error"]["code"] == "forbidden"
    # Nothing of it was stored.
    _, operators = await live.api("GET", "/api/v1/operators", admin)
    me = next(o for o in operators["operators"] if o["login"] == "anna")
    assert (me["capacity"], me["role"]) == (5, "operator")
    assert [o["login"] for o in operators["operators"] if o["login"] == "eve"] == []
    _, after = await live.api("GET", "/api/v1/queues", admin)
    assert "accept_timeout" not in after["queues"][0]["settings"]


async def test_supervisors_change_skills_but_not_roles(live: Live) -> None:
    await live.add_operator("sue", Role.SUPERVISOR)
    anna = await live.add_operator("anna")
    boss = await live.token("sue")
    status, body = await live.api(
        "PATCH", f"/api/v1/operators/{anna.id}", boss, json={"skills": {"ru": 2}, "capacity": 3}
    )
    assert status == 200, body
    assert (body["operator"]["skills"], body["operator"]["capacity"]) == ({"ru": 2}, 3)
    for change in ({"role": "supervisor"}, {"disabled": True}):
        status, body = await live.api("PATCH", f"/api/v1/operators/{anna.id}", boss, json=change)
        assert status == 403, body
    status, body = await live.api("PUT", "/api/v1/close-reasons", boss, json={"reasons": ["A"]})
    assert status == 403, body


async def test_another_operators_private_canned_reply_is_out_of_reach(live: Live) -> None:
    await live.add_operator("anna")
    await live.add_operator("boris")
    await live.add_operator("sue", Role.SUPERVISOR)
    anna, boris, boss = await live.token("anna"), await live.token("boris"), await live.token("sue")
    status, created = await live.api(
        "POST", "/api/v1/canned-replies", anna, json={"shortcut": "/mine", "text": "Anna's own"}
    )
    assert status == 201, created
    reply_id = created["reply"]["id"]
    for token in (boris, boss):
        _, listed = await live.api("GET", "/api/v1/canned-replies", token)
        assert reply_id not in [r["id"] for r in listed["replies"]]
        for method, body in (("PATCH", {"text": "taken over"}), ("DELETE", None)):
            status, answer = await live.api(
                method, f"/api/v1/canned-replies/{reply_id}", token, json=body
            )
            assert status == 404, (method, answer)
    _, listed = await live.api("GET", "/api/v1/canned-replies", anna)
    assert [(r["shortcut"], r["text"]) for r in listed["replies"]] == [("/mine", "Anna's own")]
    # A duplicate shortcut among one's own replies: a clear 409.
    status, answer = await live.api(
        "POST", "/api/v1/canned-replies", anna, json={"shortcut": "/MINE", "text": "again"}
    )
    assert status == 409, answer
    assert "already has the shortcut /mine" in answer["error"]["message"]


async def test_the_settings_pages_files_are_served(live: Live) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(live.url("/")) as page:
            html = await page.text()
        assert '<link rel="stylesheet" href="/static/settings.css">' in html
        for name in ("settings.js", "settings-team.js", "settings-queues.js"):
            assert f'<script src="/static/{name}" defer></script>' in html
            async with http.get(live.url(f"/static/{name}")) as asset:
                assert asset.status == 200
                assert asset.content_type == "text/javascript"
                assert "Content-Security-Policy" in asset.headers
                assert "InboxSettings" in await asset.text()
        async with http.get(live.url("/static/settings.css")) as asset:
            assert asset.status == 200
            assert asset.content_type == "text/css"
            assert ".settings-view" in await asset.text()
