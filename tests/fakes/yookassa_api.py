"""A local fake of the YooKassa API v3 that answers like the real one.

Routes: ``POST /v3/payments`` and ``GET /v3/payments/{payment_id}``
(channel-contracts.md §5.1, fixtures in ``/work/shared/fixtures/yookassa/``).

Like YooKassa it checks HTTP Basic ``shop_id:secret_key`` (401 ``invalid_credentials``),
requires ``Idempotence-Key`` on a POST (400 ``invalid_request``, parameter
``Idempotence-Key``), replays the original answer for the same key and the same body and
refuses the same key with another body (400, "Idempotence key duplicated" as in
``yookassa_error_400_invalid_request.json``), and checks the body's shape: amounts are
decimal strings with at most two decimals in a known currency, ``description`` ≤ 128,
``confirmation`` a redirect with ``return_url``, a receipt has a customer and items that add
up to the payment (400 ``invalid_request`` naming the ``parameter``). Errors use the
envelope ``{"type": "error", "id", "code", "description", "parameter"?}``.

Scripting: ``fail_next(kind, count=..., retry_after=...)`` where ``kind`` is
``too_many_requests`` (429), ``server_error`` (500), ``processing`` (202) or
``lost_answer`` (the payment is created, then the answer is a 500: "result unknown").
Test controls: ``set_status``, ``refund``, ``notification`` (the body YooKassa would POST,
shaped like ``yookassa_notification_payment_succeeded.json``). Every request is recorded.
Runs on 127.0.0.1 with a random port.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from aiohttp import web
from aiohttp.test_utils import TestServer

__all__ = ["FailureKind", "FakePayment", "FakeYooKassaApi", "RecordedRequest"]

FailureKind = Literal["too_many_requests", "server_error", "processing", "lost_answer"]
PaymentState = Literal["pending", "waiting_for_capture", "succeeded", "canceled"]

_AMOUNT = re.compile(r"\d{1,13}(?:\.\d{1,2})?")
_CURRENCIES = frozenset({"RUB", "USD", "EUR", "BYN", "KZT", "UAH", "UZS", "TRY", "GEL"})
_PAYMENT_MODES = frozenset(
    {
        "full_prepayment",
        "partial_prepayment",
        "advance",
        "full_payment",
        "partial_payment",
        "credit",
        "credit_payment",
    }
)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    json: Any = None
    #: What the fake answered.
    status: int = 0


@dataclass(slots=True)
class FakePayment:
    id: str
    status: PaymentState
    amount: dict[str, str]
    description: str
    metadata: dict[str, Any]
    confirmation_url: str
    created_at: str
    receipt: dict[str, Any] | None = None
    refunded_minor: int = 0
    refunds: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The payment object as ``GET /payments/{id}`` returns it."""
        body: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "amount": dict(self.amount),
            "description": self.description,
            "recipient": {"account_id": "100500", "gateway_id": "100700"},
            "created_at": self.created_at,
            "test": True,
            "paid": self.status in ("waiting_for_capture", "succeeded"),
            "refundable": self.status == "succeeded" and self.refunded_minor < self._minor,
            "metadata": dict(self.metadata),
        }
        if self.status == "pending":
            body["confirmation"] = {
                "type": "redirect",
                "confirmation_url": self.confirmation_url,
            }
        if self.status in ("waiting_for_capture", "succeeded"):
            body["payment_method"] = {
                "type": "bank_card",
                "id": self.id,
                "saved": False,
                "title": "Bank card *4444",
                "card": {"first6": "555555", "last4": "4444", "card_type": "MasterCard"},
            }
        if self.status == "succeeded":
            body["captured_at"] = self.created_at
            body["refunded_amount"] = {
                "value": _decimal(self.refunded_minor),
                "currency": self.amount["currency"],
            }
        if self.status == "canceled":
            body["cancellation_details"] = {
                "party": "yoo_money",
                "reason": "expired_on_confirmation",
            }
        return body

    @property
    def _minor(self) -> int:
        return _minor(self.amount["value"])


class _Answered(Exception):
    def __init__(self, response: web.Response) -> None:
        self.response = response


class FakeYooKassaApi:
    """``async with FakeYooKassaApi() as fake:`` then use ``fake.api_base`` as the option."""

    def __init__(self, *, shop_id: str = "100500", secret_key: str = "test_secret") -> None:
        self.shop_id = shop_id
        self.secret_key = secret_key
        self.requests: list[RecordedRequest] = []
        self.payments: dict[str, FakePayment] = {}
        #: Idempotence-Key → (the body it came with, the status and JSON answered).
        self._replays: dict[str, tuple[Any, int, dict[str, Any]]] = {}
        self._script: deque[tuple[FailureKind, float | None]] = deque()
        self._ids = itertools.count(1)
        self._server: TestServer | None = None

    # ------------------------------------------------------------------- life cycle

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v3/payments", self._create)
        app.router.add_get("/v3/payments/{payment_id}", self._get)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()
            self._server = None

    async def __aenter__(self) -> FakeYooKassaApi:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return str(self._server.make_url("")).rstrip("/")

    @property
    def api_base(self) -> str:
        return f"{self.url}/v3"

    # ------------------------------------------------------------------- scripting

    def fail_next(
        self, kind: FailureKind, *, count: int = 1, retry_after: float | None = None
    ) -> None:
        """The next ``count`` POSTs fail like this (``retry_after`` adds ``Retry-After``)."""
        for _ in range(count):
            self._script.append((kind, retry_after))

    def set_status(self, payment_id: str, status: PaymentState) -> None:
        """The customer paid (``succeeded``), the shop holds it (``waiting_for_capture``)
        or it was canceled / expired (``canceled``)."""
        self.payments[payment_id].status = status

    def refund(self, payment_id: str, value: str | None = None) -> str:
        """Refund ``value`` (default: what is left) of a succeeded payment; the refund id."""
        payment = self.payments[payment_id]
        assert payment.status == "succeeded", "YooKassa refunds only succeeded payments"
        left = _minor(payment.amount["value"]) - payment.refunded_minor
        minor = _minor(value) if value is not None else left
        payment.refunded_minor += minor
        assert payment.refunded_minor <= _minor(payment.amount["value"])
        refund_id = f"21b23b5b-000f-5061-a000-{next(self._ids):012x}"
        payment.refunds.append(
            {
                "id": refund_id,
                "payment_id": payment_id,
                "created_at": _now(),
                "amount": {"value": _decimal(minor), "currency": payment.amount["currency"]},
                "status": "succeeded",
            }
        )
        return refund_id

    def notification(self, event: str, payment_id: str) -> dict[str, Any]:
        """The JSON YooKassa would POST for ``event`` about this payment (its current
        state; ``refund.succeeded`` carries the payment's latest refund)."""
        payment = self.payments[payment_id]
        obj = payment.refunds[-1] if event.startswith("refund.") else payment.as_json()
        return {"type": "notification", "event": event, "object": obj}

    # ------------------------------------------------------------------- inspection

    @property
    def created(self) -> list[RecordedRequest]:
        """The POSTs that created (or replayed) a payment."""
        return [r for r in self.requests if r.method == "POST" and r.status == 200]

    # ------------------------------------------------------------------- handlers

    async def _create(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            response = self._create_payment(headers, body)
        except _Answered as answered:
            response = answered.response
        self.requests.append(RecordedRequest("POST", request.path, headers, body, response.status))
        return response

    def _create_payment(self, headers: dict[str, str], body: Any) -> web.Response:
        self._authorise(headers)
        key = headers.get("idempotence-key", "")
        if not key:
            raise _Answered(_invalid("Idempotence-Key header is required", "Idempotence-Key"))
        if len(key) > 64:
            raise _Answered(_invalid("Idempotence key is too long", "Idempotence-Key"))
        kind, retry_after = self._script.popleft() if self._script else (None, None)
        if kind == "too_many_requests":
            response = _error(429, "too_many_requests", "Too many requests")
            if retry_after is not None:
                response.headers["Retry-After"] = f"{retry_after:g}"
            raise _Answered(response)
        if kind == "server_error":
            raise _Answered(_error(500, "internal_server_error", "Internal server error"))
        if kind == "processing":
            # The 202 body's shape is unconfirmed (channel-contracts.md §8): a client must
            # not depend on it; this one only says what happened.
            raise _Answered(
                web.json_response(
                    {"type": "processing", "description": "Request accepted"}, status=202
                )
            )
        replay = self._replays.get(key)
        if replay is not None:
            if replay[0] != body:
                raise _Answered(_invalid("Idempotence key duplicated", "Idempotence-Key"))
            return web.json_response(replay[2], status=replay[1])
        _check_payment(body)
        payment = self._new_payment(body)
        answer = payment.as_json()
        self._replays[key] = (body, 200, answer)
        if kind == "lost_answer":
            raise _Answered(_error(500, "internal_server_error", "Internal server error"))
        return web.json_response(answer)

    async def _get(self, request: web.Request) -> web.Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            self._authorise(headers)
            payment = self.payments.get(request.match_info["payment_id"])
            if payment is None:
                raise _Answered(
                    _error(404, "not_found", "Payment not found or forbidden", "payment_id")
                )
            response = web.json_response(payment.as_json())
        except _Answered as answered:
            response = answered.response
        self.requests.append(RecordedRequest("GET", request.path, headers, None, response.status))
        return response

    # ------------------------------------------------------------------- helpers

    def _authorise(self, headers: dict[str, str]) -> None:
        expected = base64.b64encode(f"{self.shop_id}:{self.secret_key}".encode()).decode()
        if headers.get("authorization") != f"Basic {expected}":
            raise _Answered(
                _error(401, "invalid_credentials", "Authentication by given credentials failed")
            )

    def _new_payment(self, body: dict[str, Any]) -> FakePayment:
        payment_id = f"2f3b588d-000f-5000-8000-{next(self._ids):012x}"
        payment = FakePayment(
            id=payment_id,
            status="pending",
            amount=dict(body["amount"]),
            description=str(body.get("description", "")),
            metadata=dict(body.get("metadata") or {}),
            confirmation_url=(
                f"https://yoomoney.ru/checkout/payments/v2/contract?orderId={payment_id}"
            ),
            created_at=_now(),
            receipt=body.get("receipt"),
        )
        self.payments[payment_id] = payment
        return payment


def _check_payment(body: Any) -> None:
    if not isinstance(body, dict):
        raise _Answered(_invalid("Request body is not a JSON object", "body"))
    _check_amount(body.get("amount"), "amount")
    confirmation = body.get("confirmation")
    if not isinstance(confirmation, dict) or confirmation.get("type") != "redirect":
        raise _Answered(_invalid("Unsupported confirmation type", "confirmation.type"))
    if not isinstance(confirmation.get("return_url"), str) or not confirmation["return_url"]:
        raise _Answered(_invalid("Missing return_url", "confirmation.return_url"))
    description = body.get("description", "")
    if not isinstance(description, str) or len(description) > 128:
        raise _Answered(_invalid("Invalid description", "description"))
    metadata = body.get("metadata", {})
    if not isinstance(metadata, dict) or len(metadata) > 16:
        raise _Answered(_invalid("Invalid metadata", "metadata"))
    for name, value in metadata.items():
        if len(name) > 32 or not isinstance(value, str) or len(value) > 512:
            raise _Answered(_invalid("Invalid metadata value", f"metadata.{name}"))
    if "receipt" in body:
        _check_receipt(body["receipt"], body["amount"])


def _check_amount(amount: Any, parameter: str) -> None:
    if not isinstance(amount, dict):
        raise _Answered(_invalid("Missing amount", parameter))
    value = amount.get("value")
    if not isinstance(value, str) or not _AMOUNT.fullmatch(value) or Decimal(value) <= 0:
        raise _Answered(_invalid("Invalid amount value", f"{parameter}.value"))
    if amount.get("currency") not in _CURRENCIES:
        raise _Answered(_invalid("Invalid currency", f"{parameter}.currency"))


def _check_receipt(receipt: Any, amount: dict[str, str]) -> None:
    if not isinstance(receipt, dict):
        raise _Answered(_invalid("Invalid receipt", "receipt"))
    customer = receipt.get("customer")
    if not isinstance(customer, dict) or not (customer.get("email") or customer.get("phone")):
        raise _Answered(_invalid("Receipt customer needs email or phone", "receipt.customer"))
    phone = customer.get("phone")
    if phone is not None and not (isinstance(phone, str) and re.fullmatch(r"\d{7,15}", phone)):
        raise _Answered(_invalid("Phone must be in E.164 format", "receipt.customer.phone"))
    items = receipt.get("items")
    if not isinstance(items, list) or not 0 < len(items) <= 100:
        raise _Answered(_invalid("Receipt must have 1..100 items", "receipt.items"))
    total = Decimal(0)
    for index, item in enumerate(items):
        where = f"receipt.items[{index}]"
        if not isinstance(item, dict):
            raise _Answered(_invalid("Invalid receipt item", where))
        description = item.get("description")
        if not isinstance(description, str) or not 0 < len(description) <= 128:
            raise _Answered(_invalid("Invalid item description", f"{where}.description"))
        quantity = item.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int | str):
            raise _Answered(_invalid("Invalid item quantity", f"{where}.quantity"))
        if Decimal(str(quantity)) <= 0:
            raise _Answered(_invalid("Invalid item quantity", f"{where}.quantity"))
        _check_amount(item.get("amount"), f"{where}.amount")
        if item["amount"]["currency"] != amount["currency"]:
            raise _Answered(_invalid("Item currency differs", f"{where}.amount.currency"))
        vat_code = item.get("vat_code")
        if isinstance(vat_code, bool) or vat_code not in range(1, 7):
            raise _Answered(_invalid("Invalid vat_code", f"{where}.vat_code"))
        if item.get("payment_mode", "full_payment") not in _PAYMENT_MODES:
            raise _Answered(_invalid("Invalid payment_mode", f"{where}.payment_mode"))
        total += Decimal(str(quantity)) * Decimal(item["amount"]["value"])
    if total != Decimal(amount["value"]):
        raise _Answered(
            _invalid("Receipt items do not add up to the payment amount", "receipt.items")
        )


_error_ids = itertools.count(1)


def _error(status: int, code: str, description: str, parameter: str | None = None) -> web.Response:
    body: dict[str, Any] = {
        "type": "error",
        "id": f"249e2cf0-000f-5000-a000-{next(_error_ids):012x}",
        "code": code,
        "description": description,
    }
    if parameter is not None:
        body["parameter"] = parameter
    return web.json_response(body, status=status)


def _invalid(description: str, parameter: str) -> web.Response:
    return _error(400, "invalid_request", description, parameter)


def _minor(value: str) -> int:
    return int(Decimal(value).scaleb(2))


def _decimal(minor: int) -> str:
    return f"{Decimal(minor).scaleb(-2):.2f}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
