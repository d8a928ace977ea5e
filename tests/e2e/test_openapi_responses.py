"""The live answers match the OpenAPI document (docs/openapi.md): a real session over
every documented operation, on SQLite and PostgreSQL, with every body validated against
the document's schema for that operation and status -- strictly, so an undocumented field
fails as much as a missing or mistyped one (tests/e2e/openapi_check.py)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from inbox.domain.operators import Role
from operator_ws.openapi import load_document
from server.app import SERVICES
from tests.e2e.conftest import PASSWORD, Live, OperatorClient
from tests.e2e.openapi_check import ResponseChecker, documented_operations, pointer

#: Documented operations this session does not drive, each with its reason. A new route
#: is driven here (so its answers are checked) or listed with why it cannot be.
NOT_DRIVEN: dict[tuple[str, str], str] = {}

ALWAYS = {"tz": "Europe/Moscow", "week": "mon-sun 00:00-24:00"}
LINES = [{"name": "Lenses", "sku": "AO-6", "quantity": 2, "unit_price": "1725.00"}]


@dataclass
class Session:
    live: Live
    checker: ResponseChecker
    #: The first body of each (METHOD, template, status), for the drift checks.
    bodies: dict[tuple[str, str, int], Any] = field(default_factory=dict)

    async def call(
        self,
        method: str,
        template: str,
        token: str | None,
        expect: int,
        path: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Call ``template`` filled with ``path``; assert the status and check the body
        against the document."""
        url = template.format(**(path or {}))
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.live.http.request(
            method, self.live.url(url), headers=headers, **kwargs
        ) as resp:
            if resp.content_type == "application/json":
                body: Any = await resp.json()
            elif resp.content_type.startswith("text/"):
                body = await resp.text()
            else:
                body = await resp.read()
        assert resp.status == expect, (method, url, resp.status, body)
        self.checker.check(method, template, resp.status, body, resp.content_type)
        self.bodies.setdefault((method, template, resp.status), body)
        return body


async def _assigned_conversation(live: Live, anna: OperatorClient, channel_id: str) -> Any:
    customer = await live.customer(channel_id)
    await customer.hello()
    await customer.say("hello, do you have lenses?", f"c-{channel_id}")
    return (await anna.expect("conversation.assigned"))["conversation"]


async def test_every_answer_matches_the_document(live: Live) -> None:
    # The document as the server serves it: with each operation's token scope and the
    # 403 an API token without it gets (operator_ws.openapi.with_scopes).
    async with live.http.get(live.url("/api/openapi.json")) as resp:
        served = await resp.json()
    s = Session(live, ResponseChecker(served))
    anna_op = await live.add_operator("anna")
    ada_op = await live.add_operator("ada", Role.ADMIN)
    anna_ws = await live.online_operator("anna")
    conv = await _assigned_conversation(live, anna_ws, live.channel_id)
    cid, contact_id = {"id": conv["id"]}, conv["contact_id"]

    # Sessions.
    login = "/api/v1/auth/login"
    ada = (await s.call("POST", login, None, 200, json={"login": "ada", "password": PASSWORD}))[
        "token"
    ]
    await s.call("POST", login, None, 401, json={"login": "ada", "password": "wrong"})
    await s.call("POST", login, None, 400, json={"login": "ada"})
    anna = await live.token("anna")
    await s.call("GET", "/api/v1/me", ada, 200)
    await s.call("GET", "/api/v1/me", None, 401)

    # Conversations, filtered, and their messages.
    convs = "/api/v1/conversations"
    await s.call("GET", convs, ada, 200)
    filters = {
        "status": "open",
        "channel": live.channel_id,
        "assignee": anna_op.id,
        "unread": "true",
        "tag": "",
        "limit": "5",
    }
    found = await s.call("GET", convs, ada, 200, params=filters)
    assert [c["id"] for c in found["conversations"]] == [conv["id"]]
    await s.call("GET", convs, ada, 200, params={"status": "queued", "waiting_over": "60"})
    await s.call("GET", convs, ada, 200, params={"q": "lenses", "assignee": "me"})
    await s.call("GET", convs, ada, 400, params={"status": "nope"})
    await s.call("GET", convs, anna, 403, params={"assignee": ada_op.id})
    one = "/api/v1/conversations/{id}"
    await s.call("GET", one, anna, 200, path=cid)
    await s.call("GET", one, ada, 404, path={"id": "no-such-conversation"})
    msgs = "/api/v1/conversations/{id}/messages"
    await s.call("GET", msgs, anna, 200, path=cid, params={"after_seq": "0", "limit": "50"})
    await s.call("GET", msgs, anna, 400, path=cid, params={"limit": "many"})

    # A file, a reply with it and a button, the same reply again, the file back.
    form = aiohttp.FormData()
    form.add_field("file", b"\x89PNG fake", filename="price.png", content_type="image/png")
    upload = "/api/v1/conversations/{id}/attachments"
    media = (await s.call("POST", upload, anna, 201, path=cid, data=form))["media"]
    await s.call("POST", upload, anna, 400, path=cid, json={"file": "not multipart"})
    reply = {
        "text": "Here is the price list.",
        "client_id": "r-1",
        "attachments": [media],
        "buttons": [{"title": "Pay", "url": "https://shop.example/pay"}],
    }
    sent = (await s.call("POST", msgs, anna, 201, path=cid, json=reply))["message"]
    await s.call("POST", msgs, anna, 200, path=cid, json=reply)
    await s.call("POST", msgs, anna, 400, path=cid, json={"text": 5})
    await s.call("GET", msgs, anna, 200, path=cid)
    index = next(i for i, p in enumerate(sent["parts"]) if "media" in p)
    media_url = "/api/v1/messages/{id}/media/{index}"
    await s.call("GET", media_url, anna, 200, path={"id": sent["id"], "index": str(index)})
    await s.call("GET", media_url, anna, 404, path={"id": "no-such-message", "index": "0"})

    # Channels.
    await s.call("GET", "/api/v1/channels", anna, 200)
    await s.call("GET", "/api/v1/channels/{id}/templates", anna, 200, path={"id": live.channel_id})
    new_channel = {"kind": "webchat", "name": "Second shop"}
    second = (await s.call("POST", "/api/v1/channels", ada, 201, json=new_channel))["channel"]
    await s.call("POST", "/api/v1/channels", anna, 403, json=new_channel)
    channel = "/api/v1/channels/{id}"
    await s.call("PATCH", channel, ada, 200, path={"id": second["id"]}, json={"enabled": True})
    await s.call("PATCH", channel, ada, 400, path={"id": second["id"]}, json={"enabled": "no"})

    # Operators.
    await s.call("GET", "/api/v1/operators", anna, 200)
    newcomer = {"login": "nina", "password": PASSWORD, "name": "Nina", "skills": {"ru": 1}}
    await s.call("POST", "/api/v1/operators", ada, 201, json=newcomer)
    await s.call("POST", "/api/v1/operators", ada, 409, json=newcomer)
    await s.call("POST", "/api/v1/operators", anna, 403, json=newcomer)
    operator = "/api/v1/operators/{id}"
    await s.call("PATCH", operator, ada, 200, path={"id": "nina"}, json={"capacity": 4})
    await s.call("PATCH", operator, ada, 400, path={"id": "nina"}, json={"colour": "red"})

    # Routing.
    await s.call("GET", "/api/v1/queues", anna, 200)
    await s.call("GET", "/api/v1/queues", ada, 200)
    lenses = {"name": "Lenses", "settings": {"allow_pick": True}}
    await s.call("POST", "/api/v1/queues", ada, 201, json=lenses)
    await s.call("POST", "/api/v1/queues", ada, 409, json=lenses)
    await s.call("POST", "/api/v1/queues", anna, 403, json=lenses)
    queue = "/api/v1/queues/{id}"
    await s.call("PATCH", queue, ada, 200, path={"id": "Lenses"}, json={"settings": {}})
    await s.call("PATCH", queue, ada, 404, path={"id": "Nowhere"}, json={"settings": {}})
    await s.call("GET", "/api/v1/offers", anna, 200)
    await s.call("GET", "/api/v1/dashboard", ada, 200)
    await s.call("GET", "/api/v1/dashboard", anna, 403)
    await s.call("GET", "/api/v1/dashboard", None, 401)
    await s.call("GET", "/api/v1/conversations/{id}/routing", ada, 200, path=cid)
    await s.call("GET", "/api/v1/conversations/{id}/routing", anna, 403, path=cid)

    # Bots and business hours.
    await s.call("GET", "/api/v1/bots", ada, 200)
    await s.call("GET", "/api/v1/bots", anna, 403)
    default = {"queue": "default"}
    await s.call("PUT", "/api/v1/bots/{queue}/hours", ada, 200, path=default, json=ALWAYS)
    bad_hours = {"tz": "Mars/Olympus", "week": "mon-sun 00:00-24:00"}
    await s.call("PUT", "/api/v1/bots/{queue}/hours", ada, 400, path=default, json=bad_hours)
    flow = {"language": "en", "enabled": False}
    await s.call("PUT", "/api/v1/bots/{queue}/flow", ada, 200, path=default, json=flow)
    await s.call("GET", "/api/v1/bots/{queue}", ada, 200, path=default)
    await s.call("GET", "/api/v1/bots/{queue}", ada, 404, path={"queue": "Nowhere"})
    await s.call("GET", "/api/v1/bots", ada, 200)

    # Close reasons.
    reasons = "/api/v1/close-reasons"
    await s.call("GET", reasons, anna, 200)
    await s.call("PUT", reasons, ada, 200, json={"reasons": ["Sold", "No stock"]})
    await s.call("PUT", reasons, ada, 400, json={"reasons": []})
    await s.call("PUT", reasons, anna, 403, json={"reasons": ["Mine"]})

    # Canned replies.
    canned, one_reply = "/api/v1/canned-replies", "/api/v1/canned-replies/{id}"
    price = {"shortcut": "/price", "text": "Hello {customer.name}, lenses are 1725.00."}
    made = (await s.call("POST", canned, anna, 201, json=price))["reply"]
    await s.call("POST", canned, anna, 409, json=price)
    await s.call("POST", canned, anna, 403, json={**price, "shortcut": "/all", "shared": True})
    await s.call("POST", canned, ada, 201, json={**price, "shortcut": "/all", "shared": True})
    await s.call("GET", canned, anna, 200)
    rid = {"id": made["id"]}
    await s.call("PATCH", one_reply, anna, 200, path=rid, json={"text": "Hi {customer.name}"})
    await s.call("PATCH", one_reply, anna, 400, path=rid, json={"shortcut": "no slash"})
    render = "/api/v1/canned-replies/{id}/render"
    await s.call("POST", render, anna, 200, path=rid, json={"conversation_id": conv["id"]})
    await s.call("POST", render, anna, 400, path=rid, json={})
    await s.call("DELETE", one_reply, anna, 200, path=rid)
    await s.call("DELETE", one_reply, anna, 404, path=rid)

    # Orders and a payment link.
    providers = await live.app[SERVICES].payments.add_provider(
        "sandbox", "Sandbox shop", {"public_url": live.url("/").rstrip("/")}
    )
    await s.call("GET", "/api/v1/payment-providers", anna, 200)
    new_order = {"conversation_id": conv["id"], "currency": "RUB", "lines": LINES}
    order = (await s.call("POST", "/api/v1/orders", anna, 201, json=new_order))["order"]
    await s.call("POST", "/api/v1/orders", anna, 400, json={**new_order, "lines": "two"})
    await s.call("GET", "/api/v1/orders", anna, 200, params={"conversation_id": conv["id"]})
    oid = {"id": order["id"]}
    await s.call("GET", "/api/v1/orders/{id}", anna, 200, path=oid)
    await s.call("GET", "/api/v1/orders/{id}", anna, 404, path={"id": "no-such-order"})
    await s.call("PATCH", "/api/v1/orders/{id}", anna, 200, path=oid, json={"external_id": "1C-7"})
    link = "/api/v1/orders/{id}/payment-link"
    await s.call("POST", link, anna, 200, path=oid, json={"provider_id": providers.id})
    await s.call("PATCH", "/api/v1/orders/{id}", anna, 409, path=oid, json={"lines": LINES})

    # The customer card, with the order; a second contact to merge.
    await s.call("GET", "/api/v1/conversations/{id}/contact", anna, 200, path=cid)
    tags = "/api/v1/conversations/{id}/contact/tags"
    await s.call("PUT", tags, anna, 200, path=cid, json={"tags": ["vip"]})
    await s.call("PUT", tags, anna, 400, path=cid, json={"tags": ["Not A Tag!"]})
    card, kid = "/api/v1/contacts/{id}", {"id": contact_id}
    await s.call("GET", card, anna, 200, path=kid)
    phone = {"phones": ["+7 900 123-45-67"], "notes": "Prefers calls"}
    await s.call("PATCH", card, anna, 200, path=kid, json=phone)
    await s.call("PATCH", card, anna, 400, path=kid, json={"shoe_size": 42})
    other = await _assigned_conversation(live, anna_ws, second["id"])
    other_id = {"id": other["contact_id"]}
    await s.call("PATCH", card, anna, 200, path=other_id, json={"phones": ["8 900 1234567"]})
    duplicates = await s.call("GET", "/api/v1/contacts/{id}/duplicates", anna, 200, path=kid)
    assert [d["contact"]["id"] for d in duplicates["duplicates"]] == [other["contact_id"]]
    merge = "/api/v1/contacts/{id}/merge"
    await s.call("POST", merge, anna, 403, path=kid, json={"other_id": other["contact_id"]})
    await s.call("POST", merge, ada, 400, path=kid, json={"other_id": contact_id})
    await s.call("POST", merge, ada, 200, path=kid, json={"other_id": other["contact_id"]})

    # Resolving with a reason; the rating field on the resolved conversation.
    resolve = "/api/v1/conversations/{id}/resolve"
    await s.call("POST", resolve, anna, 400, path=cid, json={"reason": 7})
    await s.call("POST", resolve, anna, 200, path=cid, json={"reason": "Sold"})
    await s.call("GET", one, ada, 200, path=cid)

    # Outgoing webhooks (admins): register, change, read the log, remove.
    hook = {"url": "http://127.0.0.1:9/hook", "events": ["conversation.resolved"]}
    await s.call("POST", "/api/v1/webhooks", anna, 403, json=hook)
    await s.call("POST", "/api/v1/webhooks", ada, 400, json={**hook, "events": ["nope"]})
    made = await s.call("POST", "/api/v1/webhooks", ada, 201, json=hook)
    wid = {"id": made["id"]}
    await s.call("GET", "/api/v1/webhooks", ada, 200)
    one_hook = "/api/v1/webhooks/{id}"
    await s.call("PATCH", one_hook, ada, 200, path=wid, json={"enabled": False})
    await s.call("GET", "/api/v1/webhooks/{id}/deliveries", ada, 200, path=wid)
    await s.call("DELETE", one_hook, ada, 200, path=wid)
    await s.call("DELETE", one_hook, ada, 404, path=wid)

    # Reports (supervisors and admins), JSON and CSV.
    month = {"from": "2026-01-01", "to": "2026-12-31", "tz": "Europe/Moscow"}
    await s.call("GET", "/api/v1/reports/summary", anna, 403, params=month)
    await s.call("GET", "/api/v1/reports/summary", ada, 200, params=month)
    await s.call("GET", "/api/v1/reports/summary", ada, 400, params={**month, "to": "2025-01-01"})
    csv = await s.call(
        "GET", "/api/v1/reports/summary", ada, 200, params={**month, "format": "csv"}
    )
    assert csv.startswith("received,answered,missed,")
    by_channel = {**month, "by": "channel"}
    await s.call("GET", "/api/v1/reports/breakdown", ada, 200, params=by_channel)
    await s.call("GET", "/api/v1/reports/breakdown", ada, 400, params={**month, "by": "moon"})
    await s.call("GET", "/api/v1/reports/hours", ada, 200, params=month)

    # API tokens and the shop's inbound API.
    made_token = await s.call(
        "POST",
        "/api/v1/tokens",
        ada,
        201,
        json={"name": "Web shop", "scopes": ["contacts:write", "contacts:read", "requests:write"]},
    )
    await s.call("POST", "/api/v1/tokens", ada, 400, json={"name": "x", "scopes": ["root"]})
    await s.call("GET", "/api/v1/tokens", ada, 200)
    shop = made_token["token"]
    await s.call("GET", "/api/v1/me", shop, 403)
    customer = {"external_id": "1C-42", "phone": "+7 901 000-11-22", "name": "Olga"}
    await s.call("PUT", "/api/v1/contacts", shop, 201, json=customer)
    await s.call("PUT", "/api/v1/contacts", shop, 200, json={**customer, "notes": "VIP"})
    await s.call("PUT", "/api/v1/contacts", shop, 400, json={"shoe_size": 42})
    await s.call("GET", "/api/v1/contacts", shop, 200, params={"external_id": "1C-42"})
    await s.call("GET", "/api/v1/contacts", shop, 400)
    await s.call("POST", "/api/v1/channels", ada, 201, json={"kind": "api", "name": "Site forms"})
    site_form = {
        "id": "form-1",
        "type": "form",
        "contact": {"external_id": "1C-42"},
        "text": "Call me",
    }
    await s.call("POST", "/api/v1/requests", shop, 201, json=site_form)
    await s.call("POST", "/api/v1/requests", shop, 200, json=site_form)
    await s.call("POST", "/api/v1/requests", shop, 400, json={**site_form, "type": "fax"})
    tid = {"id": made_token["id"]}
    await s.call("DELETE", "/api/v1/tokens/{id}", ada, 200, path=tid)
    await s.call("DELETE", "/api/v1/tokens/{id}", ada, 404, path={"id": "no-such-token"})
    await s.call("GET", "/api/v1/contacts", shop, 401, params={"external_id": "1C-42"})

    # Logging out ends the token.
    await s.call("POST", "/api/v1/auth/logout", ada, 200)
    await s.call("GET", "/api/v1/me", ada, 401)

    driven = {(m, t) for m, t, status in s.checker.checked if status < 300}
    undriven = documented_operations(load_document()) - driven - set(NOT_DRIVEN)
    assert not undriven, "operations no answer of which was checked:\n" + "\n".join(
        f"  {m} {t}" for m, t in sorted(undriven)
    )
    _drift_is_caught(s)


def _drift_is_caught(s: Session) -> None:
    """The check can fail: a schema that lost a field the server sends, a field the
    server no longer sends, or a changed type each make a recorded answer not fit."""
    listed = s.bodies[("GET", "/api/v1/conversations", 200)]
    me = s.bodies[("GET", "/api/v1/me", 200)]
    assert not s.checker.errors("GET", "/api/v1/conversations", 200, listed)

    lost = copy.deepcopy(s.checker.document)
    del lost["components"]["schemas"]["Conversation"]["properties"]["preview"]
    problems = s.checker.errors("GET", "/api/v1/conversations", 200, listed, lost)
    assert any("preview" in p for p in problems), problems

    extra = copy.deepcopy(s.checker.document)
    extra["components"]["schemas"]["Operator"]["required"].append("team")
    problems = s.checker.errors("GET", "/api/v1/me", 200, me, extra)
    assert any("team" in p for p in problems), problems

    retyped = copy.deepcopy(s.checker.document)
    retyped["components"]["schemas"]["Operator"]["properties"]["capacity"] = {"type": "string"}
    problems = s.checker.errors("GET", "/api/v1/me", 200, me, retyped)
    assert any(p.startswith("operator/capacity") for p in problems), problems

    at = s.checker.schema_pointer("GET", "/api/v1/conversations", 400)
    assert at == pointer(
        "components", "responses", "BadRequest", "content", "application/json", "schema"
    )
