"""The YooKassa gateway against a local fake of API v3 (tests/fakes/yookassa_api.py) and
the recorded payloads in /work/shared/fixtures/yookassa/."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from inbox.domain.channel_errors import PermanentFailure, RetryLater
from inbox.domain.channel_io import WebhookRejected
from inbox.domain.errors import InvalidInput
from payments.ports import NotificationRequest, PaymentRequest
from payments.providers.yookassa import DEFAULT_API_BASE, YooKassaGateway, payment_from_answer
from payments.records import OrderId, OrderLine, PaymentStatus, ProviderId, ProviderRecord
from tests.fakes.yookassa_api import FakeYooKassaApi

FIXTURES = Path("/work/shared/fixtures/yookassa")
SHOP_ID = "100500"
SECRET = "test_secret_0123456789"
YOOKASSA_IP = "185.71.76.5"
PROXY_IP = "10.0.0.2"


def shared(name: str) -> Any:
    """A recorded payload without its ``_`` annotations."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if not k.startswith("_")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(json.loads((FIXTURES / name).read_text(encoding="utf-8")))


@pytest.fixture
async def fake() -> AsyncIterator[FakeYooKassaApi]:
    async with FakeYooKassaApi(shop_id=SHOP_ID, secret_key=SECRET) as api:
        yield api


@pytest.fixture
async def gateway() -> AsyncIterator[YooKassaGateway]:
    built = YooKassaGateway()
    try:
        yield built
    finally:
        await built.close()


def make_provider(gateway: YooKassaGateway, **options: str) -> ProviderRecord:
    stored = gateway.check_options({"shop_id": SHOP_ID, "secret_key": SECRET, **options})
    return ProviderRecord(
        id=ProviderId("prv_yk"),
        kind="yookassa",
        name="YooKassa",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        options=stored,
    )


@pytest.fixture
def provider(gateway: YooKassaGateway, fake: FakeYooKassaApi) -> ProviderRecord:
    return make_provider(gateway, api_base=fake.api_base)


def make_request(**changes: Any) -> PaymentRequest:
    fields: dict[str, Any] = {
        "order_id": OrderId("ord_1042"),
        "order_number": 1042,
        "amount_minor": 345_000,
        "currency": "RUB",
        "lines": (
            OrderLine(name="Чайник", quantity=2, unit_price_minor=100_000),
            OrderLine(name="Кружка", quantity=1, unit_price_minor=145_000, sku="MUG-1"),
        ),
        "description": "Заказ №1042",
        "idempotence_key": "ord_1042:1",
        "return_url": "https://shop.example/pay/return?order=1042",
        "customer_email": "anna@example.com",
    }
    fields.update(changes)
    return PaymentRequest(**fields)


def notification(body: Any, remote: str = YOOKASSA_IP, **headers: str) -> NotificationRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return NotificationRequest(headers=headers, body=raw, remote=remote)


# --------------------------------------------------------------------------- create


async def test_create_sends_the_recorded_shape_with_basic_auth_and_the_key(
    fake: FakeYooKassaApi, gateway: YooKassaGateway, provider: ProviderRecord
) -> None:
    payment = await gateway.create_payment(provider, make_request())

    [call] = fake.requests
    assert call.path == "/v3/payments"
    expected_auth = base64.b64encode(f"{SHOP_ID}:{SECRET}".encode()).decode()
    assert call.headers["authorization"] == f"Basic {expected_auth}"
    assert call.headers["idempotence-key"] == "ord_1042:1"
    recorded = shared("yookassa_create_payment_request.json")
    assert set(call.json) == set(recorded)
    assert call.json["amount"] == {"value": "3450.00", "currency": "RUB"}
    assert call.json["capture"] is True
    assert call.json["confirmation"] == {
        "type": "redirect",
        "return_url": "https://shop.example/pay/return?order=1042",
    }
    assert call.json["description"] == "Заказ №1042"
    assert call.json["metadata"] == {"order_id": "ord_1042", "order_number": "1042"}
    assert "receipt" not in call.json

    created = fake.payments[payment.payment_id]
    assert payment.status is PaymentStatus.PENDING
    assert payment.url == created.confirmation_url
    assert payment.url.startswith("https://yoomoney.ru/checkout/payments/v2/contract?orderId=")


def test_the_recorded_pending_answer_maps_to_a_pending_payment_with_its_link() -> None:
    answer = shared("yookassa_create_payment_response_pending.json")
    payment = payment_from_answer(answer)
    assert payment.payment_id == "2f3b588d-000f-5000-8000-1d6e87c7fbde"
    assert payment.status is PaymentStatus.PENDING
    assert payment.url == answer["confirmation"]["confirmation_url"]


async def test_a_receipt_carries_one_item_per_line_at_the_unit_price(
    fake: FakeYooKassaApi, gateway: YooKassaGateway
) -> None:
    provider = make_provider(gateway, api_base=fake.api_base, receipt="on", vat_code="4")
    await gateway.create_payment(provider, make_request())

    [call] = fake.created
    assert call.json["receipt"] == {
        "customer": {"email": "anna@example.com"},
        "items": [
            {
                "description": "Чайник",
                "quantity": 2,
                "amount": {"value": "1000.00", "currency": "RUB"},
                "vat_code": 4,
                "payment_mode": "full_payment",
                "payment_subject": "commodity",
            },
            {
                "description": "Кружка",
                "quantity": 1,
                "amount": {"value": "1450.00", "currency": "RUB"},
                "vat_code": 4,
                "payment_mode": "full_payment",
                "payment_subject": "commodity",
            },
        ],
    }


async def test_a_receipt_goes_to_the_phone_in_e164_digits_without_an_email(
    fake: FakeYooKassaApi, gateway: YooKassaGateway
) -> None:
    provider = make_provider(gateway, api_base=fake.api_base, receipt="on")
    request = make_request(customer_email="", customer_phone="+7 (900) 123-45-67")
    await gateway.create_payment(provider, request)
    assert fake.created[0].json["receipt"]["customer"] == {"phone": "79001234567"}


async def test_a_receipt_without_a_contact_or_not_adding_up_is_refused_before_the_call(
    fake: FakeYooKassaApi, gateway: YooKassaGateway
) -> None:
    provider = make_provider(gateway, api_base=fake.api_base, receipt="on")
    with pytest.raises(PermanentFailure, match="e-mail or phone"):
        await gateway.create_payment(provider, make_request(customer_email=""))
    with pytest.raises(PermanentFailure, match="add up"):
        await gateway.create_payment(provider, make_request(amount_minor=100))
    assert fake.requests == []


async def test_long_descriptions_are_cut_to_128_characters(
    fake: FakeYooKassaApi, gateway: YooKassaGateway
) -> None:
    provider = make_provider(gateway, api_base=fake.api_base, receipt="on")
    name = "Очень длинное название товара " * 10
    request = make_request(
        description="Заказ №1042: " + name,
        amount_minor=100_000,
        lines=(OrderLine(name=name, quantity=1, unit_price_minor=100_000),),
    )
    await gateway.create_payment(provider, request)
    body = fake.created[0].json
    assert len(body["description"]) == 128
    assert body["description"].startswith("Заказ №1042: Очень")
    assert body["description"].endswith("…")
    assert len(body["receipt"]["items"][0]["description"]) <= 128


async def test_the_same_key_replays_the_same_payment(
    fake: FakeYooKassaApi, gateway: YooKassaGateway, provider: ProviderRecord
) -> None:
    first = await gateway.create_payment(provider, make_request())
    again = await gateway.create_payment(provider, make_request())
    assert again == first
    assert len(fake.payments) == 1
    other = await gateway.create_payment(provider, make_request(idempotence_key="ord_1042:2"))
    assert other.payment_id != first.payment_id


async def test_the_same_key_with_another_body_is_refused(
    fake: FakeYooKassaApi, gateway: YooKassaGateway, provider: ProviderRecord
) -> None:
    await gateway.create_payment(provider, make_request())
    with pytest.raises(PermanentFailure, match="Idempotence key duplicated"):
        await gateway.create_payment(provider, make_request(amount_minor=100))


async def test_a_key_longer_than_64_characters_is_sent_as_its_stable_digest(
    fake: FakeYooKassaApi, gateway: YooKassaGateway, provider: ProviderRecord
) -> None:
    request = make_request(idempotence_key="k" * 100)
    first = await gateway.create_payment(provider, request)
    again = await gateway.create_payment(provider, request)
    assert first == again
    keys = {r.headers["idempotence-key"] for r in fake.requests}
    assert len(keys) == 1
    assert len(keys.pop()) == 64


# --------------------------------------------------------------------------- errors


async def test_429_is_retry_later_with_the_providers_delay_then_it_succeeds(
    fake: FakeYooKassaApi, gateway: YooKassaGateway, provider: ProviderRecord
) -> None:
    fake.fail_next("too_many_requests", count=2, retry_after=7)
    for _ in range(2):
        with pytest.raises(RetryLater) as caught:
            await gateway.create_payment(provider, make_request())
        assert caught.value.retry_after == 7
    payment = await gateway.create_payment(provider, make_request())
    assert payment.status is PaymentStatus.PENDING
    assert [r.status for r in fake.requests] == [429, 429, 200]
    assert len({r.headers["idempotence-key"] for r in fake.requests}) == 1


async def test_429_without_retry_after_waits_a_second(
    fake: FakeYooKassaApi, gateway: YooKassaGateway, provider: ProviderRecord
) -> None:
    fake.fail_next("too_many_requests")
    with pytest.raises(RetryLater) as caught:
        await gateway.create_payment(provider, make_request())
    assert caught.value.retry_after == 1.0


async def test_500_is_retry_later_and_the_retry_with_the_same_key_finds_the_payment(
    fake: FakeYooKassaApi, gateway: YooKassaGateway, provider: ProviderRecord
) -> None:
    fake.fail_next("lost_answer")  # YooKassa created it, then answered 500
    with pytest.raises(RetryLater, match="result is unknown"):
        await gateway.create_payment(provider, make_request())
    payment = await gateway.create_payment(provider, make_request())
    assert list(fake.payments) == [payment.payment_id]


async def test_500_and_202_are_retry_later(
    fake: FakeYooKassaApi, gateway: YooKassaGateway, provider: ProviderRecord
) -> None:
    fake.fail_next("server_error")
    fake.fail_next("processing")
    with pytest.raises(RetryLater):
        await gateway.create_payment(provider, make_request())
    with pytest.raises(RetryLater, match="still processing"):
        await gateway.create_payment(provider, make_request())
    assert fake.payments == {}
    await gateway.create_payment(provider, make_request())
    assert len(fake.payments) == 1


async def test_401_is_a_permanent_failure_in_plain_words(
    fake: FakeYooKassaApi, gateway: YooKassaGateway
) -> None:
    provider = make_provider(gateway, api_base=fake.api_base, secret_key="test_wrong")
    with pytest.raises(PermanentFailure) as caught:
        await gateway.create_payment(provider, make_request())
    assert caught.value.reason == "YooKassa refused the shop id or secret key"
    assert "test_wrong" not in caught.value.reason
    with pytest.raises(PermanentFailure, match="shop id or secret key"):
        await gateway.fetch_payment(provider, "2f3b588d-000f-5000-8000-000000000001")


async def test_a_bad_amount_is_a_permanent_failure_naming_the_parameter(
    fake: FakeYooKassaApi, gateway: YooKassaGateway, provider: ProviderRecord
) -> None:
    with pytest.raises(PermanentFailure, match=r"parameter amount\.value"):
        await gateway.create_payment(provider, make_request(amount_minor=0))
    assert fake.requests[0].status == 400


async def test_a_dead_address_is_retry_later(gateway: YooKassaGateway) -> None:
    with socket.socket() as sock:  # a port nothing listens on once this socket is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = make_provider(gateway, api_base=f"http://127.0.0.1:{port}/v3")
    with pytest.raises(RetryLater, match="connection"):
        await gateway.create_payment(provider, make_request())


# --------------------------------------------------------------------------- fetch


async def test_fetch_follows_the_status_at_yookassa(
    fake: FakeYooKassaApi, gateway: YooKassaGateway, provider: ProviderRecord
) -> None:
    created = await gateway.create_payment(provider, make_request())
    payment_id = created.payment_id
    assert (await gateway.fetch_payment(provider, payment_id)).status is PaymentStatus.PENDING
    fake.set_status(payment_id, "waiting_for_capture")
    fetched = await gateway.fetch_payment(provider, payment_id)
    assert fetched.status is PaymentStatus.WAITING_FOR_CAPTURE
    fake.set_status(payment_id, "succeeded")
    assert (await gateway.fetch_payment(provider, payment_id)).status is PaymentStatus.SUCCEEDED
    fake.refund(payment_id, "1000.00")  # a partial refund leaves it succeeded
    assert (await gateway.fetch_payment(provider, payment_id)).status is PaymentStatus.SUCCEEDED
    fake.refund(payment_id)  # the rest
    assert (await gateway.fetch_payment(provider, payment_id)).status is PaymentStatus.REFUNDED
    assert fake.requests[-1].method == "GET"
    assert fake.requests[-1].path == f"/v3/payments/{payment_id}"


async def test_fetch_of_a_canceled_and_an_unknown_payment(
    fake: FakeYooKassaApi, gateway: YooKassaGateway, provider: ProviderRecord
) -> None:
    created = await gateway.create_payment(provider, make_request())
    fake.set_status(created.payment_id, "canceled")
    fetched = await gateway.fetch_payment(provider, created.payment_id)
    assert fetched.status is PaymentStatus.CANCELED
    with pytest.raises(PermanentFailure, match="no such payment"):
        await gateway.fetch_payment(provider, "2f3b588d-000f-5000-8000-ffffffffffff")


# --------------------------------------------------------------------------- notifications


async def test_a_notification_from_yookassa_is_a_notice_without_a_status(
    fake: FakeYooKassaApi, gateway: YooKassaGateway, provider: ProviderRecord
) -> None:
    created = await gateway.create_payment(provider, make_request())
    fake.set_status(created.payment_id, "succeeded")
    body = fake.notification("payment.succeeded", created.payment_id)
    notice = gateway.verify_notification(provider, notification(body))
    assert notice.payment_id == created.payment_id
    assert notice.key == f"payment.succeeded:{created.payment_id}"
    assert notice.kind == "payment"
    assert notice.status is None


@pytest.mark.parametrize(
    "name",
    [
        "yookassa_notification_payment_succeeded.json",
        "yookassa_notification_payment_waiting_for_capture.json",
    ],
)
def test_the_recorded_payment_notifications_parse(name: str) -> None:
    body = shared(name)
    notice = YooKassaGateway().verify_notification(
        make_provider(YooKassaGateway()), notification(body, remote="77.75.156.11")
    )
    assert notice.payment_id == body["object"]["id"]
    assert notice.key == f"{body['event']}:{body['object']['id']}"
    assert notice.status is None


def test_a_refund_notification_names_the_payment() -> None:
    body = shared("yookassa_notification_refund_succeeded.json")
    gateway = YooKassaGateway()
    notice = gateway.verify_notification(make_provider(gateway), notification(body))
    assert notice.kind == "refund"
    assert notice.payment_id == "21b23365-000f-500b-9000-070fa3554403"
    assert notice.key == "refund.succeeded:21b23b5b-000f-5061-a000-0674e49a8c10"
    assert notice.status is None


async def test_the_fakes_refund_notification_names_the_payment(
    fake: FakeYooKassaApi, gateway: YooKassaGateway, provider: ProviderRecord
) -> None:
    created = await gateway.create_payment(provider, make_request())
    fake.set_status(created.payment_id, "succeeded")
    refund_id = fake.refund(created.payment_id)
    body = fake.notification("refund.succeeded", created.payment_id)
    notice = gateway.verify_notification(provider, notification(body))
    assert (notice.kind, notice.payment_id) == ("refund", created.payment_id)
    assert notice.key == f"refund.succeeded:{refund_id}"


@pytest.mark.parametrize(
    "remote", ["8.8.8.8", "185.71.76.32", "77.75.156.12", "2a02:5180:0:1510::1", "", "unix"]
)
def test_a_caller_outside_yookassas_networks_is_forbidden(remote: str) -> None:
    gateway = YooKassaGateway()
    body = shared("yookassa_notification_payment_succeeded.json")
    with pytest.raises(WebhookRejected) as caught:
        gateway.verify_notification(make_provider(gateway), notification(body, remote=remote))
    assert (caught.value.status, caught.value.code) == (403, "forbidden")


@pytest.mark.parametrize(
    "remote", ["185.71.77.31", "77.75.154.200", "2a02:5180:0:2669::abcd", "::ffff:185.71.76.1"]
)
def test_every_published_network_is_allowed(remote: str) -> None:
    gateway = YooKassaGateway()
    body = shared("yookassa_notification_payment_succeeded.json")
    notice = gateway.verify_notification(make_provider(gateway), notification(body, remote))
    assert notice.kind == "payment"


def test_behind_a_trusted_proxy_the_forwarded_address_counts() -> None:
    gateway = YooKassaGateway()
    provider = make_provider(gateway, trusted_proxies=f"{PROXY_IP}, 10.1.0.0/16")
    body = shared("yookassa_notification_payment_succeeded.json")
    # The client's own claim (left-most) is ignored; the hop our proxies saw is YooKassa.
    forwarded = f"1.2.3.4, {YOOKASSA_IP}, 10.1.2.3"
    ok = notification(body, PROXY_IP, **{"x-forwarded-for": forwarded})
    assert gateway.verify_notification(provider, ok).kind == "payment"

    spoofed = notification(body, PROXY_IP, **{"x-forwarded-for": f"{YOOKASSA_IP}, 8.8.8.8"})
    with pytest.raises(WebhookRejected) as caught:
        gateway.verify_notification(provider, spoofed)
    assert caught.value.status == 403


def test_forwarded_for_from_an_untrusted_caller_is_ignored() -> None:
    gateway = YooKassaGateway()
    body = shared("yookassa_notification_payment_succeeded.json")
    forged = notification(body, "8.8.8.8", **{"x-forwarded-for": YOOKASSA_IP})
    with pytest.raises(WebhookRejected):
        gateway.verify_notification(make_provider(gateway), forged)
    proxy_only = make_provider(gateway, trusted_proxies=PROXY_IP)
    with pytest.raises(WebhookRejected):  # no header: the proxy itself is the caller
        gateway.verify_notification(proxy_only, notification(body, PROXY_IP))


def test_check_ip_off_accepts_any_caller() -> None:
    gateway = YooKassaGateway()
    body = shared("yookassa_notification_payment_succeeded.json")
    provider = make_provider(gateway, check_ip="off")
    notice = gateway.verify_notification(provider, notification(body, remote="8.8.8.8"))
    assert notice.payment_id == body["object"]["id"]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        [],
        {"type": "error", "event": "payment.succeeded", "object": {"id": "p1"}},
        {"type": "notification", "object": {"id": "p1"}},
        {"type": "notification", "event": "payment.succeeded", "object": {}},
        {"type": "notification", "event": "payment.succeeded", "object": "p1"},
        {"type": "notification", "event": "refund.succeeded", "object": {"id": "r1"}},
        {"type": "notification", "event": "payout.succeeded", "object": {"id": "po1"}},
    ],
)
def test_a_malformed_body_is_a_bad_request(body: Any) -> None:
    gateway = YooKassaGateway()
    with pytest.raises(WebhookRejected) as caught:
        gateway.verify_notification(make_provider(gateway), notification(body))
    assert (caught.value.status, caught.value.code) == (400, "bad_request")
    assert "p1" not in caught.value.message


def test_the_ip_is_checked_before_the_body() -> None:
    gateway = YooKassaGateway()
    with pytest.raises(WebhookRejected) as caught:
        gateway.verify_notification(make_provider(gateway), notification(b"x", remote="8.8.8.8"))
    assert caught.value.status == 403


# --------------------------------------------------------------------------- options


def test_check_options_fills_in_the_defaults() -> None:
    stored = YooKassaGateway().check_options({"shop_id": " 100500 ", "secret_key": SECRET})
    assert dict(stored) == {
        "shop_id": "100500",
        "secret_key": SECRET,
        "api_base": DEFAULT_API_BASE,
        "receipt": "off",
        "vat_code": "1",
        "check_ip": "on",
        "trusted_proxies": "",
    }


def test_check_options_normalises_what_it_keeps() -> None:
    options: Mapping[str, str] = {
        "shop_id": "1",
        "secret_key": "live_x",
        "api_base": "http://127.0.0.1:8080/v3/",
        "receipt": "ON",
        "check_ip": "Off",
        "trusted_proxies": "10.0.0.2, 172.16.0.0/12",
    }
    stored = YooKassaGateway().check_options(options)
    assert stored["api_base"] == "http://127.0.0.1:8080/v3"
    assert (stored["receipt"], stored["check_ip"]) == ("on", "off")
    assert stored["trusted_proxies"] == "10.0.0.2/32,172.16.0.0/12"


def test_check_options_names_every_bad_option() -> None:
    with pytest.raises(InvalidInput) as caught:
        YooKassaGateway().check_options(
            {
                "shop_id": "shop-1",
                "api_base": "ftp://api.yookassa.ru",
                "receipt": "yes",
                "vat_code": "7",
                "check_ip": "maybe",
                "trusted_proxies": "10.0.0.2, proxy.local",
                "colour": "red",
            }
        )
    message = caught.value.message
    for name in (
        "shop_id",
        "secret_key",
        "api_base",
        "receipt",
        "vat_code",
        "check_ip",
        "trusted_proxies",
        "colour",
    ):
        assert name in message
    assert "ftp" not in message


def test_the_gateway_describes_itself() -> None:
    gateway = YooKassaGateway()
    assert gateway.kind == "yookassa"
    assert gateway.secrets == {"secret_key"}
    assert gateway.secrets <= gateway.options


async def test_close_closes_the_session_it_made(
    fake: FakeYooKassaApi, provider: ProviderRecord
) -> None:
    import aiohttp

    made: list[aiohttp.ClientSession] = []

    def factory() -> aiohttp.ClientSession:
        made.append(aiohttp.ClientSession())
        return made[-1]

    gateway = YooKassaGateway(session_factory=factory)
    await gateway.close()  # nothing made yet
    assert made == []
    await gateway.create_payment(provider, make_request())
    await gateway.fetch_payment(provider, next(iter(fake.payments)))
    assert len(made) == 1
    await gateway.close()
    assert made[0].closed


# --------------------------------------------------------------------------- the fake itself


async def test_the_fake_wants_an_idempotence_key_like_yookassa(fake: FakeYooKassaApi) -> None:
    import aiohttp

    body = shared("yookassa_create_payment_request.json")
    auth = "Basic " + base64.b64encode(f"{SHOP_ID}:{SECRET}".encode()).decode()
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{fake.api_base}/payments", json=body, headers={"Authorization": auth}) as r,
    ):
        answer = await r.json()
    assert r.status == 400
    assert answer["type"] == "error"
    assert (answer["code"], answer["parameter"]) == ("invalid_request", "Idempotence-Key")
    assert set(answer) == set(shared("yookassa_error_400_invalid_request.json"))
    assert fake.payments == {}
