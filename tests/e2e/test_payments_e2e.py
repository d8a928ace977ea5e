"""Payments end to end on the web chat: a real server on a real port (SQLite and
PostgreSQL), real operator and customer WebSockets, the sandbox pay page, and the local
fakes of YooKassa and Stripe posting their notifications to
``/webhooks/payments/{kind}/{provider_id}``.

An online operator gets the customer's conversation, creates an order of two lines over
REST (2 x 1725.00 + 1 x 0.10 = 3450.10 RUB) and sends its payment link; the customer gets
it as a URL button, pays, and is told exactly once. Repeated notifications change
nothing; a notification the provider's own record does not confirm yet is a 409; forged
ones are refused. The helpers at the top are shared with the channels' payment tests
(``tests/channels/<kind>/test_<kind>_payments.py``).

Deliveries happen in the background outbox worker, so the tests poll with short sleeps
and a deadline."""

# Russian texts are what some of these tests are about.
# ruff: noqa: RUF001

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from inbox.domain.operators import Role
from server.app import SERVICES
from tests.e2e.conftest import BACKGROUND, Customer, Live, OperatorClient
from tests.fakes.stripe_api import FakeStripeApi
from tests.fakes.yookassa_api import FakeYooKassaApi

T = TypeVar("T")

DEADLINE = 10.0
LINES: list[dict[str, Any]] = [
    {"name": "Acuvue Oasys lenses", "quantity": 2, "unit_price": "1725.00", "sku": "AO-6"},
    {"name": "Lens solution", "quantity": 1, "unit_price": "0.10"},
]
TOTAL = "3450.10"
#: How the English texts show the total today. payments/money.py's ``display`` promises
#: "RUB 3,450.00" (with a space); see test_the_english_total_reads_as_documented.
EN_TOTAL = "RUB\xa03,450.10"
EN_LINK = f"Order 1001, {EN_TOTAL}. You can pay here:"
EN_BUTTON = f"Pay {EN_TOTAL}"
EN_PAID = f"Payment received, order 1001, {EN_TOTAL}. Thank you!"
RU_TOTAL = "3\xa0450,10\xa0₽"
RU_LINK = f"Заказ 1001 на сумму {RU_TOTAL}. Оплатить можно по ссылке:"
RU_BUTTON = f"Оплатить {RU_TOTAL}"
RU_PAID = f"Оплата получена, заказ 1001, {RU_TOTAL}. Спасибо!"


# --------------------------------------------------------------------------- helpers


async def eventually(check: Callable[[], Awaitable[T]], timeout: float = DEADLINE) -> T:
    """The first truthy result of ``check``, polled with short sleeps until a deadline."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.03)


async def drained(live: Live) -> None:
    """The outbox has nothing pending (every delivery was attempted), then a moment for
    anything still on its way."""

    async def empty() -> bool:
        store = live.app[SERVICES].core.store
        return await store.read(lambda tx: tx.outbox.pending_count()) == 0

    await eventually(empty)
    await asyncio.sleep(0.1)


async def add_provider(live: Live, kind: str, **options: str) -> str:
    """A payment provider added the way ``inbox payments add`` does; its id."""
    record = await live.app[SERVICES].payments.add_provider(kind, f"{kind} shop", options)
    return str(record.id)


async def add_sandbox(live: Live) -> str:
    """The sandbox provider, its pay page on this test server."""
    return await add_provider(live, "sandbox", public_url=live.url("/").rstrip("/"))


async def create_order(live: Live, token: str, conversation_id: str) -> dict[str, Any]:
    status, body = await live.api(
        "POST",
        "/api/v1/orders",
        token,
        json={"conversation_id": conversation_id, "currency": "RUB", "lines": LINES},
    )
    assert status == 201, body
    order: dict[str, Any] = body["order"]
    assert (order["number"], order["status"], order["total"]) == (1001, "draft", TOTAL)
    assert [line["total"] for line in order["lines"]] == ["3450.00", "0.10"]
    return order


async def send_link(live: Live, token: str, order_id: str, provider_id: str) -> dict[str, Any]:
    status, body = await live.api(
        "POST",
        f"/api/v1/orders/{order_id}/payment-link",
        token,
        json={"provider_id": provider_id},
    )
    assert status == 200, body
    order: dict[str, Any] = body["order"]
    assert order["status"] == "awaiting_payment"
    assert order["payment"]["provider_id"] == provider_id
    assert order["payment"]["status"] == "pending"
    return order


async def get_order(live: Live, token: str, order_id: str) -> dict[str, Any]:
    status, body = await live.api("GET", f"/api/v1/orders/{order_id}", token)
    assert status == 200, body
    order: dict[str, Any] = body["order"]
    return order


async def pay_sandbox(live: Live, url: str, status: str = "succeeded") -> str:
    """Press the sandbox pay page's button: POST its form to the link; the result page."""
    async with live.http.post(url, data={"status": status}) as resp:
        text = await resp.text()
        assert resp.status == 200, text
        return text


async def notify(
    live: Live, kind: str, provider_id: str, body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """POST a provider's notification to our webhook door."""
    async with live.http.post(
        live.url(f"/webhooks/payments/{kind}/{provider_id}"),
        data=body,
        headers={"Content-Type": "application/json", **(headers or {})},
    ) as resp:
        return resp.status, await resp.json()


async def frames_for_a_while(operator: OperatorClient, within: float = 0.3) -> list[dict[str, Any]]:
    """Every non-background frame the operator gets in a short while (kept ones first)."""
    seen = list(operator.pending)
    operator.pending.clear()
    with contextlib.suppress(TimeoutError):
        while True:
            frame = await operator.recv(within)
            if frame["type"] not in BACKGROUND:
                seen.append(frame)
    return seen


@dataclass
class Checkout:
    """What :func:`sandbox_checkout` saw: the order as the link left it, and the
    customer's two deliveries (the link, the confirmation) as the channel got them."""

    order: dict[str, Any]
    link: Any
    paid: Any


async def sandbox_checkout(
    live: Live,
    operator: OperatorClient,
    token: str,
    conversation_id: str,
    deliveries: Callable[[], Sequence[Any]],
) -> Checkout:
    """Scenario A on any channel: ``operator`` (online, ``token`` theirs) holds the
    conversation; ``deliveries`` lists what the channel's provider got for the customer so
    far. An order, its sandbox link (one delivery), the pay page pressed (one more
    delivery, an ``order.updated`` "paid" frame, the order paid), the page pressed again
    (nothing). Returns the order and the two deliveries for the channel's own checks."""
    provider_id = await add_sandbox(live)
    order = await create_order(live, token, conversation_id)
    created = await operator.expect("order.updated", reason="created", timeout=DEADLINE)
    assert created["order"]["id"] == order["id"]
    before = len(deliveries())

    linked = await send_link(live, token, order["id"], provider_id)
    url = linked["payment"]["url"]
    assert url == live.url(f"/pay/{provider_id}/{linked['payment']['payment_id']}")
    sent = await operator.expect("order.updated", reason="link_sent", timeout=DEADLINE)
    assert sent["conversation_id"] == conversation_id
    await eventually(_count(deliveries, before + 1))
    link = deliveries()[before]

    page = await pay_sandbox(live, url)
    assert "data-testid=sandbox-result>Paid<" in page
    paid_frame = await operator.expect("order.updated", reason="paid", timeout=DEADLINE)
    assert paid_frame["order"]["status"] == "paid"
    assert paid_frame["order"]["payment"]["status"] == "succeeded"
    await eventually(_count(deliveries, before + 2))
    await drained(live)
    assert len(deliveries()) == before + 2
    paid = deliveries()[before + 1]
    found = await get_order(live, token, order["id"])
    assert found["status"] == "paid"
    assert "paid" in found["status_times"]

    # The same form posted again (a double click, a reload) changes nothing, sends nothing.
    await frames_for_a_while(operator)
    page = await pay_sandbox(live, url)
    assert "nothing to change" in page
    await drained(live)
    assert len(deliveries()) == before + 2
    later = await frames_for_a_while(operator)
    assert [f for f in later if f["type"] in ("order.updated", "message.created")] == []
    assert (await get_order(live, token, order["id"]))["status_times"] == found["status_times"]
    return Checkout(linked, link, paid)


def _count(items: Callable[[], Sequence[Any]], at_least: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return len(items()) >= at_least

    return check


# --------------------------------------------------------------------------- web chat


@dataclass
class Visitor:
    """A web chat customer whose socket is read in the background: ``agent`` lists every
    message from our side (the link, the confirmation) in arrival order."""

    customer: Customer
    frames: list[dict[str, Any]] = field(default_factory=list)
    _reader: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            while True:
                self.frames.append(await self.customer.recv(timeout=3600))

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    def agent(self) -> list[dict[str, Any]]:
        return [
            f["message"]
            for f in self.frames
            if f["type"] == "message" and f["message"]["from"] == "agent"
        ]


@dataclass
class Shop:
    live: Live
    anna: OperatorClient
    token: str
    visitor: Visitor
    conversation_id: str


@pytest.fixture
async def shop(live: Live) -> AsyncIterator[Shop]:
    """Anna online, a visitor who wrote, the conversation assigned to Anna."""
    await live.add_operator("anna")
    anna = await live.online_operator("anna")
    token = await live.token("anna")
    customer = await live.customer()
    await customer.hello(name="Vera")
    ack = await customer.say("I'd like to order lenses", "c1")
    assert ack["client_id"] == "c1"
    assigned = await anna.expect("conversation.assigned", timeout=DEADLINE)
    visitor = Visitor(customer)
    visitor.start()
    try:
        yield Shop(live, anna, token, visitor, assigned["conversation"]["id"])
    finally:
        await visitor.stop()


def said(visitor: Visitor) -> list[str]:
    """The text of each message from our side (a buttons part's text without its buttons)."""
    return [str(m["parts"][0]["text"]) for m in visitor.agent()]


def url_button(message: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The text and the one button of a message that is a buttons part."""
    (part,) = message["parts"]
    assert part["type"] == "buttons", part
    (button,) = part["buttons"]
    return part["text"], button


async def test_the_sandbox_link_is_a_url_button_and_the_payment_is_confirmed_once(
    shop: Shop,
) -> None:
    done = await sandbox_checkout(
        shop.live, shop.anna, shop.token, shop.conversation_id, shop.visitor.agent
    )
    text, button = url_button(done.link)
    assert text == EN_LINK
    assert button["kind"] == "url"
    assert button["title"] == EN_BUTTON
    assert button["url"] == done.order["payment"]["url"]
    assert done.paid["text"] == EN_PAID
    assert said(shop.visitor).count(EN_PAID) == 1

    # The operator's history has both as system messages, the link with its button.
    status, body = await shop.live.api(
        "GET", f"/api/v1/conversations/{shop.conversation_id}/messages", shop.token
    )
    assert status == 200, body
    system = [m for m in body["messages"] if m["author"]["kind"] == "system"]
    assert [m["parts"][0]["type"] for m in system] == ["buttons", "text"]
    assert system[1]["text"] == EN_PAID


async def test_a_russian_queue_gets_russian_payment_texts(live: Live) -> None:
    """The customer's language is their queue's position language."""
    await live.add_operator("sveta", Role.SUPERVISOR)
    boss = await live.token("sveta")
    status, body = await live.api(
        "POST",
        "/api/v1/queues",
        boss,
        json={
            "name": "Shop",
            "settings": {
                "channels": [live.channel_id],
                "position": {"language": "ru", "first_after": 600},
            },
        },
    )
    assert status == 201, body
    await live.add_operator("anna")
    anna = await live.online_operator("anna")
    token = await live.token("anna")
    customer = await live.customer()
    await customer.hello(name="Вера")
    await customer.say("Хочу заказать линзы", "c1")
    assigned = await anna.expect("conversation.assigned", timeout=DEADLINE)
    visitor = Visitor(customer)
    visitor.start()
    try:
        done = await sandbox_checkout(
            live, anna, token, assigned["conversation"]["id"], visitor.agent
        )
    finally:
        await visitor.stop()
    text, button = url_button(done.link)
    assert (text, button["title"], button["kind"]) == (RU_LINK, RU_BUTTON, "url")
    assert done.paid["text"] == RU_PAID


async def test_the_english_total_reads_as_documented(shop: Shop) -> None:
    """payments/money.py ``display``: "RUB 3,450.00" in English -- the code and the
    amount apart, as CLDR's currency spacing puts them (babel's ``format_currency``
    leaves them glued: "RUB3,450.10")."""
    provider_id = await add_sandbox(shop.live)
    order = await create_order(shop.live, shop.token, shop.conversation_id)
    await send_link(shop.live, shop.token, order["id"], provider_id)
    (link,) = await eventually(_agent(shop.visitor, 1))
    text, button = url_button(link)
    assert text in (
        "Order 1001, RUB 3,450.10. You can pay here:",
        "Order 1001, RUB\xa03,450.10. You can pay here:",
    )
    assert button["title"] in ("Pay RUB 3,450.10", "Pay RUB\xa03,450.10")


def _agent(visitor: Visitor, count: int) -> Callable[[], Awaitable[list[dict[str, Any]]]]:
    async def check() -> list[dict[str, Any]]:
        found = visitor.agent()
        return found if len(found) >= count else []

    return check


# --------------------------------------------------------------------------- YooKassa


@pytest.fixture
async def yookassa() -> AsyncIterator[FakeYooKassaApi]:
    async with FakeYooKassaApi() as fake:
        yield fake


async def add_yookassa(live: Live, fake: FakeYooKassaApi, check_ip: str = "off") -> str:
    return await add_provider(
        live,
        "yookassa",
        shop_id=fake.shop_id,
        secret_key=fake.secret_key,
        api_base=fake.api_base,
        check_ip=check_ip,
    )


def _body(notification: dict[str, Any]) -> bytes:
    return json.dumps(notification, ensure_ascii=False).encode()


async def test_yookassa_link_notification_paid_once_and_pending_is_409(
    shop: Shop, yookassa: FakeYooKassaApi
) -> None:
    live, token = shop.live, shop.token
    provider_id = await add_yookassa(live, yookassa)
    order = await create_order(live, token, shop.conversation_id)
    linked = await send_link(live, token, order["id"], provider_id)

    (call,) = yookassa.created
    key = call.headers.get("idempotence-key")
    assert key
    assert call.json["amount"] == {"value": TOTAL, "currency": "RUB"}
    assert call.json["metadata"]["order_number"] == "1001"
    (payment_id,) = yookassa.payments
    assert linked["payment"]["payment_id"] == payment_id
    assert linked["payment"]["url"] == yookassa.payments[payment_id].confirmation_url
    (link,) = await eventually(_agent(shop.visitor, 1))
    text, button = url_button(link)
    assert (text, button["kind"], button["url"]) == (EN_LINK, "url", linked["payment"]["url"])

    # YooKassa's record still says pending: the service does not believe the body.
    early = _body(yookassa.notification("payment.succeeded", payment_id))
    status, body = await notify(live, "yookassa", provider_id, early)
    assert status == 409, body
    assert body["error"]["code"] == "not_confirmed"
    assert (await get_order(live, token, order["id"]))["status"] == "awaiting_payment"

    yookassa.set_status(payment_id, "succeeded")
    notification = _body(yookassa.notification("payment.succeeded", payment_id))
    status, body = await notify(live, "yookassa", provider_id, notification)
    assert status == 200, body
    assert body == {"ok": True, "result": "order 1001 is paid"}
    paid = await shop.anna.expect("order.updated", reason="paid", timeout=DEADLINE)
    assert paid["order"]["payment"]["status"] == "succeeded"
    assert (await get_order(live, token, order["id"]))["status"] == "paid"
    await eventually(_agent(shop.visitor, 2))

    # YooKassa notifies again (it got no 200 in time): known, nothing new.
    status, body = await notify(live, "yookassa", provider_id, notification)
    assert status == 200, body
    await drained(live)
    assert said(shop.visitor) == [EN_LINK, EN_PAID]
    later = await frames_for_a_while(shop.anna)
    assert [f for f in later if f["type"] == "order.updated" and f["reason"] == "paid"] == []


async def test_yookassa_checks_the_callers_address_when_asked(
    shop: Shop, yookassa: FakeYooKassaApi
) -> None:
    """``check_ip=on``: a notification from 127.0.0.1 is not from YooKassa's networks."""
    live, token = shop.live, shop.token
    provider_id = await add_yookassa(live, yookassa, check_ip="on")
    order = await create_order(live, token, shop.conversation_id)
    linked = await send_link(live, token, order["id"], provider_id)
    payment_id = linked["payment"]["payment_id"]
    yookassa.set_status(payment_id, "succeeded")
    notification = _body(yookassa.notification("payment.succeeded", payment_id))
    gets = len([r for r in yookassa.requests if r.method == "GET"])

    status, body = await notify(live, "yookassa", provider_id, notification)
    assert status == 403, body
    assert body["error"]["code"] == "forbidden"
    # Forwarded-for headers from an untrusted caller change nothing.
    status, body = await notify(
        live, "yookassa", provider_id, notification, {"X-Forwarded-For": "185.71.76.1"}
    )
    assert status == 403, body
    assert len([r for r in yookassa.requests if r.method == "GET"]) == gets
    assert (await get_order(live, token, order["id"]))["status"] == "awaiting_payment"
    await drained(live)
    assert said(shop.visitor) == [EN_LINK]


async def test_yookassa_link_sent_twice_is_one_payment(
    shop: Shop, yookassa: FakeYooKassaApi
) -> None:
    live, token = shop.live, shop.token
    provider_id = await add_yookassa(live, yookassa)
    order = await create_order(live, token, shop.conversation_id)
    first = await send_link(live, token, order["id"], provider_id)
    second = await send_link(live, token, order["id"], provider_id)
    assert second["payment"]["payment_id"] == first["payment"]["payment_id"]
    assert len(yookassa.payments) == 1
    keys = {r.headers["idempotence-key"] for r in yookassa.requests if r.method == "POST"}
    assert len(keys) == 1
    await drained(live)
    assert said(shop.visitor) == [EN_LINK]


async def test_yookassa_429_is_a_clear_error_and_the_retry_uses_the_same_key(
    shop: Shop, yookassa: FakeYooKassaApi
) -> None:
    live, token = shop.live, shop.token
    provider_id = await add_yookassa(live, yookassa)
    order = await create_order(live, token, shop.conversation_id)
    yookassa.fail_next("too_many_requests", retry_after=1)
    status, body = await live.api(
        "POST",
        f"/api/v1/orders/{order['id']}/payment-link",
        token,
        json={"provider_id": provider_id},
    )
    # The operator is told what happened and that trying again helps -- not a bare 500.
    assert status != 500, body
    assert 400 <= status < 600, body
    assert body["error"]["code"] != "internal", body
    assert "YooKassa" in body["error"]["message"], body
    assert yookassa.payments == {}

    linked = await send_link(live, token, order["id"], provider_id)
    posts = [r for r in yookassa.requests if r.method == "POST"]
    assert [r.status for r in posts] == [429, 200]
    assert posts[0].headers["idempotence-key"] == posts[1].headers["idempotence-key"]
    assert list(yookassa.payments) == [linked["payment"]["payment_id"]]
    (link,) = await eventually(_agent(shop.visitor, 1))
    assert url_button(link)[1]["url"] == linked["payment"]["url"]


# --------------------------------------------------------------------------- Stripe


@pytest.fixture
async def stripe() -> AsyncIterator[FakeStripeApi]:
    async with FakeStripeApi() as fake:
        yield fake


async def add_stripe(live: Live, fake: FakeStripeApi) -> str:
    return await add_provider(
        live,
        "stripe",
        secret_key=fake.secret_key,
        webhook_secret=fake.webhook_secret,
        api_base=fake.api_base,
    )


async def test_stripe_signed_completion_pays_once_and_a_bad_signature_changes_nothing(
    shop: Shop, stripe: FakeStripeApi
) -> None:
    live, token = shop.live, shop.token
    provider_id = await add_stripe(live, stripe)
    order = await create_order(live, token, shop.conversation_id)
    linked = await send_link(live, token, order["id"], provider_id)
    (call,) = stripe.created
    assert call.headers.get("idempotency-key")
    assert call.form["line_items[0][price_data][unit_amount]"] == "172500"
    assert call.form["line_items[0][quantity]"] == "2"
    assert call.form["line_items[1][price_data][unit_amount]"] == "10"
    (session_id,) = stripe.sessions
    assert linked["payment"]["payment_id"] == session_id
    assert linked["payment"]["url"] == stripe.sessions[session_id]["url"]
    (link,) = await eventually(_agent(shop.visitor, 1))
    text, button = url_button(link)
    assert (text, button["kind"], button["url"]) == (EN_LINK, "url", linked["payment"]["url"])

    session = stripe.complete(session_id)
    forged = stripe.signed_event("checkout.session.completed", session, secret="whsec_Wrong0")
    status, body = await notify(live, "stripe", provider_id, forged.body, forged.headers)
    assert status == 400, body
    assert body["error"]["code"] == "bad_signature"
    assert (await get_order(live, token, order["id"]))["status"] == "awaiting_payment"

    event = stripe.signed_event("checkout.session.completed", session)
    status, body = await notify(live, "stripe", provider_id, event.body, event.headers)
    assert status == 200, body
    assert body == {"ok": True, "result": "order 1001 is paid"}
    await shop.anna.expect("order.updated", reason="paid", timeout=DEADLINE)
    assert (await get_order(live, token, order["id"]))["status"] == "paid"
    await eventually(_agent(shop.visitor, 2))

    # Stripe redelivers the same event: acknowledged, nothing new.
    status, body = await notify(live, "stripe", provider_id, event.body, event.headers)
    assert status == 200, body
    await drained(live)
    assert said(shop.visitor) == [EN_LINK, EN_PAID]
    later = await frames_for_a_while(shop.anna)
    assert [f for f in later if f["type"] == "order.updated" and f["reason"] == "paid"] == []


async def test_stripe_link_sent_twice_is_one_session(shop: Shop, stripe: FakeStripeApi) -> None:
    live, token = shop.live, shop.token
    provider_id = await add_stripe(live, stripe)
    order = await create_order(live, token, shop.conversation_id)
    first = await send_link(live, token, order["id"], provider_id)
    second = await send_link(live, token, order["id"], provider_id)
    assert first["payment"]["payment_id"] == second["payment"]["payment_id"]
    assert len(stripe.sessions) == 1
    posts = [r for r in stripe.requests if r.method == "POST"]
    assert [(r.status, r.replayed) for r in posts] == [(200, False), (200, True)]
    assert len({r.headers["idempotency-key"] for r in posts}) == 1
    await drained(live)
    assert said(shop.visitor) == [EN_LINK]


async def test_stripe_429_is_a_clear_error_and_the_retry_uses_the_same_key(
    shop: Shop, stripe: FakeStripeApi
) -> None:
    live, token = shop.live, shop.token
    provider_id = await add_stripe(live, stripe)
    order = await create_order(live, token, shop.conversation_id)
    stripe.fail_next("rate_limit", method="POST")
    status, body = await live.api(
        "POST",
        f"/api/v1/orders/{order['id']}/payment-link",
        token,
        json={"provider_id": provider_id},
    )
    assert status != 500, body
    assert 400 <= status < 600, body
    assert body["error"]["code"] != "internal", body
    assert "Stripe" in body["error"]["message"], body
    assert stripe.sessions == {}

    linked = await send_link(live, token, order["id"], provider_id)
    posts = [r for r in stripe.requests if r.method == "POST"]
    assert [r.status for r in posts] == [429, 200]
    assert posts[0].headers["idempotency-key"] == posts[1].headers["idempotency-key"]
    assert list(stripe.sessions) == [linked["payment"]["payment_id"]]
    (link,) = await eventually(_agent(shop.visitor, 1))
    assert url_button(link)[1]["url"] == linked["payment"]["url"]
