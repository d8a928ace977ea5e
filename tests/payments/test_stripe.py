"""The Stripe gateway against the local fake Stripe API (tests/fakes/stripe_api.py), the
recorded request shape and Stripe's signature test vector (/work/shared/fixtures/stripe)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDict

from inbox.domain.channel_errors import PermanentFailure, RetryLater
from inbox.domain.channel_io import WebhookRejected
from inbox.domain.errors import InvalidInput
from payments.ports import Notice, NotificationRequest, PaymentGateway, PaymentRequest
from payments.providers.stripe import (
    DEFAULT_API_BASE,
    StripeGateway,
    checkout_form,
    error_from_response,
    signature_matches,
)
from payments.records import OrderId, OrderLine, PaymentStatus, ProviderId, ProviderRecord
from tests.fakes.stripe_api import FakeStripeApi, SignedEvent, signature_header

SHARED = Path("/work/shared/fixtures/stripe")
NOW = 1_750_000_000
SECRET_KEY = "sk_test_FakeKey0123456789"
WEBHOOK_SECRET = "whsec_FakeSecret0123456789"


def shared(name: str) -> Any:
    return json.loads((SHARED / name).read_text(encoding="utf-8"))


def clock() -> float:
    return float(NOW)


def make_provider(gateway: StripeGateway, **options: str) -> ProviderRecord:
    given = {"secret_key": SECRET_KEY, "webhook_secret": WEBHOOK_SECRET, **options}
    return ProviderRecord(
        id=ProviderId("prv_stripe"),
        kind="stripe",
        name="Stripe",
        created_at=datetime(2025, 6, 1, tzinfo=UTC),
        options=gateway.check_options(given),
    )


def order(
    *lines: OrderLine,
    key: str = "pay-key-1",
    amount: int | None = None,
    currency: str = "EUR",
    return_url: str = "https://shop.example/orders/1042",
) -> PaymentRequest:
    lines = lines or (OrderLine("Lens cleaner", 2, 1250), OrderLine("Lens case", 1, 2400))
    return PaymentRequest(
        order_id=OrderId("ord_1042"),
        order_number=1042,
        amount_minor=sum(line.total_minor for line in lines) if amount is None else amount,
        currency=currency,
        lines=lines,
        description="Order #1042",
        idempotence_key=key,
        return_url=return_url,
    )


def notification(event: SignedEvent, **headers: str) -> NotificationRequest:
    return NotificationRequest(
        headers={**event.headers, **headers}, body=event.body, remote="127.0.0.1"
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeStripeApi]:
    async with FakeStripeApi(
        secret_key=SECRET_KEY, webhook_secret=WEBHOOK_SECRET, clock=clock
    ) as api:
        yield api


@pytest.fixture
async def gateway() -> AsyncIterator[StripeGateway]:
    built = StripeGateway(clock=clock)
    try:
        yield built
    finally:
        await built.close()


@pytest.fixture
def provider(gateway: StripeGateway, fake: FakeStripeApi) -> ProviderRecord:
    return make_provider(gateway, api_base=fake.api_base)


def test_the_gateway_is_a_payment_gateway() -> None:
    gateway: PaymentGateway = StripeGateway()
    assert gateway.kind == "stripe"
    assert gateway.secrets == {"secret_key", "webhook_secret"}
    assert gateway.secrets <= gateway.options


# --------------------------------------------------------------------------- the request


def test_the_form_has_the_recorded_requests_shape() -> None:
    recorded = shared("stripe_checkout_session_create_request.json")["form"]
    form = dict(checkout_form(order(OrderLine("Order #42", 1, 4900))))
    shape = {k: v for k, v in recorded.items() if k == "mode" or k.startswith("line_items")}
    assert {k: v for k, v in form.items() if k in shape} == shape
    assert set(form) - set(recorded) == {"metadata[order_number]"}


async def test_create_posts_lines_in_minor_units_and_a_lower_case_currency(
    gateway: StripeGateway, provider: ProviderRecord, fake: FakeStripeApi
) -> None:
    payment = await gateway.create_payment(provider, order())

    [sent] = fake.created
    assert sent.headers["authorization"] == f"Bearer {SECRET_KEY}"
    assert sent.headers["idempotency-key"] == "pay-key-1"
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert sent.form == {
        "mode": "payment",
        "line_items[0][price_data][currency]": "eur",
        "line_items[0][price_data][unit_amount]": "1250",
        "line_items[0][price_data][product_data][name]": "Lens cleaner",
        "line_items[0][quantity]": "2",
        "line_items[1][price_data][currency]": "eur",
        "line_items[1][price_data][unit_amount]": "2400",
        "line_items[1][price_data][product_data][name]": "Lens case",
        "line_items[1][quantity]": "1",
        "success_url": "https://shop.example/orders/1042",
        "cancel_url": "https://shop.example/orders/1042",
        "client_reference_id": "ord_1042",
        "metadata[order_id]": "ord_1042",
        "metadata[order_number]": "1042",
    }
    assert payment.payment_id.startswith("cs_test_")
    assert payment.status is PaymentStatus.PENDING
    assert payment.url == f"https://checkout.stripe.com/c/pay/{payment.payment_id}"
    session = fake.sessions[payment.payment_id]
    assert (session["amount_total"], session["currency"]) == (4900, "eur")


async def test_lines_that_do_not_add_up_become_one_line_for_the_amount(
    gateway: StripeGateway, provider: ProviderRecord, fake: FakeStripeApi
) -> None:
    payment = await gateway.create_payment(
        provider, order(OrderLine("Lens case", 2, 2400), amount=4000, currency="RUB")
    )

    [item] = fake.line_items[payment.payment_id]
    assert item == {
        "currency": "rub",
        "unit_amount": 4000,
        "quantity": 1,
        "description": "Order #1042",
        "amount_total": 4000,
    }


async def test_the_same_key_replays_the_same_session(
    gateway: StripeGateway, provider: ProviderRecord, fake: FakeStripeApi
) -> None:
    first = await gateway.create_payment(provider, order())
    again = await gateway.create_payment(provider, order())

    assert again == first
    assert len(fake.sessions) == 1
    assert [r.replayed for r in fake.requests] == [False, True]


async def test_the_same_key_with_other_lines_is_refused(
    gateway: StripeGateway, provider: ProviderRecord, fake: FakeStripeApi
) -> None:
    await gateway.create_payment(provider, order())
    with pytest.raises(PermanentFailure) as caught:
        await gateway.create_payment(provider, order(OrderLine("Other", 1, 100)))

    assert "same parameters" in caught.value.reason
    assert len(fake.sessions) == 1


async def test_rate_limits_are_retried_after_stripes_delay(
    gateway: StripeGateway, provider: ProviderRecord, fake: FakeStripeApi
) -> None:
    fake.fail_next("rate_limit", retry_after=7)
    fake.fail_next("rate_limit", count=2)

    with pytest.raises(RetryLater) as with_header:
        await gateway.create_payment(provider, order())
    delays = [with_header.value.retry_after]
    for _ in range(2):
        with pytest.raises(RetryLater) as without:
            await gateway.create_payment(provider, order())
        delays.append(without.value.retry_after)
    payment = await gateway.create_payment(provider, order())

    assert delays == [7.0, 1.0, 1.0]
    assert [r.status for r in fake.requests] == [429, 429, 429, 200]
    assert list(fake.sessions) == [payment.payment_id]


async def test_a_server_error_is_retried_and_the_retry_creates_one_session(
    gateway: StripeGateway, provider: ProviderRecord, fake: FakeStripeApi
) -> None:
    fake.fail_next("server_error")

    with pytest.raises(RetryLater) as caught:
        await gateway.create_payment(provider, order())
    await gateway.create_payment(provider, order())

    assert caught.value.retry_after is None  # the outbox's back-off paces it
    assert "HTTP 500" in caught.value.reason
    assert len(fake.sessions) == 1


async def test_stripe_saying_do_not_retry_is_final(
    gateway: StripeGateway, provider: ProviderRecord, fake: FakeStripeApi
) -> None:
    fake.fail_next("server_error", should_retry=False)

    with pytest.raises(PermanentFailure, match="retrying will not help"):
        await gateway.create_payment(provider, order())


async def test_a_wrong_key_is_a_permanent_failure_that_does_not_show_the_key(
    gateway: StripeGateway, fake: FakeStripeApi
) -> None:
    wrong = make_provider(gateway, api_base=fake.api_base, secret_key="sk_test_Wrong987654321")

    with pytest.raises(PermanentFailure) as caught:
        await gateway.create_payment(wrong, order())

    assert caught.value.reason == "The Stripe secret key is invalid or has been revoked."
    assert [r.status for r in fake.requests] == [401]
    assert fake.sessions == {}


async def test_a_request_stripe_refuses_names_stripes_reason(
    gateway: StripeGateway, provider: ProviderRecord, fake: FakeStripeApi
) -> None:
    with pytest.raises(PermanentFailure) as caught:
        await gateway.create_payment(provider, order(return_url=""))

    assert caught.value.reason == "Stripe refused the request: Missing required param: success_url."


async def test_a_connection_failure_is_retried(gateway: StripeGateway) -> None:
    async with FakeStripeApi() as gone:
        provider = make_provider(gateway, api_base=gone.api_base)
    with pytest.raises(RetryLater, match="connection to Stripe failed"):
        await gateway.create_payment(provider, order())


async def test_one_session_is_made_lazily_and_closed() -> None:
    made: list[aiohttp.ClientSession] = []

    def factory() -> aiohttp.ClientSession:
        made.append(aiohttp.ClientSession())
        return made[-1]

    async with FakeStripeApi(secret_key=SECRET_KEY) as fake:
        gateway = StripeGateway(session_factory=factory)
        provider = make_provider(gateway, api_base=fake.api_base)
        assert made == []
        payment = await gateway.create_payment(provider, order())
        await gateway.fetch_payment(provider, payment.payment_id)
        await gateway.close()
        await gateway.close()

    assert len(made) == 1
    assert made[0].closed


@pytest.mark.parametrize(
    ("status", "headers", "kind", "reason", "delay"),
    [
        (402, {}, PermanentFailure, "Stripe declined the payment: Your card was declined.", None),
        (403, {}, PermanentFailure, "The Stripe key may not do this (a restricted key?).", None),
        (404, {}, PermanentFailure, "Stripe has no such object: Your card was declined.", None),
        (
            400,
            {"stripe-should-retry": "true"},
            RetryLater,
            "Stripe is temporarily unavailable",
            None,
        ),
        (409, {}, RetryLater, "Stripe is still working on this request", 1.0),
        (
            503,
            {"Retry-After": "2"},
            RetryLater,
            "Stripe is temporarily unavailable (HTTP 503)",
            2.0,
        ),
    ],
)
def test_stripe_errors_map_to_channel_errors(
    status: int, headers: dict[str, str], kind: type[Exception], reason: str, delay: float | None
) -> None:
    body = shared("stripe_error_card_declined.json")
    error = error_from_response(status, body, CIMultiDict(headers))
    assert isinstance(error, kind)
    assert error.reason.startswith(reason)
    assert getattr(error, "retry_after", None) == delay


# --------------------------------------------------------------------------- fetching


async def test_fetch_reads_the_sessions_status(
    gateway: StripeGateway, provider: ProviderRecord, fake: FakeStripeApi
) -> None:
    paid = (await gateway.create_payment(provider, order(key="a"))).payment_id
    delayed = (await gateway.create_payment(provider, order(key="b"))).payment_id
    expired = (await gateway.create_payment(provider, order(key="c"))).payment_id
    still_open = (await gateway.create_payment(provider, order(key="d"))).payment_id
    fake.complete(paid)
    fake.complete(delayed, paid=False)
    fake.expire(expired)

    statuses = [
        (await gateway.fetch_payment(provider, payment_id)).status
        for payment_id in (paid, delayed, expired, still_open)
    ]

    assert statuses == [
        PaymentStatus.SUCCEEDED,
        PaymentStatus.PENDING,
        PaymentStatus.CANCELED,
        PaymentStatus.PENDING,
    ]
    assert fake.requests[-1].path == f"/v1/checkout/sessions/{still_open}"
    assert fake.requests[-1].headers["authorization"] == f"Bearer {SECRET_KEY}"


async def test_fetching_an_unknown_session_is_a_permanent_failure(
    gateway: StripeGateway, provider: ProviderRecord
) -> None:
    with pytest.raises(PermanentFailure) as caught:
        await gateway.fetch_payment(provider, "cs_test_nope")
    assert caught.value.reason == (
        "Stripe has no such object: No such checkout.session: 'cs_test_nope'"
    )


# --------------------------------------------------------------------------- signatures


def test_stripes_test_vector_verifies() -> None:
    vector = shared("stripe_signature_test_vector.json")
    body = vector["raw_body"].encode()
    header = vector["header_Stripe-Signature"]
    gateway = StripeGateway(clock=lambda: float(vector["timestamp"] + 10))
    provider = make_provider(gateway, webhook_secret=vector["endpoint_secret"])

    notice = gateway.verify_notification(
        provider, NotificationRequest({"stripe-signature": header}, body, "127.0.0.1")
    )

    assert signature_matches(header, body, vector["endpoint_secret"])
    assert notice == Notice(
        payment_id="cs_test_a1YS1URlnyQCN5fUUduORoQ7Pw41PJqDWkIVQCpJPqkfIhd6tVY8XB1OLY",
        key="evt_1Pgc76B7WZ01zgkWwyRHS12y",
        status=PaymentStatus.SUCCEEDED,
    )


def test_the_test_vector_verifies_at_todays_time_with_a_huge_tolerance() -> None:
    vector = shared("stripe_signature_test_vector.json")
    gateway = StripeGateway()  # the real clock
    provider = make_provider(
        gateway, webhook_secret=vector["endpoint_secret"], tolerance="100000000000"
    )
    request = NotificationRequest(
        {"stripe-signature": vector["header_Stripe-Signature"]},
        vector["raw_body"].encode(),
        "127.0.0.1",
    )

    assert gateway.verify_notification(provider, request).status is PaymentStatus.SUCCEEDED


def test_the_fakes_signature_matches_the_test_vector() -> None:
    vector = shared("stripe_signature_test_vector.json")
    header = signature_header(
        vector["raw_body"].encode(), [vector["endpoint_secret"]], vector["timestamp"]
    )
    assert header == vector["header_Stripe-Signature"]


def _rejected(
    gateway: StripeGateway, provider: ProviderRecord, request: NotificationRequest
) -> str:
    with pytest.raises(WebhookRejected) as caught:
        gateway.verify_notification(provider, request)
    assert (caught.value.status, caught.value.code) == (400, "bad_signature")
    return caught.value.message


def test_a_wrong_secret_a_tampered_body_or_no_header_is_rejected(
    gateway: StripeGateway, provider: ProviderRecord, fake: FakeStripeApi
) -> None:
    event = fake.signed_event("checkout.session.completed", {"id": "cs_test_1"})
    wrong = fake.signed_event("checkout.session.completed", {"id": "cs_test_1"}, "whsec_Other1")
    tampered = NotificationRequest(
        event.headers, event.body.replace(b"cs_test_1", b"cs_test_2"), "127.0.0.1"
    )
    no_header = NotificationRequest({"content-type": "application/json"}, event.body, "1.2.3.4")
    no_v1 = notification(event, **{"stripe-signature": f"t={NOW}"})
    bad_t = notification(event, **{"stripe-signature": "t=soon,v1=00"})

    assert "does not match" in _rejected(gateway, provider, notification(wrong))
    assert "does not match" in _rejected(gateway, provider, tampered)
    assert "missing" in _rejected(gateway, provider, no_header)
    assert "does not match" in _rejected(gateway, provider, no_v1)
    assert "does not match" in _rejected(gateway, provider, bad_t)
    assert gateway.verify_notification(provider, notification(event)).payment_id == "cs_test_1"


def test_an_event_older_than_the_tolerance_is_rejected(
    gateway: StripeGateway, provider: ProviderRecord, fake: FakeStripeApi
) -> None:
    edge = fake.signed_event("checkout.session.expired", {"id": "cs_1"}, timestamp=NOW - 300)
    old = fake.signed_event("checkout.session.expired", {"id": "cs_1"}, timestamp=NOW - 301)
    later = fake.signed_event("checkout.session.expired", {"id": "cs_1"}, timestamp=NOW + 60)
    strict = make_provider(gateway, api_base=fake.api_base, tolerance="30")
    recent = fake.signed_event("checkout.session.expired", {"id": "cs_1"}, timestamp=NOW - 31)

    assert gateway.verify_notification(provider, notification(edge)).status
    assert "too old" in _rejected(gateway, provider, notification(old))
    assert gateway.verify_notification(provider, notification(later)).status  # as Stripe
    assert gateway.verify_notification(provider, notification(recent)).status
    assert "too old" in _rejected(gateway, strict, notification(recent))


def test_one_matching_v1_among_several_is_enough(
    gateway: StripeGateway, provider: ProviderRecord, fake: FakeStripeApi
) -> None:
    rolled = fake.signed_event(
        "checkout.session.completed",
        {"id": "cs_test_9", "payment_status": "paid"},
        "whsec_OldSecret1",
        also_signed_by=[WEBHOOK_SECRET, "whsec_Another2"],
        v0=True,
    )
    assert rolled.headers["stripe-signature"].count("v1=") == 3

    notice = gateway.verify_notification(provider, notification(rolled))

    assert notice == Notice("cs_test_9", rolled.event_id, status=PaymentStatus.SUCCEEDED)


def test_a_v0_signature_alone_is_not_accepted(
    gateway: StripeGateway, provider: ProviderRecord, fake: FakeStripeApi
) -> None:
    event = fake.signed_event("checkout.session.completed", {"id": "cs_test_1"})
    v0_only = event.headers["stripe-signature"].replace("v1=", "v0=")

    _rejected(gateway, provider, notification(event, **{"stripe-signature": v0_only}))


# --------------------------------------------------------------------------- events


async def test_events_map_to_notices(
    gateway: StripeGateway, provider: ProviderRecord, fake: FakeStripeApi
) -> None:
    paid = (await gateway.create_payment(provider, order(key="a"))).payment_id
    delayed = (await gateway.create_payment(provider, order(key="b"))).payment_id
    gone = (await gateway.create_payment(provider, order(key="c"))).payment_id
    completed = fake.signed_event("checkout.session.completed", fake.complete(paid))
    waiting = fake.signed_event("checkout.session.completed", fake.complete(delayed, paid=False))
    settled = fake.signed_event(
        "checkout.session.async_payment_succeeded",
        {**fake.sessions[delayed], "payment_status": "paid"},
    )
    failed = fake.signed_event("checkout.session.async_payment_failed", fake.sessions[delayed])
    expired = fake.signed_event("checkout.session.expired", fake.expire(gone))
    refunded = fake.signed_event("charge.refunded", fake.refund(paid))
    partly = fake.signed_event("charge.refunded", fake.refund(paid, amount=100))
    other = fake.signed_event("customer.created", {"id": "cus_1", "object": "customer"})

    def notice(event: SignedEvent) -> Notice:
        return gateway.verify_notification(provider, notification(event))

    assert notice(completed) == Notice(paid, completed.event_id, status=PaymentStatus.SUCCEEDED)
    assert notice(waiting) == Notice(delayed, waiting.event_id, status=PaymentStatus.PENDING)
    assert notice(settled) == Notice(delayed, settled.event_id, status=PaymentStatus.SUCCEEDED)
    assert notice(failed) == Notice(delayed, failed.event_id, status=PaymentStatus.CANCELED)
    assert notice(expired) == Notice(gone, expired.event_id, status=PaymentStatus.CANCELED)
    assert notice(refunded) == Notice(
        paid, refunded.event_id, kind="refund", status=PaymentStatus.REFUNDED
    )
    assert notice(partly) == Notice("", partly.event_id)  # not refunded in full: ignored
    assert notice(other) == Notice("", other.event_id)  # acknowledged and ignored


def test_a_signed_body_that_is_not_an_event_is_a_bad_request(
    gateway: StripeGateway, provider: ProviderRecord
) -> None:
    for body in (b"not json", b"[]", b'{"id": "evt_1", "type": "x", "data": {}}'):
        header = signature_header(body, [WEBHOOK_SECRET], NOW)
        request = NotificationRequest({"stripe-signature": header}, body, "127.0.0.1")
        with pytest.raises(WebhookRejected) as caught:
            gateway.verify_notification(provider, request)
        assert (caught.value.status, caught.value.code) == (400, "bad_request")


# --------------------------------------------------------------------------- options


def test_check_options_fills_the_defaults() -> None:
    stored = StripeGateway().check_options(
        {"secret_key": " sk_live_Abc123 ", "webhook_secret": "whsec_Xyz789"}
    )
    assert stored == {
        "secret_key": "sk_live_Abc123",
        "webhook_secret": "whsec_Xyz789",
        "api_base": DEFAULT_API_BASE,
        "tolerance": "300",
    }


def test_check_options_names_every_bad_option() -> None:
    with pytest.raises(InvalidInput) as caught:
        StripeGateway().check_options(
            {
                "secret_key": "pk_test_123",
                "webhook_secret": "secret",
                "api_base": "ftp://example.com",
                "tolerance": "-5",
                "colour": "blue",
            }
        )
    message = caught.value.message
    for name in ("secret_key", "webhook_secret", "api_base", "tolerance", "colour"):
        assert name in message
    assert "pk_test_123" not in message


def test_check_options_needs_both_secrets() -> None:
    with pytest.raises(InvalidInput) as caught:
        StripeGateway().check_options({})
    assert "secret_key" in caught.value.message
    assert "webhook_secret" in caught.value.message
    assert "api_base" not in caught.value.message
