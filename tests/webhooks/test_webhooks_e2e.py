"""Outgoing webhooks end to end (SQLite and PostgreSQL): a real server, a real receiver on
a local socket, a clock the test moves. Signatures are recomputed here, independently of
the server's code."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from inbox.domain.clock import FixedClock
from inbox.domain.operators import Role
from server.app import SERVICES
from tests.e2e.conftest import Live
from tests.webhooks.support import TIMEOUT, receiver, serving, tick, until


def _signed_ok(secret: str, header: str, raw: bytes) -> int:
    """The header's timestamp, after checking its v1 against HMAC-SHA256(secret, "t.body")."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    stamp = int(fields["t"])
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(fields["v1"], expected), header
    return stamp


async def _register(live: Live, token: str, url: str, events: list[str]) -> dict[str, Any]:
    status, body = await live.api(
        "POST", "/api/v1/webhooks", token, json={"url": url, "events": events}
    )
    assert status == 201, body
    assert body["secret"].startswith("whsec_")
    created: dict[str, Any] = body
    return created


async def _customer_says(live: Live, text: str) -> None:
    customer = await live.customer()
    await customer.hello()
    await customer.say(text, "c-1")


async def _log(live: Live, token: str, webhook_id: str) -> list[dict[str, Any]]:
    status, body = await live.api("GET", f"/api/v1/webhooks/{webhook_id}/deliveries", token)
    assert status == 200, body
    deliveries: list[dict[str, Any]] = body["deliveries"]
    return deliveries


async def _recorded(live: Live, token: str, webhook_id: str, attempts: int) -> list[dict[str, Any]]:
    """The log once it holds ``attempts`` attempts in all (the worker records an attempt
    just after the receiver answered it)."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            log = await _log(live, token, webhook_id)
            if sum(d["attempts"] for d in log) >= attempts:
                return log
            await asyncio.sleep(0.02)


async def test_a_delivery_is_signed_and_carries_the_public_view(
    database_url: str, tmp_path: Path
) -> None:
    clock = FixedClock()
    async with receiver() as hook, serving(database_url, tmp_path, clock) as live:
        await live.add_operator("root", Role.ADMIN)
        admin = await live.token("root")
        created = await _register(
            live, admin, hook.url, ["message.created", "conversation.created"]
        )
        await _customer_says(live, "Do you have lenses?")
        await hook.wait_for(2)
        await _recorded(live, admin, created["id"], 2)
        by_event = {r.body["event"]: r for r in hook.received}
        assert set(by_event) == {"message.created", "conversation.created"}
        for got in hook.received:
            stamp = _signed_ok(created["secret"], got.headers["X-Inbox-Signature"], got.raw)
            assert stamp == int(clock.now().timestamp())
            assert set(got.body) == {"id", "event", "created_at", "data"}
            assert got.headers["Content-Type"] == "application/json"
            # A wrong secret does not verify: the check above can fail.
            with pytest.raises(AssertionError):
                _signed_ok("whsec_wrong", got.headers["X-Inbox-Signature"], got.raw)
        message = by_event["message.created"].body["data"]
        assert message["message"]["text"] == "Do you have lenses?"
        assert message["conversation"]["channel_id"] == live.channel_id
        assert created["secret"] not in by_event["message.created"].raw.decode()
        # The secret is shown once: the list has none.
        status, listed = await live.api("GET", "/api/v1/webhooks", admin)
        assert status == 200
        assert [w["id"] for w in listed["webhooks"]] == [created["id"]]
        assert created["secret"] not in str(listed)
        log = await _log(live, admin, created["id"])
        assert {d["state"] for d in log} == {"delivered"}
        assert all(d["attempts"] == 1 and d["last_status"] == 200 for d in log)


async def test_five_failures_then_success_deliver_the_event_once(
    database_url: str, tmp_path: Path
) -> None:
    clock = FixedClock()
    base, cap = 10.0, 60.0
    async with (
        receiver() as hook,
        serving(
            database_url,
            tmp_path,
            clock,
            webhook_retry_base_seconds=base,
            webhook_retry_cap_seconds=cap,
        ) as live,
    ):
        hook.statuses = [500, 503, 500, 502, 500, 200]
        await live.add_operator("root", Role.ADMIN)
        admin = await live.token("root")
        created = await _register(live, admin, hook.url, ["conversation.created"])
        await _customer_says(live, "hello")
        await hook.wait_for(1)
        for attempt in range(1, 6):
            (delivery,) = await _recorded(live, admin, created["id"], attempt)
            assert delivery["state"] == "pending"
            assert delivery["attempts"] == attempt
            # Exponential backoff with jitter: in [½, 1) of min(cap, base·2^(n-1)).
            ceiling = min(cap, base * 2 ** (attempt - 1))
            wait = datetime.fromisoformat(delivery["next_attempt_at"]) - clock.now()
            assert timedelta(seconds=ceiling / 2) <= wait < timedelta(seconds=ceiling)
            # Not due yet: a look now sends nothing.
            await tick(live, clock, 0)
            await live.app[SERVICES].webhook_worker.run_once()
            assert len(hook.received) == attempt
            await tick(live, clock, ceiling)
            await hook.wait_for(attempt + 1)
        (delivery,) = await _recorded(live, admin, created["id"], 6)
        assert delivery["state"] == "delivered"
        assert delivery["attempts"] == 6
        assert [a["status"] for a in delivery["log"]] == [500, 503, 500, 502, 500, 200]
        assert delivery["delivered_at"] == clock.now().isoformat()
        # Once: every request is the same event, and nothing more comes.
        assert len({r.body["id"] for r in hook.received}) == 1
        await tick(live, clock, 3600)
        await live.app[SERVICES].webhook_worker.run_once()
        assert len(hook.received) == 6
        assert len(hook.successes) == 1


async def test_a_restart_mid_retry_loses_nothing(database_url: str, tmp_path: Path) -> None:
    clock = FixedClock()
    async with receiver() as hook:
        hook.statuses = [503]
        async with serving(database_url, tmp_path, clock) as first:
            await first.add_operator("root", Role.ADMIN)
            admin = await first.token("root")
            created = await _register(first, admin, hook.url, ["message.created"])
            await _customer_says(first, "one")
            await hook.wait_for(1)
            # The second event commits while the worker is stopped: it is only in the table.
            await first.app[SERVICES].webhook_worker.stop()
            await _customer_says(first, "two")
            channel_id = first.channel_id
        assert len(hook.received) == 1
        clock.advance(3600)
        async with serving(database_url, tmp_path, clock, channel_id=channel_id) as second:
            await hook.wait_for(3)
            await until(lambda: len(hook.successes) == 2)
            admin = await second.token("root")
            # The receiver counts a success before the worker records it: wait for the
            # third attempt in the log, not only at the receiver.
            log = await _recorded(second, admin, created["id"], 3)
            assert sorted(d["attempts"] for d in log) == [1, 2]
            assert {d["state"] for d in log} == {"delivered"}
            texts = sorted(r.body["data"]["message"]["text"] for r in hook.successes)
            assert texts == ["one", "two"]
            await tick(second, clock, 3600)
            await second.app[SERVICES].webhook_worker.run_once()
            assert len(hook.received) == 3


async def test_persistent_failure_disables_the_webhook_with_an_alert(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FixedClock()
    async with (
        receiver() as hook,
        serving(
            database_url,
            tmp_path,
            clock,
            webhook_retry_base_seconds=600.0,
            webhook_retry_cap_seconds=1200.0,
            webhook_disable_failures=3,
            webhook_disable_hours=1.0,
        ) as live,
    ):
        hook.statuses = [500] * 10
        await live.add_operator("root", Role.ADMIN)
        await live.add_operator("sveta", Role.SUPERVISOR)
        admin = await live.token("root")
        boss, _ = await live.operator(await live.token("sveta"))
        created = await _register(
            live, admin, hook.url + "?key=receiver-token", ["message.created"]
        )
        await _customer_says(live, "are you open?")
        await hook.wait_for(1)
        caplog.set_level(logging.WARNING, logger="webhooks.worker")
        # Three failures within 40 minutes: failing, not yet for an hour.
        for n in (2, 3):
            await tick(live, clock, 1200)
            await hook.wait_for(n)
        await _recorded(live, admin, created["id"], 3)
        status, listed = await live.api("GET", "/api/v1/webhooks", admin)
        assert listed["webhooks"][0]["enabled"] is True
        assert listed["webhooks"][0]["consecutive_failures"] == 3
        # The fourth, 60 minutes after the first: disabled, supervisors alerted.
        await tick(live, clock, 1200)
        await hook.wait_for(4)
        frame = await boss.expect("webhook.disabled")
        assert frame["webhook"]["id"] == created["id"]
        assert frame["webhook"]["host"] == "127.0.0.1"
        assert frame["webhook"]["failures"] == 4
        assert "receiver-token" not in str(frame)
        status, listed = await live.api("GET", "/api/v1/webhooks", admin)
        (webhook,) = listed["webhooks"]
        assert webhook["enabled"] is False
        assert "4 failed attempts" in webhook["disabled_reason"]
        logged = [r.getMessage() for r in caplog.records if "disabled" in r.getMessage()]
        assert len(logged) == 1
        assert created["id"] in logged[0]
        for secret in (created["secret"], "receiver-token", "are you open?"):
            assert secret not in caplog.text
        # Disabled: nothing more is posted, the delivery waits.
        await tick(live, clock, 7200)
        await live.app[SERVICES].webhook_worker.run_once()
        assert len(hook.received) == 4
        # Enabled again by the admin: the pending delivery goes out.
        hook.statuses = []
        status, body = await live.api(
            "PATCH", f"/api/v1/webhooks/{created['id']}", admin, json={"enabled": True}
        )
        assert status == 200, body
        assert body["webhook"]["consecutive_failures"] == 0
        await tick(live, clock, 0)
        await hook.wait_for(5)
        (delivery,) = await _recorded(live, admin, created["id"], 5)
        assert delivery["state"] == "delivered"
        assert delivery["attempts"] == 5


async def test_two_servers_on_one_database_deliver_each_event_once(
    database_url: str, tmp_path: Path
) -> None:
    clock = FixedClock()
    async with receiver() as hook, serving(database_url, tmp_path, clock) as first:
        await first.add_operator("root", Role.ADMIN)
        admin = await first.token("root")
        created = await _register(first, admin, hook.url, ["message.created"])
        async with serving(
            database_url, tmp_path / "second", clock, channel_id=first.channel_id
        ) as second:
            customer = await first.customer()
            await customer.hello()
            for n in range(12):
                await customer.say(f"message {n}", f"c-{n}")
                second.app[SERVICES].webhook_worker.wake()
            await hook.wait_for(12)
            log = await _recorded(first, admin, created["id"], 12)
            await tick(second, clock, 3600)
            await second.app[SERVICES].webhook_worker.run_once()
            await first.app[SERVICES].webhook_worker.run_once()
        assert len(hook.received) == 12
        assert len({r.body["id"] for r in hook.received}) == 12
        assert sorted(d["attempts"] for d in log) == [1] * 12


async def test_a_redirect_is_not_followed(database_url: str, tmp_path: Path) -> None:
    """A signed event never goes where the admin did not point it: a 3xx is a failure."""
    clock = FixedClock()
    async with receiver() as elsewhere, receiver() as hook:
        hook.statuses, hook.location = [307], elsewhere.url
        async with serving(database_url, tmp_path, clock) as live:
            await live.add_operator("root", Role.ADMIN)
            admin = await live.token("root")
            created = await _register(live, admin, hook.url, ["conversation.created"])
            await _customer_says(live, "hello")
            (delivery,) = await _recorded(live, admin, created["id"], 1)
        assert delivery["last_status"] == 307
        assert delivery["log"][0]["error"] == "redirect not followed"
        assert delivery["state"] == "pending"
        assert len(hook.received) == 1
        assert elsewhere.received == []
