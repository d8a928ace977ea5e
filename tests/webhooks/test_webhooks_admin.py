"""Managing webhooks over REST (SQLite and PostgreSQL): admins only, clear errors for bad
input, and the events of orders and ratings (which the root translates) delivered too."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bots.events import CsatReceived, CsatRequested
from inbox.domain.clock import FixedClock
from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.ids import ChannelId, ContactId, ConversationId
from inbox.domain.operators import Role
from server.app import SERVICES
from server.outgoing_webhooks import feature_payloads
from tests.webhooks.support import receiver, serving, tick


async def test_bad_input_is_refused_with_a_clear_error(database_url: str, tmp_path: Path) -> None:
    async with serving(database_url, tmp_path, FixedClock()) as live:
        await live.add_operator("root", Role.ADMIN)
        admin = await live.token("root")
        good = {"url": "https://shop.example/hooks", "events": ["order.paid"]}
        for body, words in (
            ({**good, "url": "ftp://shop.example/x"}, "http or https"),
            ({**good, "url": "javascript:alert(1)"}, "http or https"),
            ({**good, "url": "https://"}, "host"),
            ({**good, "url": "https://user:pw@shop.example/"}, "password"),
            ({**good, "url": 5}, "url must be"),
            ({**good, "events": ["order.shipped"]}, "unknown event 'order.shipped'"),
            ({**good, "events": []}, "non-empty list"),
            ({**good, "events": "order.paid"}, "non-empty list"),
            ({"url": good["url"]}, "events must be"),
        ):
            status, answer = await live.api("POST", "/api/v1/webhooks", admin, json=body)
            assert status == 400, (body, answer)
            assert answer["error"]["code"] == "invalid_input"
            assert words in answer["error"]["message"], answer
        status, answer = await live.api("POST", "/api/v1/webhooks", admin, data=b"{not json")
        assert status == 400, answer
        status, listed = await live.api("GET", "/api/v1/webhooks", admin)
        assert listed == {"webhooks": []}  # nothing refused was stored

        status, created = await live.api("POST", "/api/v1/webhooks", admin, json=good)
        assert status == 201, created
        path = f"/api/v1/webhooks/{created['id']}"
        changes: tuple[tuple[dict[str, Any], str], ...] = (
            ({"enabled": "yes"}, "true or false"),
            ({"events": ["nope"]}, "unknown event"),
            ({"url": "file:///etc/passwd"}, "http or https"),
            ({"secret": "mine"}, "unknown field"),
        )
        for change, words in changes:
            status, answer = await live.api("PATCH", path, admin, json=change)
            assert status == 400, (change, answer)
            assert words in answer["error"]["message"], answer
        status, answer = await live.api("GET", f"{path}/deliveries?limit=0", admin)
        assert status == 400, answer
        status, answer = await live.api("GET", f"{path}/deliveries?limit=x", admin)
        assert status == 400, answer
        status, answer = await live.api("PATCH", "/api/v1/webhooks/nope", admin, json={})
        assert status == 404, answer

        status, changed = await live.api(
            "PATCH", path, admin, json={"events": ["csat.received", "order.paid"]}
        )
        assert status == 200, changed
        assert changed["webhook"]["events"] == ["csat.received", "order.paid"]
        status, deleted = await live.api("DELETE", path, admin)
        assert (status, deleted) == (200, {"deleted": created["id"]})
        status, answer = await live.api("GET", f"{path}/deliveries", admin)
        assert status == 404, answer


async def test_only_admins_manage_webhooks(database_url: str, tmp_path: Path) -> None:
    async with serving(database_url, tmp_path, FixedClock()) as live:
        await live.add_operator("root", Role.ADMIN)
        await live.add_operator("sveta", Role.SUPERVISOR)
        await live.add_operator("anna")
        admin = await live.token("root")
        status, created = await live.api(
            "POST",
            "/api/v1/webhooks",
            admin,
            json={"url": "http://127.0.0.1:9/x", "events": ["message.created"]},
        )
        assert status == 201
        path = f"/api/v1/webhooks/{created['id']}"
        for login in ("sveta", "anna"):
            token = await live.token(login)
            for method, url, body in (
                (
                    "POST",
                    "/api/v1/webhooks",
                    {"url": "http://a.example/", "events": ["order.paid"]},
                ),
                ("GET", "/api/v1/webhooks", None),
                ("PATCH", path, {"enabled": False}),
                ("DELETE", path, None),
                ("GET", f"{path}/deliveries", None),
            ):
                status, answer = await live.api(method, url, token, json=body)
                assert status == 403, (login, method, url, answer)
                assert answer["error"]["code"] == "forbidden"
        status, answer = await live.api("GET", "/api/v1/webhooks", "not-a-token")
        assert status == 401, answer
        status, listed = await live.api("GET", "/api/v1/webhooks", admin)
        assert [w["enabled"] for w in listed["webhooks"]] == [True]


async def test_a_paid_order_is_delivered_once(database_url: str, tmp_path: Path) -> None:
    clock = FixedClock()
    async with receiver() as hook, serving(database_url, tmp_path, clock) as live:
        await live.add_operator("root", Role.ADMIN)
        admin = await live.token("root")
        status, created = await live.api(
            "POST", "/api/v1/webhooks", admin, json={"url": hook.url, "events": ["order.paid"]}
        )
        assert status == 201, created
        customer = await live.customer()
        await customer.hello()
        await customer.say("I want lenses", "c-1")
        status, listed = await live.api("GET", "/api/v1/conversations", admin)
        conversation_id = listed["conversations"][0]["id"]
        lines = [{"name": "Lenses", "quantity": 2, "unit_price": "1500.00"}]
        status, order = await live.api(
            "POST",
            "/api/v1/orders",
            admin,
            json={"conversation_id": conversation_id, "currency": "RUB", "lines": lines},
        )
        assert status == 201, order
        order_id = order["order"]["id"]
        provider = await live.app[SERVICES].payments.add_provider(
            "sandbox", "Sandbox", {"public_url": live.url("/").rstrip("/")}
        )
        status, linked = await live.api(
            "POST",
            f"/api/v1/orders/{order_id}/payment-link",
            admin,
            json={"provider_id": provider.id},
        )
        assert status == 200, linked
        # The customer pays on the sandbox's page, twice (a double click): one order.paid;
        # nor is an edit of the paid order a second payment.
        for _ in range(2):
            async with live.http.post(
                linked["order"]["payment"]["url"], data={"status": "succeeded"}
            ) as resp:
                assert resp.status == 200, await resp.text()
        status, body = await live.api(
            "PATCH", f"/api/v1/orders/{order_id}", admin, json={"tracking_number": "RR1"}
        )
        assert status == 200, body
        await hook.wait_for(1)
        await tick(live, clock, 3600)
        await live.app[SERVICES].webhook_worker.run_once()
        assert [r.body["event"] for r in hook.received] == ["order.paid"]
        data = hook.received[0].body["data"]
        assert data["order"]["id"] == order_id
        assert data["order"]["status"] == "paid"
        assert data["order"]["total"] == "3000.00"
        assert data["conversation"]["id"] == conversation_id


def test_a_rating_becomes_csat_received() -> None:
    now = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    conversation = Conversation(
        id=ConversationId("c1"),
        channel_id=ChannelId("ch1"),
        contact_id=ContactId("k1"),
        status=ConversationStatus.RESOLVED,
        created_at=now,
        updated_at=now,
    )
    ((name, build),) = feature_payloads(CsatReceived(conversation, 4, "Quick, thanks", now))
    assert name == "csat.received"
    data = build()
    assert data["csat"] == {"rating": 4, "comment": "Quick, thanks", "at": now.isoformat()}
    assert data["conversation"]["id"] == "c1"
    assert feature_payloads(CsatRequested(conversation)) == ()
