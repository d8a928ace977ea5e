"""The inbound API for the shop (docs/api.md, "Inbound API"): contacts upserted and looked
up by external id, phone or e-mail; website forms and calls as new conversations on an
``api`` channel, routed into a queue, idempotent on the request's id; replies there are
refused, notes are not. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

from inbox.domain.operators import Role
from tests.e2e.conftest import Live


async def _setup(live: Live) -> tuple[str, str]:
    """An admin's session and a token with the shop's scopes."""
    await live.add_operator("root", Role.ADMIN)
    admin = await live.token("root")
    status, created = await live.api(
        "POST",
        "/api/v1/tokens",
        admin,
        json={
            "name": "1C",
            "scopes": ["contacts:write", "contacts:read", "requests:write", "conversations:read"],
        },
    )
    assert status == 201, created
    return admin, str(created["token"])


async def _api_channel(live: Live, admin: str, name: str = "Site forms") -> str:
    status, body = await live.api(
        "POST", "/api/v1/channels", admin, json={"kind": "api", "name": name}
    )
    assert status == 201, body
    assert body["channel"]["requests_url"].endswith("/api/v1/requests")
    assert "webhook_url" not in body["channel"]
    return str(body["channel"]["id"])


async def test_contacts_are_upserted_by_external_id_phone_and_email(live: Live) -> None:
    admin, token = await _setup(live)
    status, body = await live.api(
        "PUT",
        "/api/v1/contacts",
        token,
        json={"external_id": "1c-321", "phone": "8 900 123-45-67", "name": "Anna"},
    )
    assert status == 201, body
    assert body["created"] is True
    anna = body["contact"]
    assert (anna["name"], anna["phones"], anna["external_id"]) == (
        "Anna",
        ["8 900 123-45-67"],
        "1c-321",
    )
    # The same phone written another way finds her; the e-mail is added, the name kept.
    status, body = await live.api(
        "PUT",
        "/api/v1/contacts",
        token,
        json={"phone": "+7 (900) 123 45 67", "email": "Anna@Example.com", "tags": ["vip"]},
    )
    assert status == 200, body
    assert body["created"] is False
    assert body["contact"]["id"] == anna["id"]
    assert body["contact"]["emails"] == ["Anna@Example.com"]
    assert body["contact"]["phones"] == ["8 900 123-45-67"]
    assert body["contact"]["tags"] == ["vip"]
    assert body["contact"]["name"] == "Anna"
    # By external id: renamed.
    status, body = await live.api(
        "PUT", "/api/v1/contacts", token, json={"external_id": "1c-321", "name": "Anna P."}
    )
    assert (status, body["contact"]["id"], body["contact"]["name"]) == (200, anna["id"], "Anna P.")
    # Another shop customer sharing the phone stays another contact.
    status, body = await live.api(
        "PUT", "/api/v1/contacts", token, json={"external_id": "1c-999", "phone": "89001234567"}
    )
    assert status == 201, body
    other = body["contact"]["id"]
    assert other != anna["id"]

    for query, ids in (
        ("external_id=1c-321", [anna["id"]]),
        ("email=anna@example.com", [anna["id"]]),
        ("phone=%2B79001234567", [anna["id"], other]),
        ("phone=%2B79990000000", []),
    ):
        status, body = await live.api("GET", f"/api/v1/contacts?{query}", token)
        assert status == 200, body
        assert [c["id"] for c in body["contacts"]] == ids, query
    status, body = await live.api("GET", "/api/v1/contacts?external_id=1c-321", token)
    card = body["contacts"][0]
    assert card["external_id"] == "1c-321"
    assert card["conversations"] == []
    assert "orders" not in card

    # Merged into a contact without one, the shop's id moves along and still finds her.
    status, body = await live.api("PUT", "/api/v1/contacts", token, json={"email": "a@b.ru"})
    assert status == 201, body
    kept = body["contact"]["id"]
    status, body = await live.api(
        "POST", f"/api/v1/contacts/{kept}/merge", admin, json={"other_id": anna["id"]}
    )
    assert status == 200, body
    assert body["contact"]["external_id"] == "1c-321"
    status, body = await live.api("GET", "/api/v1/contacts?external_id=1c-321", token)
    assert [c["id"] for c in body["contacts"]] == [kept]


async def test_bad_contact_input_is_400_and_stores_nothing(live: Live) -> None:
    admin, token = await _setup(live)
    for payload, words in (
        ({"name": "No key"}, "at least one of external_id, phone, email"),
        ({"phone": "12"}, "not a valid phone"),
        ({"email": "nobody"}, "not a valid e-mail"),
        ({"phone": "+79001234567", "nmae": "typo"}, "unknown fields: nmae"),
        ({"external_id": 42}, "external_id must be a string"),
        ({"external_id": "x" * 201}, "at most 200"),
        ({"phone": "+79001234567", "tags": "vip"}, "tags must be a list"),
    ):
        status, body = await live.api("PUT", "/api/v1/contacts", token, json=payload)
        assert status == 400, (payload, body)
        assert words in body["error"]["message"], (payload, body)
    status, body = await live.api("GET", "/api/v1/contacts", token)
    assert status == 400, body
    # Phones are added up to the card's limit; past it the shop is told, not ignored.
    for n in range(10):
        status, body = await live.api(
            "PUT",
            "/api/v1/contacts",
            token,
            json={"external_id": "many", "phone": f"+7900000000{n}"},
        )
        assert status in (200, 201), body
    assert len(body["contact"]["phones"]) == 10
    status, body = await live.api(
        "PUT", "/api/v1/contacts", token, json={"external_id": "many", "phone": "+79111111111"}
    )
    assert status == 400, body
    assert "has 10 phones already" in body["error"]["message"]
    status, body = await live.api("GET", "/api/v1/contacts?phone=%2B79001234567", token)
    assert body["contacts"] == []
    status, body = await live.api("GET", "/api/v1/contacts?phone=%2B79111111111", token)
    assert body["contacts"] == []
    # Operators may not match customers by phone; a token without the scope neither.
    await live.add_operator("anna")
    status, body = await live.api(
        "PUT", "/api/v1/contacts", await live.token("anna"), json={"phone": "+79001234567"}
    )
    assert status == 403, body
    status, created = await live.api(
        "POST", "/api/v1/tokens", admin, json={"name": "ro", "scopes": ["contacts:read"]}
    )
    status, body = await live.api(
        "PUT", "/api/v1/contacts", created["token"], json={"phone": "+79001234567"}
    )
    assert status == 403, body


async def _post(live: Live, token: str, **request: Any) -> tuple[int, Any]:
    body: dict[str, Any] = {
        "id": "form-1",
        "type": "form",
        "contact": {"phone": "+7 900 123-45-67", "name": "Anna"},
        "text": "Please call me about the lenses",
        "fields": {"Product": "Acuvue Oasys", "Quantity": 2},
    }
    body.update(request)
    return await live.api("POST", "/api/v1/requests", token, json=body)


async def test_a_form_becomes_a_queued_conversation_once(live: Live) -> None:
    admin, token = await _setup(live)
    channel = await _api_channel(live, admin)
    status, sales = await live.api(
        "POST", "/api/v1/queues", admin, json={"name": "sales", "settings": {"channels": [channel]}}
    )
    assert status == 201, sales

    status, body = await _post(live, token, queue="sales", title="Callback request")
    assert status == 201, body
    assert body["duplicate"] is False
    conversation = body["conversation"]
    assert conversation["channel_id"] == channel
    assert conversation["channel_kind"] == "api"
    assert conversation["status"] == "queued"
    assert conversation["contact_name"] == "Anna"
    # The form is the first message, as the operator reads it.
    status, listed = await live.api(
        "GET", f"/api/v1/conversations/{conversation['id']}/messages", token
    )
    assert status == 200, listed
    [first] = listed["messages"]
    assert first["text"] == (
        "Callback request\n\nPlease call me about the lenses\n\nProduct: Acuvue Oasys\nQuantity: 2"
    )
    assert first["author"]["kind"] == "customer"
    # Routed like any other conversation: into the queue that lists the channel.
    explained: dict[str, Any] = {}
    for _ in range(250):
        status, explained = await live.api(
            "GET", f"/api/v1/conversations/{conversation['id']}/routing", admin
        )
        if explained.get("task") is not None:
            break
        await asyncio.sleep(0.02)
    assert explained["task"]["queue_id"] == sales["queue"]["id"], explained

    # The same request again: the same conversation, nothing new.
    status, again = await _post(live, token, queue="sales", title="Callback request")
    assert status == 200, again
    assert again["duplicate"] is True
    assert again["conversation"]["id"] == conversation["id"]
    assert again["message_id"] == body["message_id"]
    # A second request of the same customer is a second conversation of the same contact.
    status, call = await _post(
        live, token, id="call-7", type="call", text="", fields={"Duration": "0:42"}
    )
    assert status == 201, call
    assert call["conversation"]["id"] != conversation["id"]
    assert call["contact_id"] == body["contact_id"]
    status, found = await live.api("GET", "/api/v1/contacts?phone=89001234567", token)
    [card] = found["contacts"]
    assert {c["id"] for c in card["conversations"]} == {
        conversation["id"],
        call["conversation"]["id"],
    }
    assert [i["channel_kind"] for i in card["identities"]] == ["api"]


async def test_replies_on_api_conversations_are_refused_and_notes_work(live: Live) -> None:
    admin, token = await _setup(live)
    await _api_channel(live, admin)
    status, body = await _post(live, token)
    assert status == 201, body
    conversation_id = body["conversation"]["id"]
    status, refused = await live.api(
        "POST",
        f"/api/v1/conversations/{conversation_id}/messages",
        admin,
        json={"text": "Hello!", "client_id": "r1"},
    )
    assert status == 409, refused
    assert refused["error"]["code"] == "replies_unsupported"
    assert "other channels" in refused["error"]["message"]
    client = await live.operator(admin)
    ack = await client[0].command("note.add", conversation_id=conversation_id, text="called back")
    assert ack["type"] == "ack", ack
    status, listed = await live.api(
        "GET", f"/api/v1/conversations/{conversation_id}/messages", admin
    )
    assert [m["kind"] for m in listed["messages"]] == ["message", "note"]


async def test_bad_requests_are_400_and_store_nothing(live: Live) -> None:
    admin, token = await _setup(live)
    status, body = await _post(live, token)
    assert status == 400, body
    assert "no api channel yet" in body["error"]["message"]
    channel = await _api_channel(live, admin)
    for fields, words in (
        ({"type": "fax"}, 'type must be "form" or "call"'),
        ({"id": ""}, "id is required"),
        ({"contact": "Anna"}, "contact is required"),
        ({"contact": {"name": "Anna"}}, "at least one of external_id, phone, email"),
        ({"contact": {"phone": "1"}}, "not a valid phone"),
        ({"text": "", "fields": {}}, "needs a text, a title or fields"),
        ({"fields": ["a"]}, "fields must be an object"),
        ({"fields": {"Ok": {"nested": 1}}}, "must be a string or a number"),
        ({"queue": "nowhere"}, "no queue named 'nowhere'"),
        ({"channel_id": live.channel_id}, "is no enabled api channel"),
        ({"channel_id": channel, "queue": "sales"}, "not both"),
        ({"colour": "red"}, "unknown fields: colour"),
    ):
        status, body = await _post(live, token, **fields)
        assert status == 400, (fields, body)
        assert words in body["error"]["message"], (fields, body)
    status, body = await live.api("POST", "/api/v1/queues", admin, json={"name": "sales"})
    status, body = await _post(live, token, queue="sales")
    assert status == 400, body
    assert "lists no api channel" in body["error"]["message"]
    await _api_channel(live, admin, "Calls")
    status, body = await _post(live, token)
    assert status == 400, body
    assert "several api channels" in body["error"]["message"]
    status, body = await live.api("GET", "/api/v1/conversations", admin)
    assert [c["channel_kind"] for c in body["conversations"]] == []
    status, body = await live.api("GET", "/api/v1/contacts?phone=89001234567", token)
    assert body["contacts"] == []
