"""YooKassa (API v3) as a :class:`payments.ports.PaymentGateway`, on plain aiohttp.

Why not the official ``yookassa`` SDK: 3.x is synchronous (``requests``), so every call
would need a thread, its configuration is process-global (``Configuration.configure``),
and it makes a fresh ``uuid4`` idempotence key unless told otherwise. Three REST calls and
HTTP Basic are less code than wrapping it. Facts and sources:
``/work/shared/design/channel-contracts.md`` §5.1.

* ``create_payment`` — ``POST {api_base}/payments`` with ``Idempotence-Key``: the key was
  committed before the call, so a retry after a timeout, a 5xx or a crash asks for the
  same payment, never a second one. With ``receipt=on`` the body carries a 54-FZ receipt
  (one item per order line; each item's ``amount`` is the unit price, ``quantity`` a JSON
  integer: the API's ``quantity`` is a number, and ours are whole).
* ``fetch_payment`` — ``GET {api_base}/payments/{id}``. A fully refunded payment keeps
  ``status: succeeded`` at YooKassa; ``refunded_amount`` equal to ``amount`` is REFUNDED.
* ``verify_notification`` — YooKassa signs nothing. With ``check_ip=on`` the caller must
  be in YooKassa's published networks (the SDK's ``SecurityHelper`` list); behind our own
  reverse proxy (``trusted_proxies``) the right-most ``X-Forwarded-For`` hop that is not one
  of them is the caller. The body is never believed: :class:`Notice` has ``status=None``
  and the service re-reads the payment (what YooKassa's own example does).

Errors: 429 → :class:`RetryLater` (``Retry-After`` or 1 s); 500/502/503/504 and 202
("still processing") → ``RetryLater`` — the outcome is unknown, retry with the same key;
a dropped connection or timeout → ``RetryLater``; 400/401/403/404 (and other 4xx) →
:class:`PermanentFailure` with a sentence an administrator can act on. Nothing here logs;
no URL carries a secret.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp

from inbox.domain.channel_errors import PermanentFailure, RetryLater
from inbox.domain.channel_io import WebhookRejected
from inbox.domain.errors import InvalidInput
from inbox.domain.untrusted import BadJson, parse_json
from payments.money import to_string
from payments.ports import Notice, NotificationRequest, PaymentRequest, ProviderPayment
from payments.records import PaymentStatus, ProviderRecord

__all__ = [
    "API_TIMEOUT",
    "DEFAULT_API_BASE",
    "DEFAULT_RETRY_AFTER",
    "YOOKASSA_NETWORKS",
    "YooKassaGateway",
    "error_from_response",
    "parse_notification",
    "payment_body",
    "payment_from_answer",
    "receipt",
]

DEFAULT_API_BASE = "https://api.yookassa.ru/v3"
#: A payment link is created while an operator waits; longer than this is retried later.
API_TIMEOUT = aiohttp.ClientTimeout(total=30, connect=10)
#: YooKassa's 429 may come without ``Retry-After``; a second is enough to fall under its
#: per-shop limit and short enough not to hold an operator's link back.
DEFAULT_RETRY_AFTER = 1.0
#: ``SecurityHelper.YOOKASSA_NETWORKS`` of the official SDKs (python 3.13.0 and php 2.3.0
#: agree), channel-contracts.md §5.1 / fixture ``yookassa_webhook_source_ips.json``.
YOOKASSA_NETWORKS: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = tuple(
    ipaddress.ip_network(network)
    for network in (
        "185.71.76.0/27",
        "185.71.77.0/27",
        "77.75.153.0/25",
        "77.75.154.128/25",
        "77.75.156.11",
        "77.75.156.35",
        "2a02:5180:0:1509::/64",
        "2a02:5180:0:2655::/64",
        "2a02:5180:0:1533::/64",
        "2a02:5180:0:2669::/64",
    )
)
#: ``description`` of a payment and of a receipt item: at most 128 characters.
DESCRIPTION_LIMIT = 128
#: A receipt holds at most 100 items (80 with "Чеки от ЮKassa"; that one the API reports).
RECEIPT_ITEMS_LIMIT = 100
#: The Idempotence-Key limit is 64 characters (channel-contracts.md §5.1, unconfirmed);
#: a longer key is replaced by its SHA-256, which is as stable across retries.
IDEMPOTENCE_KEY_LIMIT = 64

_STATUSES: Mapping[str, PaymentStatus] = {
    "pending": PaymentStatus.PENDING,
    "waiting_for_capture": PaymentStatus.WAITING_FOR_CAPTURE,
    "succeeded": PaymentStatus.SUCCEEDED,
    "canceled": PaymentStatus.CANCELED,
}
_DEFAULTS: Mapping[str, str] = {
    "api_base": DEFAULT_API_BASE,
    "receipt": "off",
    "vat_code": "1",
    "check_ip": "on",
    "trusted_proxies": "",
}
_SHOP_ID = re.compile(r"\d{1,20}")
_ON_OFF = frozenset({"on", "off"})
_VAT_CODES = frozenset(str(code) for code in range(1, 7))
_CREDENTIALS = "YooKassa refused the shop id or secret key"
_RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _new_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=API_TIMEOUT)


class YooKassaGateway:
    """Every configured YooKassa provider shares this gateway and its one session (the
    credentials come with each call, from the provider's options)."""

    kind = "yookassa"
    options = frozenset(
        {"shop_id", "secret_key", "api_base", "receipt", "vat_code", "check_ip", "trusted_proxies"}
    )
    secrets = frozenset({"secret_key"})

    def __init__(self, session_factory: Callable[[], aiohttp.ClientSession] | None = None) -> None:
        self._session_factory = session_factory or _new_session
        self._session: aiohttp.ClientSession | None = None

    # ----------------------------------------------------------------- options

    def check_options(self, options: Mapping[str, str]) -> Mapping[str, str]:
        values = {**_DEFAULTS, **{k: str(v).strip() for k, v in options.items()}}
        unknown = sorted(set(values) - self.options)
        problems = [f"{name} (not a YooKassa option)" for name in unknown]
        if not _SHOP_ID.fullmatch(values.get("shop_id", "")):
            problems.append("shop_id (the shop's number from the YooKassa dashboard, digits)")
        if not values.get("secret_key"):
            problems.append("secret_key (required: test_… or live_…)")
        values["api_base"] = values["api_base"].rstrip("/") or DEFAULT_API_BASE
        base = urlsplit(values["api_base"])
        if base.scheme not in ("http", "https") or not base.hostname:
            problems.append("api_base (an http(s) URL such as https://api.yookassa.ru/v3)")
        for name in ("receipt", "check_ip"):
            values[name] = values[name].lower()
            if values[name] not in _ON_OFF:
                problems.append(f"{name} (on or off)")
        if values["vat_code"] not in _VAT_CODES:
            problems.append("vat_code (1 to 6: 1 is no VAT)")
        try:
            proxies = _parse_proxies(values["trusted_proxies"])
            values["trusted_proxies"] = ",".join(str(network) for network in proxies)
        except ValueError:
            problems.append("trusted_proxies (comma-separated IP addresses or networks)")
        if problems:
            raise InvalidInput("invalid YooKassa option(s): " + "; ".join(problems))
        return values

    # ----------------------------------------------------------------- payments

    async def create_payment(
        self, provider: ProviderRecord, request: PaymentRequest
    ) -> ProviderPayment:
        body = payment_body(request, provider.options)
        key = request.idempotence_key
        if len(key) > IDEMPOTENCE_KEY_LIMIT:
            key = hashlib.sha256(key.encode()).hexdigest()
        answer = await self._call(provider, "POST", "payments", key=key, body=body)
        return payment_from_answer(answer)

    async def fetch_payment(self, provider: ProviderRecord, payment_id: str) -> ProviderPayment:
        if not payment_id:
            raise PermanentFailure("YooKassa has no payment without an id")
        answer = await self._call(provider, "GET", f"payments/{quote(payment_id, safe='')}")
        return payment_from_answer(answer)

    # ----------------------------------------------------------------- notifications

    def verify_notification(self, provider: ProviderRecord, request: NotificationRequest) -> Notice:
        options = provider.options
        if options.get("check_ip", "on") != "off":
            try:
                trusted = _parse_proxies(options.get("trusted_proxies", ""))
            except ValueError:  # stored before check_options knew the option: trust none
                trusted = ()
            caller = _caller(request, trusted)
            if caller is None or not any(caller in network for network in YOOKASSA_NETWORKS):
                raise WebhookRejected(
                    403, "forbidden", "the notification does not come from YooKassa's addresses"
                )
        return parse_notification(request.body)

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    # ----------------------------------------------------------------- plumbing

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = self._session_factory()
        return self._session

    async def _call(
        self,
        provider: ProviderRecord,
        method: str,
        path: str,
        *,
        key: str | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Mapping[str, Any]:
        options = provider.options
        base = (options.get("api_base") or DEFAULT_API_BASE).rstrip("/")
        headers = {
            "Authorization": _basic(options.get("shop_id", ""), options.get("secret_key", ""))
        }
        if key is not None:
            headers["Idempotence-Key"] = key
        try:
            async with self._http().request(
                method, f"{base}/{path}", headers=headers, json=body
            ) as response:
                status = response.status
                retry_after = response.headers.get("Retry-After")
                raw = await response.read()
        except TimeoutError as exc:
            raise RetryLater("YooKassa did not answer in time.") from exc
        except aiohttp.InvalidURL as exc:
            raise PermanentFailure("The provider's api_base is not a valid URL.") from exc
        except aiohttp.ClientError as exc:  # refused, reset, cut short, too many redirects
            raise RetryLater("The connection to YooKassa failed.") from exc
        try:
            answer: Any = json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError):
            answer = None
        if status in (200, 201) and isinstance(answer, Mapping):
            return answer
        raise error_from_response(status, answer, retry_after)


# --------------------------------------------------------------------------- pure parts


def payment_body(request: PaymentRequest, options: Mapping[str, str]) -> dict[str, Any]:
    """The ``POST /payments`` JSON (fixture ``yookassa_create_payment_request.json``)."""
    currency = request.currency
    body: dict[str, Any] = {
        "amount": {"value": to_string(request.amount_minor, currency), "currency": currency},
        "capture": True,
        "confirmation": {"type": "redirect", "return_url": request.return_url},
        "description": _cut(request.description or f"Заказ №{request.order_number}"),
        "metadata": {"order_id": str(request.order_id), "order_number": str(request.order_number)},
    }
    if options.get("receipt") == "on":
        body["receipt"] = receipt(request, int(options.get("vat_code") or 1))
    return body


def receipt(request: PaymentRequest, vat_code: int) -> dict[str, Any]:
    """A 54-FZ receipt: who gets it and one item per order line (unit price, quantity).

    YooKassa refuses a receipt whose items do not add up to the payment, so that is
    caught here, before the call, with a sentence instead of its 400."""
    if request.customer_email:
        customer = {"email": request.customer_email}
    elif phone := re.sub(r"\D", "", request.customer_phone):
        customer = {"phone": phone}  # E.164 digits only: "79001234567"
    else:
        raise PermanentFailure("A YooKassa receipt needs the customer's e-mail or phone number.")
    if not request.lines or len(request.lines) > RECEIPT_ITEMS_LIMIT:
        raise PermanentFailure(f"A YooKassa receipt takes 1 to {RECEIPT_ITEMS_LIMIT} order lines.")
    if sum(line.total_minor for line in request.lines) != request.amount_minor:
        raise PermanentFailure("The order lines do not add up to the amount to pay.")
    currency = request.currency
    items = [
        {
            "description": _cut(line.name or line.sku or "Товар"),
            "quantity": line.quantity,
            "amount": {"value": to_string(line.unit_price_minor, currency), "currency": currency},
            "vat_code": vat_code,
            "payment_mode": "full_payment",
            "payment_subject": "commodity",
        }
        for line in request.lines
    ]
    return {"customer": customer, "items": items}


def parse_notification(body: bytes) -> Notice:
    """``{"type": "notification", "event": …, "object": {…}}`` → a :class:`Notice`; a
    refund's ``payment_id`` names the payment. ``WebhookRejected(400)`` otherwise."""
    try:
        data = parse_json(body)
    except BadJson as exc:
        raise WebhookRejected(400, "bad_request", "the body is not JSON") from exc
    if not isinstance(data, dict) or data.get("type") != "notification":
        raise WebhookRejected(400, "bad_request", "not a YooKassa notification")
    event, obj = data.get("event"), data.get("object")
    if not isinstance(event, str) or not isinstance(obj, dict) or not _text(obj.get("id")):
        raise WebhookRejected(400, "bad_request", "a YooKassa notification needs event and object")
    object_id = str(obj["id"])
    if event.startswith("refund."):
        payment_id = obj.get("payment_id")
        if not _text(payment_id):
            raise WebhookRejected(400, "bad_request", "a refund notification needs payment_id")
        return Notice(payment_id=str(payment_id), key=f"{event}:{object_id}", kind="refund")
    if event.startswith("payment."):
        return Notice(payment_id=object_id, key=f"{event}:{object_id}", kind="payment")
    raise WebhookRejected(400, "bad_request", "not a payment or refund notification")


def error_from_response(
    status: int, body: Any, retry_after: str | None = None
) -> PermanentFailure | RetryLater:
    """A YooKassa answer that is not a payment → the core's channel error."""
    error = body if isinstance(body, Mapping) else {}
    code, words = str(error.get("code") or ""), _text(error.get("description"))
    if status == 429 or code == "too_many_requests":
        delay = _seconds(retry_after)
        return RetryLater(
            "YooKassa's request limit was hit; retrying shortly.",
            DEFAULT_RETRY_AFTER if delay is None else delay,
        )
    if status == 202:
        return RetryLater("YooKassa is still processing the request.", _seconds(retry_after))
    if status in _RETRYABLE_STATUSES or code == "internal_server_error":
        return RetryLater(
            f"YooKassa is temporarily unavailable (HTTP {status}); the result is unknown.",
            _seconds(retry_after),
        )
    if status == 401 or code == "invalid_credentials":
        return PermanentFailure(_CREDENTIALS)
    if status == 403 or code == "forbidden":
        return PermanentFailure("YooKassa does not allow this shop to do that.")
    if status == 404 or code == "not_found":
        return PermanentFailure("YooKassa has no such payment (or api_base is not its API).")
    if status in (200, 201):
        return RetryLater("YooKassa answered with something that is not a payment.")
    if status == 400 or code == "invalid_request":
        parameter = _text(error.get("parameter"))
        reason = "YooKassa refused the request"
        reason += f": {words}" if words else ""
        reason += f" (parameter {parameter})" if parameter else ""
        return PermanentFailure(reason + ".")
    if 400 <= status < 500:
        return PermanentFailure(f"YooKassa refused the request (HTTP {status}).")
    return RetryLater(f"YooKassa answered HTTP {status}; the result is unknown.")


def payment_from_answer(answer: Mapping[str, Any]) -> ProviderPayment:
    """A payment object (``POST``/``GET`` answer) → :class:`ProviderPayment`."""
    payment_id, raw_status = _text(answer.get("id")), answer.get("status")
    status = _STATUSES.get(raw_status) if isinstance(raw_status, str) else None
    if not payment_id or status is None:
        raise RetryLater("YooKassa answered with something that is not a payment.")
    if status is PaymentStatus.SUCCEEDED and _fully_refunded(answer):
        status = PaymentStatus.REFUNDED
    confirmation = answer.get("confirmation")
    url = confirmation.get("confirmation_url") if isinstance(confirmation, Mapping) else None
    return ProviderPayment(payment_id=payment_id, status=status, url=_text(url))


def _fully_refunded(answer: Mapping[str, Any]) -> bool:
    amount, refunded = _money(answer.get("amount")), _money(answer.get("refunded_amount"))
    if amount is None or refunded is None or amount[1] != refunded[1]:
        return False
    return amount[0] > 0 and refunded[0] >= amount[0]


def _money(value: Any) -> tuple[Decimal, str] | None:
    if not isinstance(value, Mapping):
        return None
    try:
        amount = Decimal(str(value.get("value")))
    except InvalidOperation:
        return None
    return (amount, str(value.get("currency"))) if amount.is_finite() else None


def _caller(request: NotificationRequest, trusted: tuple[_Network, ...]) -> _Address | None:
    """The address that called us: ``remote``, or — when ``remote`` is a trusted proxy —
    the right-most ``X-Forwarded-For`` hop that is not (hops left of it are whatever the
    client claimed). ``None`` when an address does not parse."""
    hops = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",")]
    chain = [request.remote, *reversed([hop for hop in hops if hop])]
    caller: _Address | None = None
    for hop in chain:
        caller = _address(hop)
        if caller is None or not any(caller in network for network in trusted):
            return caller
    return caller  # every hop is one of our proxies: the proxy itself called


def _address(text: str) -> _Address | None:
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # a dual-stack socket reports ::ffff:185.71.76.1
    return address


def _parse_proxies(text: str) -> tuple[_Network, ...]:
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()
    )


def _basic(shop_id: str, secret_key: str) -> str:
    """HTTP Basic by hand: ``aiohttp.BasicAuth`` is deprecated in 3.14 and its successor,
    ``encode_basic_auth``, is not in the 3.10 we still allow."""
    return "Basic " + base64.b64encode(f"{shop_id}:{secret_key}".encode()).decode("ascii")


def _cut(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _seconds(value: str | None) -> float | None:
    """``Retry-After`` in seconds (an HTTP-date is not what YooKassa sends)."""
    try:
        seconds = float((value or "").strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
