"""``GET /metrics`` (SQLite and PostgreSQL): Prometheus text from a real server, open to
loopback, to another address only with the metrics token -- the server is bound to every
address and reached through this machine's own non-loopback one, so the peer address it
checks is real -- and never a message's text, an id or a secret."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from inbox.domain.clock import FixedClock
from inbox.domain.operators import Role
from tests.e2e.conftest import Live
from tests.webhooks.support import serving

TOKEN = "metrics-token-for-tests"
#: The server listens on every address, so that it can be called from a non-loopback one.
EVERY_ADDRESS = "0.0.0.0"  # noqa: S104


def _own_address() -> str:
    """This machine's address on its default route (a UDP connect sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
            address = str(probe.getsockname()[0])
        except OSError:
            address = "127.0.0.1"
    if ipaddress.ip_address(address).is_loopback:
        pytest.skip("this machine has no non-loopback IPv4 address to call from")
    return address


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def _get(live: Live, host: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    url = f"http://{host}:{live.server.port}/metrics"
    async with live.http.get(url, headers=headers or {}) as resp:
        if resp.status == 200:
            assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return resp.status, await resp.text()


async def test_metrics_count_what_happened_and_show_no_text(
    database_url: str, tmp_path: Path
) -> None:
    async with serving(database_url, tmp_path, FixedClock(), host=EVERY_ADDRESS) as live:
        await live.add_operator("root", Role.ADMIN)
        admin = await live.token("root")
        status, created = await live.api(
            "POST",
            "/api/v1/webhooks",
            admin,
            json={"url": "http://127.0.0.1:9/refused", "events": ["conversation.created"]},
        )
        assert status == 201, created
        customer = await live.customer()
        await customer.hello()
        await customer.say("my card number is CARD-4242-SECRET private", "c-1")
        log_path = f"/api/v1/webhooks/{created['id']}/deliveries"

        async def attempted() -> bool:
            status, body = await live.api("GET", log_path, admin)
            return (
                status == 200
                and bool(body["deliveries"])
                and body["deliveries"][0]["attempts"] == 1
            )

        async with asyncio.timeout(5):
            while True:
                if await attempted():
                    break
                await asyncio.sleep(0.02)

        status, text = await _get(live, "127.0.0.1")
        assert status == 200, text
        samples = _samples(text)
        assert samples[("inbox_inbound_messages_total", (("channel_kind", "webchat"),))] == 1
        assert samples[("inbox_webhook_deliveries_total", (("result", "retry"),))] == 1
        assert samples[("inbox_webhook_deliveries_pending", ())] == 1
        assert samples[("inbox_websocket_sessions", (("kind", "visitor"),))] == 1
        assert samples[("inbox_websocket_sessions", (("kind", "operator"),))] == 0
        assert ("inbox_outbox_pending", ()) in samples
        assert sum(v for (name, _), v in samples.items() if name == "inbox_routing_waiting") == 1
        # Requests are counted by their route's template, not by their path.
        key = (
            "inbox_http_requests_total",
            (("method", "GET"), ("route", "/api/v1/webhooks/{id}/deliveries"), ("status", "200")),
        )
        assert samples[key] >= 1

        # An answer, delivered to the visitor's open socket.
        status, listed = await live.api("GET", "/api/v1/conversations", admin)
        conversation_id = listed["conversations"][0]["id"]
        status, reply = await live.api(
            "POST",
            f"/api/v1/conversations/{conversation_id}/messages",
            admin,
            json={"text": "our private answer ANSWER-777-SECRET"},
        )
        assert status == 201, reply
        await customer.expect("message")
        delivered = (
            "inbox_outbound_messages_total",
            (("channel_kind", "webchat"), ("status", "delivered")),
        )
        async with asyncio.timeout(5):
            while True:
                status, later = await _get(live, "127.0.0.1")
                if _samples(later).get(delivered) == 1:
                    break
                await asyncio.sleep(0.02)
        for scraped in (text, later):
            for secret in (
                "CARD-4242-SECRET",
                "private",
                "ANSWER-777-SECRET",
                created["id"],
                created["secret"],
                admin,
            ):
                assert secret not in scraped


async def test_metrics_from_another_address_need_the_token(
    database_url: str, tmp_path: Path
) -> None:
    own = _own_address()
    async with serving(database_url, tmp_path, FixedClock(), host=EVERY_ADDRESS) as live:
        status, _ = await _get(live, "127.0.0.1")
        assert status == 200
        status, body = await _get(live, own)
        assert status == 403, body
        assert "loopback" in body
        # A proxy on this host does not make its clients loopback.
        status, body = await _get(live, "127.0.0.1", {"X-Forwarded-For": "203.0.113.9"})
        assert status == 403, body
        status, body = await _get(live, own, {"Authorization": "Bearer anything"})
        assert status == 403, body

    async with serving(
        database_url,
        tmp_path,
        FixedClock(),
        host=EVERY_ADDRESS,
        metrics_token=TOKEN,
    ) as live:
        status, body = await _get(live, own)
        assert status == 401, body
        status, body = await _get(live, own, {"Authorization": "Bearer wrong"})
        assert status == 401, body
        status, text = await _get(live, own, {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200, text
        assert "inbox_http_requests_total" in text
        assert TOKEN not in text
        status, _ = await _get(live, "127.0.0.1")
        assert status == 200
