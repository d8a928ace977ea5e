"""A local fake of Stripe's Checkout Sessions API that answers like the real one.

Routes: ``POST /v1/checkout/sessions`` (form-encoded, nested keys in brackets) and
``GET /v1/checkout/sessions/{id}``; any other path answers Stripe's 404 for an
unrecognised URL. Like Stripe it checks the bearer key (401), the form (400 with
``parameter_missing``, ``parameter_unknown``, ``parameter_invalid_integer``, ``url_invalid``,
...) and answers with the envelope ``{"error": {"type", "code"?, "param"?, "message",
"doc_url"?}}`` and a ``Request-Id`` header.

Idempotency (docs.stripe.com/idempotency): the first answer to an ``Idempotency-Key`` is
kept and replayed (with ``Idempotent-Replayed: true``) for the same parameters; the same
key with other parameters is a 400 ``idempotency_error``. As on Stripe, a request that fails
validation or authentication saves no result; scripted 429/500s (``fail_next``) are failures
in front of the API and save nothing either, so the retry is served.

Test controls: ``complete``, ``expire``, ``refund`` change a session as a customer or the
dashboard would; ``signed_event`` builds an event body and its ``Stripe-Signature`` header
exactly as Stripe does. Every request is recorded with its parsed form. Runs on 127.0.0.1
with a random port.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import re
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.test_utils import TestServer

__all__ = [
    "API_VERSION",
    "FailureKind",
    "FakeStripeApi",
    "RecordedRequest",
    "SignedEvent",
    "signature_header",
]

API_VERSION = "2026-10-28.endive"
#: Stripe's ceiling for one charge in a two-decimal currency: 999,999.99.
MAX_AMOUNT = 99_999_999

FailureKind = Literal["rate_limit", "server_error"]

_TOP_LEVEL = frozenset(
    {"mode", "success_url", "cancel_url", "client_reference_id", "customer_email", "expires_at"}
)
_LINE_KEY = re.compile(r"line_items\[(\d+)\](.+)")
_LINE_FIELDS = frozenset(
    {
        "[price_data][currency]",
        "[price_data][unit_amount]",
        "[price_data][product_data][name]",
        "[price_data][product_data][description]",
        "[quantity]",
    }
)
_METADATA_KEY = re.compile(r"metadata\[([^\[\]]+)\]")


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str] = field(default_factory=dict)
    #: What the fake answered, and whether it was a replay of a saved answer.
    status: int = 0
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class SignedEvent:
    """An event as Stripe POSTs it: the raw body and lower-case headers."""

    event_id: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class _Script:
    kind: FailureKind
    retry_after: float | None
    should_retry: bool | None
    method: str | None


@dataclass(frozen=True, slots=True)
class _Saved:
    fingerprint: tuple[str, str, tuple[tuple[str, str], ...]]
    status: int
    body: dict[str, Any]


class _Answered(Exception):
    def __init__(self, response: web.Response) -> None:
        self.response = response


def signature_header(
    body: bytes, secrets: Sequence[str], timestamp: int, *, v0: bool = False
) -> str:
    """``t=<timestamp>,v1=<hex>...``: one ``v1`` per secret (Stripe signs with the old and
    the new secret while one is being rolled), and in test mode a legacy ``v0``."""
    signed = f"{timestamp}.".encode() + body
    parts = [f"t={timestamp}"]
    parts += [
        "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest() for secret in secrets
    ]
    if v0:
        parts.append("v0=" + hashlib.sha256(b"legacy" + signed).hexdigest())
    return ",".join(parts)


class FakeStripeApi:
    """``async with FakeStripeApi() as fake:`` then point the gateway at ``fake.api_base``."""

    def __init__(
        self,
        *,
        secret_key: str = "sk_test_FakeKey0123456789",
        webhook_secret: str = "whsec_FakeSecret0123456789",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.requests: list[RecordedRequest] = []
        self.sessions: dict[str, dict[str, Any]] = {}
        #: The line items of each session (Stripe shows them only when expanded).
        self.line_items: dict[str, list[dict[str, Any]]] = {}
        self._clock = clock
        self._saved: dict[str, _Saved] = {}
        self._script: deque[_Script] = deque()
        self._ids = itertools.count(1)
        self._server: TestServer | None = None

    # ------------------------------------------------------------------- life cycle

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/checkout/sessions", self._create)
        app.router.add_get("/v1/checkout/sessions/{session_id}", self._retrieve)
        app.router.add_route("*", "/{tail:.*}", self._unrecognised)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()
            self._server = None

    async def __aenter__(self) -> FakeStripeApi:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def api_base(self) -> str:
        assert self._server is not None, "start() the fake first"
        return str(self._server.make_url("")).rstrip("/")

    # ------------------------------------------------------------------- scripting

    def fail_next(
        self,
        kind: FailureKind,
        *,
        count: int = 1,
        retry_after: float | None = None,
        should_retry: bool | None = None,
        method: str | None = None,
    ) -> None:
        """The next ``count`` requests (of ``method``, if given) fail: ``rate_limit`` is a
        429 ``rate_limit``, ``server_error`` a 500 ``api_error``. ``retry_after`` adds a
        ``Retry-After`` header, ``should_retry`` a ``Stripe-Should-Retry`` one."""
        for _ in range(count):
            self._script.append(_Script(kind, retry_after, should_retry, method))

    def complete(self, session_id: str, *, paid: bool = True) -> dict[str, Any]:
        """The customer finishes checkout: ``paid`` for a card, unpaid for a delayed
        method still in progress. Returns the session as an event would carry it."""
        session = self.sessions[session_id]
        session["status"] = "complete"
        session["payment_status"] = "paid" if paid else "unpaid"
        session["payment_intent"] = f"pi_fake{next(self._ids):06d}"
        return copy.deepcopy(session)

    def expire(self, session_id: str) -> dict[str, Any]:
        session = self.sessions[session_id]
        assert session["status"] == "open", "Stripe expires only open sessions"
        session["status"] = "expired"
        return copy.deepcopy(session)

    def refund(self, session_id: str, amount: int | None = None) -> dict[str, Any]:
        """Refund a paid session's charge (in full unless ``amount``); returns the charge
        as ``charge.refunded`` carries it. The refunder put the order id and the session
        id in the charge's metadata (``order_id``, ``checkout_session``): Stripe itself
        does not link a charge to its Checkout Session."""
        session = self.sessions[session_id]
        assert session["payment_status"] == "paid", "only a paid session has a charge"
        total = int(session["amount_total"])
        refunded = total if amount is None else amount
        return {
            "id": f"ch_fake{next(self._ids):06d}",
            "object": "charge",
            "amount": total,
            "amount_captured": total,
            "amount_refunded": refunded,
            "refunded": refunded == total,
            "captured": True,
            "paid": True,
            "status": "succeeded",
            "currency": session["currency"],
            "payment_intent": session["payment_intent"],
            "livemode": False,
            "metadata": {
                "order_id": str(session["metadata"].get("order_id", "")),
                "checkout_session": session_id,
            },
        }

    def signed_event(
        self,
        event_type: str,
        obj: dict[str, Any],
        secret: str | None = None,
        timestamp: int | None = None,
        *,
        also_signed_by: Sequence[str] = (),
        v0: bool = False,
    ) -> SignedEvent:
        """An event of ``event_type`` about ``obj``, pretty-printed as Stripe sends it,
        signed with ``secret`` (default: the fake's) at ``timestamp`` (default: now)."""
        when = int(self._clock()) if timestamp is None else timestamp
        event_id = f"evt_fake{next(self._ids):06d}"
        event = {
            "id": event_id,
            "object": "event",
            "api_version": API_VERSION,
            "created": when,
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        body = json.dumps(event, indent=2).encode()
        secrets = [secret or self.webhook_secret, *also_signed_by]
        headers = {
            "content-type": "application/json; charset=utf-8",
            "stripe-signature": signature_header(body, secrets, when, v0=v0),
        }
        return SignedEvent(event_id, body, headers)

    # ------------------------------------------------------------------- inspection

    @property
    def created(self) -> list[RecordedRequest]:
        """Every session creation the fake accepted (first answers, not replays)."""
        return [
            r for r in self.requests if r.method == "POST" and r.status == 200 and not r.replayed
        ]

    # ------------------------------------------------------------------- handlers

    async def _create(self, request: web.Request) -> web.Response:
        raw = (await request.read()).decode("utf-8", "replace")
        pairs = parse_qsl(raw, keep_blank_values=True)
        form = dict(pairs)
        key = request.headers.get("Idempotency-Key")
        replayed = False
        try:
            self._authorise(request)
            self._scripted(request)
            fingerprint = ("POST", request.path, tuple(sorted(pairs)))
            saved = self._saved.get(key) if key is not None else None
            if saved is not None:
                if saved.fingerprint != fingerprint:
                    raise _idempotency_mismatch(key or "")
                replayed = True
                response = _json(saved.body, saved.status)
                response.headers["Idempotent-Replayed"] = "true"
            else:
                if key is not None and len(key) > 255:
                    raise _invalid("Idempotency-Key must be at most 255 characters.", None)
                session = self._new_session(form, pairs)
                if key is not None:
                    self._saved[key] = _Saved(fingerprint, 200, copy.deepcopy(session))
                response = _json(session)
        except _Answered as answered:
            response = answered.response
        self.requests.append(_record(request, form, response.status, replayed))
        return response

    async def _retrieve(self, request: web.Request) -> web.Response:
        session_id = request.match_info["session_id"]
        try:
            self._authorise(request)
            self._scripted(request)
            session = self.sessions.get(session_id)
            if session is None:
                raise _Answered(
                    _error(
                        404,
                        f"No such checkout.session: '{session_id[:80]}'",
                        code="resource_missing",
                        param="session",
                    )
                )
            response = _json(copy.deepcopy(session))
        except _Answered as answered:
            response = answered.response
        self.requests.append(_record(request, {}, response.status, False))
        return response

    async def _unrecognised(self, request: web.Request) -> web.Response:
        response = _error(
            404,
            f"Unrecognized request URL ({request.method}: {request.path}). Please see "
            "https://stripe.com/docs or we can help at https://support.stripe.com/.",
        )
        self.requests.append(_record(request, {}, response.status, False))
        return response

    # ------------------------------------------------------------------- checks

    def _authorise(self, request: web.Request) -> None:
        header = request.headers.get("Authorization", "")
        if not header:
            raise _Answered(
                _error(
                    401,
                    "You did not provide an API key. You need to provide your API key in the "
                    "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                    "YOUR_SECRET_KEY').",
                )
            )
        if header != f"Bearer {self.secret_key}":
            given = header.removeprefix("Bearer ").strip()
            masked = given[:8] + "*" * max(len(given) - 12, 0) + given[-4:]
            raise _Answered(_error(401, f"Invalid API Key provided: {masked}"))

    def _scripted(self, request: web.Request) -> None:
        for script in self._script:
            if script.method is None or script.method == request.method:
                self._script.remove(script)
                break
        else:
            return
        if script.kind == "rate_limit":
            response = _error(
                429,
                "Request rate limit exceeded. Learn more about rate limits here "
                "https://stripe.com/docs/rate-limits.",
                code="rate_limit",
            )
        else:
            response = _error(
                500,
                "An unknown error occurred",
                error_type="api_error",
            )
        if script.retry_after is not None:
            response.headers["Retry-After"] = f"{script.retry_after:g}"
        if script.should_retry is not None:
            response.headers["Stripe-Should-Retry"] = str(script.should_retry).lower()
        raise _Answered(response)

    def _new_session(self, form: dict[str, str], pairs: list[tuple[str, str]]) -> dict[str, Any]:
        metadata: dict[str, str] = {}
        lines: dict[int, dict[str, str]] = {}
        for name, value in pairs:
            line = _LINE_KEY.fullmatch(name)
            meta = _METADATA_KEY.fullmatch(name)
            if line and line.group(2) in _LINE_FIELDS:
                lines.setdefault(int(line.group(1)), {})[line.group(2)] = value
            elif meta:
                metadata[meta.group(1)] = value
            elif name not in _TOP_LEVEL:
                raise _invalid(f"Received unknown parameter: {name}", name, "parameter_unknown")
        mode = _required(form, "mode")
        if mode != "payment":
            raise _invalid(
                "Invalid mode: the fake supports only payment.", "mode", "parameter_invalid"
            )
        _url(form, "success_url", required=True)
        _url(form, "cancel_url", required=False)
        _check_metadata(metadata)
        if len(form.get("client_reference_id", "")) > 200:
            raise _invalid(
                "client_reference_id must be at most 200 characters.",
                "client_reference_id",
                "parameter_invalid_string_too_long",
            )
        items = _line_items(lines)
        currency = items[0]["currency"]
        total = sum(item["amount_total"] for item in items)
        if total > MAX_AMOUNT:
            raise _invalid("Amount must be no more than 999,999.99", None, "amount_too_large")
        session_id = f"cs_test_a1Fake{next(self._ids):06d}"
        now = int(self._clock())
        session: dict[str, Any] = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": total,
            "amount_total": total,
            "cancel_url": form.get("cancel_url"),
            "client_reference_id": form.get("client_reference_id"),
            "created": now,
            "currency": currency,
            "customer_email": form.get("customer_email"),
            "expires_at": int(form.get("expires_at") or now + 24 * 3600),
            "livemode": False,
            "metadata": metadata,
            "mode": "payment",
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": form["success_url"],
            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
        }
        self.sessions[session_id] = session
        self.line_items[session_id] = items
        return copy.deepcopy(session)


# --------------------------------------------------------------------------- form checks


def _required(form: dict[str, str], name: str) -> str:
    value = form.get(name, "")
    if not value:
        raise _invalid(f"Missing required param: {name}.", name, "parameter_missing")
    return value


def _url(form: dict[str, str], name: str, *, required: bool) -> None:
    value = _required(form, name) if required else form.get(name)
    if value is not None and not re.fullmatch(r"https?://[^\s/]+\S*", value):
        raise _invalid("Not a valid URL", name, "url_invalid")


def _check_metadata(metadata: dict[str, str]) -> None:
    if len(metadata) > 50:
        raise _invalid("Invalid metadata: at most 50 keys.", "metadata", "parameter_invalid")
    for key, value in metadata.items():
        if len(key) > 40 or len(value) > 500:
            raise _invalid(
                "Invalid metadata: keys at most 40 characters, values at most 500.",
                f"metadata[{key}]",
                "parameter_invalid",
            )


def _line_items(lines: dict[int, dict[str, str]]) -> list[dict[str, Any]]:
    if not lines:
        raise _invalid("Missing required param: line_items.", "line_items", "parameter_missing")
    if sorted(lines) != list(range(len(lines))):
        raise _invalid(
            "Invalid array: line_items must be indexed from 0.", "line_items", "parameter_invalid"
        )
    items: list[dict[str, Any]] = []
    for index in range(len(lines)):
        fields, prefix = lines[index], f"line_items[{index}]"
        for sub in ("[price_data][currency]", "[price_data][unit_amount]", "[quantity]"):
            if not fields.get(sub):
                raise _invalid(
                    f"Missing required param: {prefix}{sub}.", prefix + sub, "parameter_missing"
                )
        name = fields.get("[price_data][product_data][name]", "")
        if not name.strip():
            param = f"{prefix}[price_data][product_data][name]"
            raise _invalid(f"Missing required param: {param}.", param, "parameter_missing")
        currency = fields["[price_data][currency]"].lower()
        if not re.fullmatch(r"[a-z]{3}", currency):
            param = f"{prefix}[price_data][currency]"
            raise _invalid(f"Invalid currency: {currency}.", param, "parameter_invalid")
        amount = _integer(fields["[price_data][unit_amount]"], f"{prefix}[price_data][unit_amount]")
        quantity = _integer(fields["[quantity]"], f"{prefix}[quantity]")
        if quantity < 1:
            raise _invalid(
                "Quantity must be at least 1.", f"{prefix}[quantity]", "parameter_invalid"
            )
        if items and items[0]["currency"] != currency:
            raise _invalid(
                "All line items must be in the same currency.",
                f"{prefix}[price_data][currency]",
                "parameter_invalid",
            )
        items.append(
            {
                "currency": currency,
                "unit_amount": amount,
                "quantity": quantity,
                "description": name,
                "amount_total": amount * quantity,
            }
        )
    return items


def _integer(value: str, param: str) -> int:
    if not value.isascii() or not value.isdigit():
        raise _invalid(f"Invalid integer: {value[:40]}", param, "parameter_invalid_integer")
    return int(value)


# --------------------------------------------------------------------------- answers


def _record(
    request: web.Request, form: dict[str, str], status: int, replayed: bool
) -> RecordedRequest:
    return RecordedRequest(
        method=request.method,
        path=request.path,
        headers={k.lower(): v for k, v in request.headers.items()},
        form=form,
        status=status,
        replayed=replayed,
    )


_request_ids = itertools.count(1)


def _json(body: dict[str, Any], status: int = 200) -> web.Response:
    response = web.json_response(body, status=status, dumps=lambda o: json.dumps(o, indent=2))
    response.headers["Request-Id"] = f"req_fake{next(_request_ids):08d}"
    return response


def _error(
    status: int,
    message: str,
    *,
    error_type: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
) -> web.Response:
    error: dict[str, Any] = {"message": message, "type": error_type}
    if code is not None:
        error["code"] = code
        error["doc_url"] = f"https://docs.stripe.com/error-codes/{code.replace('_', '-')}"
    if param is not None:
        error["param"] = param
    return _json({"error": error}, status)


def _invalid(message: str, param: str | None, code: str = "parameter_invalid") -> _Answered:
    return _Answered(_error(400, message, code=code, param=param))


def _idempotency_mismatch(key: str) -> _Answered:
    return _Answered(
        _error(
            400,
            "Keys for idempotent requests can only be used with the same parameters they "
            f"were first used with. Try using a key other than '{key[:60]}' if you meant to "
            "execute a different request.",
            error_type="idempotency_error",
        )
    )
