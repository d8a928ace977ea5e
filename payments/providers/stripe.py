"""Stripe: a Checkout Session per payment, verified webhooks (channel-contracts.md §5.2).

Plain aiohttp against the REST API rather than the official ``stripe`` package: its
default HTTP client is synchronous (``requests``), and the async path needs an extra
HTTPX dependency and a global API key and version configuration. We call two endpoints
and verify one signature, which is less code than adapting the SDK and keeps the
``api_base`` option (a proxy, a test fake) one string.

* ``create_payment`` — ``POST /v1/checkout/sessions``, form-encoded with nested keys in
  brackets (``line_items[0][price_data][unit_amount]``), ``Authorization: Bearer
  <secret_key>`` and ``Idempotency-Key: <the request's key>``: Stripe replays the first
  answer for a key for 24 hours, so a retry after a crash gets the same session back.
* ``fetch_payment`` — ``GET /v1/checkout/sessions/{id}``.
* ``verify_notification`` — the ``Stripe-Signature`` header: ``t=<unix>,v1=<hex>,...``,
  each ``v1`` an HMAC-SHA256 of ``f"{t}.{raw body}"`` under the endpoint's ``whsec_``
  secret; accepted when one matches (constant time) and ``t`` is within ``tolerance``
  seconds of now (stripe-python's ``WebhookSignature.verify_header``). Failures are 400:
  Stripe's docs ask endpoints to answer a bad signature with 400. Signed events are
  trusted, so their notices carry a status.

Amounts are minor-unit ints both here and on Stripe's wire (``unit_amount`` is in the
currency's smallest unit; every currency in :data:`payments.money.CURRENCIES` has two
decimals there too). Nothing is logged: not the key, not a body, not a URL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import aiohttp

from inbox.domain.channel_errors import ChannelError, PermanentFailure, RetryLater
from inbox.domain.channel_io import WebhookRejected
from inbox.domain.errors import InvalidInput
from inbox.domain.untrusted import BadJson, parse_json, same_secret
from payments.ports import Notice, NotificationRequest, PaymentRequest, ProviderPayment
from payments.records import OrderLine, PaymentStatus, ProviderRecord

__all__ = [
    "API_TIMEOUT",
    "DEFAULT_API_BASE",
    "DEFAULT_RETRY_AFTER",
    "DEFAULT_TOLERANCE",
    "StripeGateway",
    "checkout_form",
    "error_from_response",
    "parse_event",
    "signature_matches",
]

DEFAULT_API_BASE = "https://api.stripe.com"
#: stripe-python's default: a signed event older than five minutes is a replay.
DEFAULT_TOLERANCE = 300
#: Stripe sends no ``Retry-After`` on most 429s; stripe-python's first back-off is 0.5 s
#: and our outbox paces further retries, so one second is enough.
DEFAULT_RETRY_AFTER = 1.0
API_TIMEOUT = aiohttp.ClientTimeout(total=30, connect=10)
#: Checkout takes at most 100 line items in ``payment`` mode.
MAX_LINE_ITEMS = 100
#: Stripe's limit on an ``Idempotency-Key``; a longer key is replaced by its SHA-256.
MAX_IDEMPOTENCY_KEY = 255

_SECRET_KEY = re.compile(r"(?:sk|rk)_(?:test|live)_[A-Za-z0-9_]+")
_WEBHOOK_SECRET = re.compile(r"whsec_[A-Za-z0-9_+/=]+")
_KEY_REASON = "The Stripe secret key is invalid or has been revoked."


class StripeGateway:
    """The ``stripe`` provider kind. Does network I/O in ``create_payment`` and
    ``fetch_payment`` only; ``verify_notification`` is local (a signature check)."""

    kind = "stripe"
    options = frozenset({"secret_key", "webhook_secret", "api_base", "tolerance"})
    secrets = frozenset({"secret_key", "webhook_secret"})

    def __init__(
        self,
        session_factory: Callable[[], aiohttp.ClientSession] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """``session_factory`` is called once, on the first request, inside the running
        loop; the session it returns is the gateway's and :meth:`close` closes it.
        ``clock`` is the unix time now (the signature tolerance)."""
        self._factory = session_factory or _new_session
        self._clock = clock or time.time
        self._session: aiohttp.ClientSession | None = None

    # ------------------------------------------------------------------- options

    def check_options(self, options: Mapping[str, str]) -> Mapping[str, str]:
        problems: list[str] = []
        unknown = sorted(set(options) - self.options)
        if unknown:
            problems.append(f"unknown option(s): {', '.join(unknown)}")
        secret_key = _text(options.get("secret_key"))
        if not _SECRET_KEY.fullmatch(secret_key):
            problems.append("secret_key must be a Stripe secret key (sk_test_…, sk_live_… or rk_…)")
        webhook_secret = _text(options.get("webhook_secret"))
        if not _WEBHOOK_SECRET.fullmatch(webhook_secret):
            problems.append("webhook_secret must be the endpoint's signing secret (whsec_…)")
        api_base = _text(options.get("api_base")) or DEFAULT_API_BASE
        parts = urlsplit(api_base)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            problems.append("api_base must be an http(s) URL such as https://api.stripe.com")
        tolerance = _text(options.get("tolerance")) or str(DEFAULT_TOLERANCE)
        if not tolerance.isascii() or not tolerance.isdigit() or int(tolerance) < 1:
            problems.append("tolerance must be a whole number of seconds, at least 1")
        if problems:
            raise InvalidInput("Stripe options: " + "; ".join(problems))
        return {
            "secret_key": secret_key,
            "webhook_secret": webhook_secret,
            "api_base": api_base.rstrip("/"),
            "tolerance": str(int(tolerance)),
        }

    # ------------------------------------------------------------------- payments

    async def create_payment(
        self, provider: ProviderRecord, request: PaymentRequest
    ) -> ProviderPayment:
        """A Checkout Session for the order; the same idempotence key gets the same one."""
        key = request.idempotence_key
        if len(key) > MAX_IDEMPOTENCY_KEY:
            key = hashlib.sha256(key.encode()).hexdigest()
        path, form = "/v1/checkout/sessions", checkout_form(request)
        return _payment(await self._call(provider, "POST", path, form=form, idempotency_key=key))

    async def fetch_payment(self, provider: ProviderRecord, payment_id: str) -> ProviderPayment:
        """The session's status now. Stripe keeps no refund state on a session, so this
        never says REFUNDED (refunds arrive as ``charge.refunded`` events)."""
        path = f"/v1/checkout/sessions/{quote(payment_id, safe='')}"
        return _payment(await self._call(provider, "GET", path))

    # ------------------------------------------------------------------- webhooks

    def verify_notification(self, provider: ProviderRecord, request: NotificationRequest) -> Notice:
        header = _header(request.headers, "stripe-signature")
        if not header:
            raise WebhookRejected(400, "bad_signature", "the Stripe-Signature header is missing")
        secret = provider.options.get("webhook_secret", "")
        tolerance = _int(provider.options.get("tolerance"), DEFAULT_TOLERANCE)
        if not secret or not signature_matches(header, request.body, secret):
            raise WebhookRejected(400, "bad_signature", "the Stripe signature does not match")
        timestamp = _timestamp(header)
        if timestamp is None or timestamp < self._clock() - tolerance:
            raise WebhookRejected(400, "bad_signature", "the Stripe signature is too old")
        return parse_event(request.body)

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    # ------------------------------------------------------------------- plumbing

    async def _call(
        self,
        provider: ProviderRecord,
        method: str,
        path: str,
        *,
        form: list[tuple[str, str]] | None = None,
        idempotency_key: str | None = None,
    ) -> Mapping[str, Any]:
        base = (provider.options.get("api_base") or DEFAULT_API_BASE).rstrip("/")
        headers = {"Authorization": f"Bearer {provider.options.get('secret_key', '')}"}
        data: bytes | None = None
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            data = urlencode(form).encode()
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        if self._session is None:
            self._session = self._factory()
        try:
            async with self._session.request(
                method, base + path, headers=headers, data=data
            ) as response:
                try:
                    body: Any = await response.json(content_type=None)
                except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
                    body = None
                if response.status >= 400:
                    raise error_from_response(response.status, body, response.headers)
        except ChannelError:
            raise
        except TimeoutError as exc:
            raise RetryLater("Stripe did not answer in time.") from exc
        except aiohttp.InvalidURL as exc:
            raise PermanentFailure("The Stripe provider's api_base is not a valid URL.") from exc
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            raise RetryLater("The connection to Stripe failed.") from exc
        if not isinstance(body, Mapping):
            raise RetryLater("Stripe answered with something that is not a JSON object.")
        return body


def checkout_form(request: PaymentRequest) -> list[tuple[str, str]]:
    """The Checkout Session's form fields, in order (the recorded request
    ``stripe_checkout_session_create_request.json``).

    The order's lines become line items when they add up to the amount asked for and
    fit Checkout's 100; otherwise one line named after the order carries the amount, so
    the customer is never charged anything but ``amount_minor``."""
    currency = request.currency.lower()
    lines = request.lines
    if (
        not lines
        or len(lines) > MAX_LINE_ITEMS
        or sum(line.total_minor for line in lines) != request.amount_minor
    ):
        name = request.description or f"Order #{request.order_number}"
        lines = (OrderLine(name=name, quantity=1, unit_price_minor=request.amount_minor),)
    form: list[tuple[str, str]] = [("mode", "payment")]
    for index, line in enumerate(lines):
        item = f"line_items[{index}]"
        name = line.name.strip() or f"Order #{request.order_number}, item {index + 1}"
        form += [
            (f"{item}[price_data][currency]", currency),
            (f"{item}[price_data][unit_amount]", str(line.unit_price_minor)),
            (f"{item}[price_data][product_data][name]", name),
            (f"{item}[quantity]", str(line.quantity)),
        ]
    if request.return_url:
        form += [("success_url", request.return_url), ("cancel_url", request.return_url)]
    form += [
        ("client_reference_id", request.order_id),
        ("metadata[order_id]", request.order_id),
        ("metadata[order_number]", str(request.order_number)),
    ]
    return form


def error_from_response(status: int, body: Any, headers: Mapping[str, str]) -> ChannelError:
    """A failed call (HTTP ≥ 400; ``headers`` looked up as the response spells them,
    e.g. aiohttp's case-insensitive ones) → RetryLater/PermanentFailure, as stripe-python decides
    whether to retry: ``Stripe-Should-Retry`` when present, else 409 (a concurrent request
    with the same key), 429 and 5xx are transient; any other 4xx is final."""
    error = body.get("error") if isinstance(body, Mapping) else None
    error = error if isinstance(error, Mapping) else {}
    words = str(error.get("message") or "").strip()
    should_retry = headers.get("Stripe-Should-Retry", "").strip().lower()
    if status == 429:
        delay = _retry_after(headers.get("Retry-After"))
        return RetryLater("Stripe's rate limit was hit; retrying shortly.", delay)
    if status == 409 and should_retry != "false":
        delay = _retry_after(headers.get("Retry-After"))
        return RetryLater("Stripe is still working on this request; retrying shortly.", delay)
    if should_retry == "true" or (should_retry != "false" and status >= 500):
        # No pause of our own unless Stripe names one: the outbox's back-off paces these.
        delay_or_none = _seconds(headers.get("Retry-After"))
        return RetryLater(f"Stripe is temporarily unavailable (HTTP {status}).", delay_or_none)
    if status == 401:
        return PermanentFailure(_KEY_REASON)
    if status == 403:
        return PermanentFailure("The Stripe key may not do this (a restricted key?).")
    if status == 402:
        return PermanentFailure(f"Stripe declined the payment: {words or 'no reason given'}")
    if status == 404:
        return PermanentFailure(f"Stripe has no such object: {words or 'not found'}")
    if status >= 500:
        return PermanentFailure(f"Stripe failed and says retrying will not help (HTTP {status}).")
    return PermanentFailure(f"Stripe refused the request: {words or f'HTTP {status}'}")


def signature_matches(header: str, body: bytes, secret: str) -> bool:
    """Whether one ``v1`` of a ``Stripe-Signature`` header signs ``body`` under
    ``secret`` (the timestamp's age is the caller's check)."""
    timestamp = _timestamp(header)
    if timestamp is None:
        return False
    signed = str(timestamp).encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    found = False
    for name, value in _pairs(header):
        if name == "v1" and same_secret(value, expected):
            found = True  # no early exit: every candidate costs the same
    return found


def parse_event(body: bytes) -> Notice:
    """A verified event → the notice the service acts on.

    * ``checkout.session.completed`` — SUCCEEDED when ``payment_status`` is ``paid`` (or
      ``no_payment_required``), else PENDING (a delayed method such as SEPA is still
      running; ``async_payment_succeeded`` or ``_failed`` follows).
    * ``checkout.session.async_payment_succeeded`` — SUCCEEDED; ``_failed`` and
      ``checkout.session.expired`` — CANCELED.
    * ``charge.refunded`` — a refund notice, REFUNDED when the charge is refunded in full
      (a partial refund leaves ``refunded`` false and is ignored). Its payment id is the
      charge's ``metadata.checkout_session``. ASSUMPTION: Stripe does not put the session
      id on a charge by itself; whoever refunds (the fake does) must set that metadata,
      else the notice has no payment id.
    * any other event — ``Notice(payment_id="", status=None)``: acknowledged; the
      service ignores notices without a payment id.
    """
    try:
        event = parse_json(body)
    except BadJson as exc:
        raise WebhookRejected(400, "bad_request", "the body is not a Stripe event") from exc
    data = event.get("data") if isinstance(event, dict) else None
    obj = data.get("object") if isinstance(data, dict) else None
    if (
        not isinstance(event, dict)
        or not isinstance(event.get("id"), str)
        or not isinstance(event.get("type"), str)
        or not isinstance(obj, dict)
    ):
        raise WebhookRejected(400, "bad_request", "the body is not a Stripe event")
    key, kind, object_id = event["id"], event["type"], _text(obj.get("id"))
    if kind == "checkout.session.completed":
        paid = obj.get("payment_status") in ("paid", "no_payment_required")
        status = PaymentStatus.SUCCEEDED if paid else PaymentStatus.PENDING
        return Notice(payment_id=object_id, key=key, status=status)
    if kind == "checkout.session.async_payment_succeeded":
        return Notice(payment_id=object_id, key=key, status=PaymentStatus.SUCCEEDED)
    if kind in ("checkout.session.async_payment_failed", "checkout.session.expired"):
        return Notice(payment_id=object_id, key=key, status=PaymentStatus.CANCELED)
    if kind == "charge.refunded" and obj.get("refunded") is True:
        metadata = obj.get("metadata")
        session = _text(metadata.get("checkout_session")) if isinstance(metadata, dict) else ""
        return Notice(payment_id=session, key=key, kind="refund", status=PaymentStatus.REFUNDED)
    return Notice(payment_id="", key=key)


# --------------------------------------------------------------------------- helpers


def _new_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=API_TIMEOUT)


def _payment(session: Mapping[str, Any]) -> ProviderPayment:
    session_id = session.get("id")
    if not isinstance(session_id, str) or not session_id:
        raise RetryLater("Stripe answered without a checkout session id.")
    if session.get("payment_status") in ("paid", "no_payment_required"):
        status = PaymentStatus.SUCCEEDED
    elif session.get("status") == "expired":
        status = PaymentStatus.CANCELED
    else:
        status = PaymentStatus.PENDING
    return ProviderPayment(payment_id=session_id, status=status, url=_text(session.get("url")))


def _pairs(header: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for item in header.split(","):
        name, sep, value = item.strip().partition("=")
        if sep:
            pairs.append((name.strip(), value.strip()))
    return pairs


def _timestamp(header: str) -> int | None:
    for name, value in _pairs(header):
        if name == "t":
            return int(value) if value.isascii() and value.isdigit() else None
    return None


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), "")
    return value.strip()


def _retry_after(value: str | None) -> float:
    """``Retry-After`` in seconds, else :data:`DEFAULT_RETRY_AFTER`."""
    seconds = _seconds(value)
    return DEFAULT_RETRY_AFTER if seconds is None else seconds


def _seconds(value: str | None) -> float | None:
    """A ``Retry-After`` of seconds (Stripe sends no HTTP-date form)."""
    try:
        seconds = float((value or "").strip())
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _int(value: str | None, default: int) -> int:
    text = _text(value)
    return int(text) if text.isascii() and text.isdigit() else default


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""
