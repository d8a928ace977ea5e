"""The console's customer card, close reasons and canned replies end to end: a real
server on a real port (SQLite and PostgreSQL), real operator and customer WebSockets,
and the REST API under ``/api/v1`` (docs/console.md)."""

from __future__ import annotations

from typing import Any

from inbox.domain.channels import ChannelKind
from inbox.domain.operators import Role
from inbox.usecases import add_channel
from tests.e2e.conftest import Live, OperatorClient

LINES = [{"name": "Lenses", "quantity": 2, "unit_price": "1725.00"}]


async def _conversation(
    live: Live, anna: OperatorClient, channel_id: str, text: str
) -> dict[str, Any]:
    customer = await live.customer(channel_id)
    await customer.hello()
    await customer.say(text, f"c-{text}")
    assigned = await anna.expect("conversation.assigned")
    conversation: dict[str, Any] = assigned["conversation"]
    return conversation


async def test_the_card_edits_duplicates_and_a_merge_over_rest(live: Live) -> None:
    await live.add_operator("anna")
    await live.add_operator("boris")
    await live.add_operator("sue", Role.SUPERVISOR)
    anna = await live.online_operator("anna")
    tokens = {login: await live.token(login) for login in ("anna", "boris", "sue")}
    second = await add_channel(live.core, ChannelKind("webchat"), "Shop 2", {})
    first_conv = await _conversation(live, anna, live.channel_id, "hello")
    other_conv = await _conversation(live, anna, second.id, "hi again")
    keep, other = first_conv["contact_id"], other_conv["contact_id"]
    for conv in (first_conv, other_conv):
        status, body = await live.api(
            "POST",
            "/api/v1/orders",
            tokens["anna"],
            json={"conversation_id": conv["id"], "currency": "RUB", "lines": LINES},
        )
        assert status == 201, body

    # Editing: anna has the conversations, boris has none of them.
    status, body = await live.api(
        "PATCH",
        f"/api/v1/contacts/{keep}",
        tokens["anna"],
        json={"name": "Anna Petrova", "phones": ["+7 900 123-45-67"], "notes": "VIP since 2020"},
    )
    assert status == 200, body
    assert (body["contact"]["name"], body["contact"]["phones"]) == (
        "Anna Petrova",
        ["+7 900 123-45-67"],
    )
    status, body = await live.api(
        "PATCH", f"/api/v1/contacts/{keep}", tokens["boris"], json={"notes": "mine"}
    )
    assert (status, body["error"]["code"]) == (403, "forbidden")
    status, _ = await live.api("GET", f"/api/v1/contacts/{keep}", tokens["boris"])
    assert status == 403
    status, body = await live.api(
        "PATCH", f"/api/v1/contacts/{other}", tokens["anna"], json={"phones": ["8 900 1234567"]}
    )
    assert status == 200, body

    # The same phone on another channel: a suggestion to merge.
    status, body = await live.api("GET", f"/api/v1/contacts/{keep}/duplicates", tokens["anna"])
    assert status == 200, body
    assert [d["contact"]["id"] for d in body["duplicates"]] == [other]
    assert body["duplicates"][0]["shared"] == {"phones": ["8 900 1234567"], "emails": []}

    # Merging: supervisors only, never a contact with itself.
    status, body = await live.api(
        "POST", f"/api/v1/contacts/{keep}/merge", tokens["anna"], json={"other_id": other}
    )
    assert status == 403, body
    status, body = await live.api(
        "POST", f"/api/v1/contacts/{keep}/merge", tokens["sue"], json={"other_id": keep}
    )
    assert status == 400, body
    assert "itself" in body["error"]["message"]
    status, body = await live.api(
        "POST", f"/api/v1/contacts/{keep}/merge", tokens["sue"], json={"other_id": other}
    )
    assert status == 200, body
    card = body["contact"]
    assert card["phones"] == ["+7 900 123-45-67"]
    assert {i["channel_id"] for i in card["identities"]} == {live.channel_id, second.id}
    assert {i["channel_kind"] for i in card["identities"]} == {"webchat"}
    assert {c["id"] for c in card["conversations"]} == {first_conv["id"], other_conv["id"]}
    assert {c["channel_id"] for c in card["conversations"]} == {live.channel_id, second.id}
    assert sorted(o["number"] for o in card["orders"]) == [1001, 1002]
    assert {o["contact_id"] for o in card["orders"]} == {keep}
    assert card["returning"] is True
    assert card["conversation_count"] == 2
    status, _ = await live.api("GET", f"/api/v1/contacts/{other}", tokens["sue"])
    assert status == 404

    # The operator's card: the same history, and the conversations list the new name.
    status, body = await live.api("GET", f"/api/v1/contacts/{keep}", tokens["anna"])
    assert status == 200, body
    assert body["contact"]["may_edit"] is True
    assert body["contact"]["notes"] == "VIP since 2020"
    assert body["contact"]["first_contact_at"] <= body["contact"]["last_contact_at"]
    status, body = await live.api(
        "GET", f"/api/v1/conversations/{other_conv['id']}", tokens["anna"]
    )
    assert status == 200, body
    assert body["conversation"]["contact_id"] == keep
    assert body["conversation"]["contact_name"] == "Anna Petrova"


async def test_close_reasons_and_canned_replies(live: Live) -> None:
    await live.add_operator("anna")
    await live.add_operator("boris")
    await live.add_operator("sue", Role.SUPERVISOR)
    await live.add_operator("root", Role.ADMIN)
    anna = await live.online_operator("anna")
    tokens = {login: await live.token(login) for login in ("anna", "boris", "sue", "root")}
    conv = await _conversation(live, anna, live.channel_id, "how much?")

    # Canned replies: personal, shared, unique shortcuts, filled in.
    status, mine = await live.api(
        "POST",
        "/api/v1/canned-replies",
        tokens["anna"],
        json={"shortcut": "/price", "text": "Hello {customer.name}, {operator.name} here."},
    )
    assert status == 201, mine
    status, body = await live.api(
        "POST", "/api/v1/canned-replies", tokens["anna"], json={"shortcut": "/price", "text": "x"}
    )
    assert (status, body["error"]["code"]) == (409, "conflict")
    status, _ = await live.api(
        "POST",
        "/api/v1/canned-replies",
        tokens["anna"],
        json={"shortcut": "/hi", "text": "Hi", "shared": True},
    )
    assert status == 403
    status, shared = await live.api(
        "POST",
        "/api/v1/canned-replies",
        tokens["sue"],
        json={"shortcut": "/hi", "text": "Hi {customer.name}!", "shared": True},
    )
    assert status == 201, shared
    status, body = await live.api("GET", "/api/v1/canned-replies", tokens["boris"])
    assert [r["id"] for r in body["replies"]] == [shared["reply"]["id"]]
    status, body = await live.api("GET", "/api/v1/canned-replies", tokens["anna"])
    assert [r["shortcut"] for r in body["replies"]] == ["/hi", "/price"]
    mine_id = mine["reply"]["id"]
    status, _ = await live.api(
        "PATCH", f"/api/v1/canned-replies/{mine_id}", tokens["boris"], json={"text": "mine"}
    )
    assert status == 404
    status, body = await live.api(
        "POST",
        f"/api/v1/canned-replies/{mine_id}/render",
        tokens["anna"],
        json={"conversation_id": conv["id"]},
    )
    assert status == 200, body
    name = conv["contact_name"]
    assert body["text"] == f"Hello {name}, Anna here."
    status, body = await live.api("DELETE", f"/api/v1/canned-replies/{mine_id}", tokens["anna"])
    assert (status, body) == (200, {"deleted": mine_id})

    # The list: admins keep it, never empty; everyone reads it.
    status, body = await live.api(
        "PUT", "/api/v1/close-reasons", tokens["root"], json={"reasons": []}
    )
    assert (status, body["error"]["code"]) == (400, "invalid_input")
    assert "cannot be empty" in body["error"]["message"]
    status, _ = await live.api(
        "PUT", "/api/v1/close-reasons", tokens["sue"], json={"reasons": ["Sold"]}
    )
    assert status == 403
    status, body = await live.api(
        "PUT", "/api/v1/close-reasons", tokens["root"], json={"reasons": ["Sold", "Spam"]}
    )
    assert (status, body["reasons"]) == (200, ["Sold", "Spam"])
    status, body = await live.api("GET", "/api/v1/close-reasons", tokens["anna"])
    assert (status, body["reasons"]) == (200, ["Sold", "Spam"])

    # Resolving over the socket with a reason from the list.
    refused = await anna.command("conversation.resolve", conversation_id=conv["id"], reason="meh")
    assert (refused["type"], refused["code"]) == ("error", "invalid_input"), refused
    ack = await anna.command("conversation.resolve", conversation_id=conv["id"], reason="sold")
    assert ack["type"] == "ack", ack
    assert ack["conversation"]["close_reason"] == "Sold"
    status, body = await live.api("GET", f"/api/v1/conversations/{conv['id']}", tokens["anna"])
    assert body["conversation"]["close_reason"] == "Sold"
    # Over REST too; reopened it has none.
    reopened = await anna.command("conversation.reopen", conversation_id=conv["id"])
    assert reopened["conversation"]["close_reason"] is None
    status, body = await live.api(
        "POST",
        f"/api/v1/conversations/{conv['id']}/resolve",
        tokens["sue"],
        json={"reason": "SPAM"},
    )
    assert (status, body["conversation"]["close_reason"]) == (200, "Spam"), body
