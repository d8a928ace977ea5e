"""A local fake of Viber's REST bot API (``https://chatapi.viber.com/pa/...``), answering
like the real one: POST with JSON, the ``X-Viber-Auth-Token`` header, answers with HTTP 200
and ``{"status": 0|code, "status_message": ...}``, errors from the documented code table
(docs/channels/viber.md). It records every request, can be scripted to fail, and serves
media downloads on any other path (point ``api_base`` at it and the adapter rewrites media
links to this host).

Where Viber's behaviour is not documented (a ``Retry-After`` on rate limits, the body of a
missing-token error), the fake is configurable and says so.

    async with FakeViberApi() as fake:
        channel options: {"token": fake.token, "api_base": fake.api_base}
        fake.fail_next("rate_limit", retry_after=1)
        fake.reset_connection_next()
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from channels.viber.webhook import sign

__all__ = ["FailureKind", "FakeViberApi", "RecordedRequest"]

FailureKind = Literal[
    "rate_limit",  # status 12 tooManyRequests (HTTP 200), Retry-After only if retry_after
    "http_429",  # HTTP 429 with Retry-After (what a proxy in front of Viber may send)
    "server_error",  # HTTP 503
    "blocked",  # status 6 receiverNotSubscribed (the customer unsubscribed)
    "not_registered",  # status 5
    "bad_token",  # status 2 invalidAuthToken
    "bad_data",  # status 3
    "status",  # any status code, given as ``status=``
    "timeout",  # answers only after ``delay`` seconds (the client gives up first)
]

_STATUS_MESSAGES = {
    1: "invalidUrl",
    2: "invalidAuthToken",
    3: "badData",
    4: "missingData",
    5: "receiverNotRegistered",
    6: "receiverNotSubscribed",
    12: "tooManyRequests",
}
_MESSAGE_TYPES = {"text", "picture", "video", "file", "location", "contact", "sticker", "url"}
_WEBHOOK_EVENTS = {
    "delivered",
    "seen",
    "failed",
    "subscribed",
    "unsubscribed",
    "conversation_started",
}
#: "The maximum JSON for all API requests is 30kb" (Viber FAQ).
_MAX_JSON = 30 * 1024


@dataclass(slots=True)
class RecordedRequest:
    method: str
    path: str
    #: The API method (``send_message``), or ``""`` for a media download.
    endpoint: str
    headers: Mapping[str, str]
    json: Any
    raw: bytes
    #: The JSON the fake answered with (``None``: no JSON answer, e.g. a reset).
    answer: Any = None


@dataclass(slots=True)
class _Failure:
    kind: FailureKind | Literal["reset"]
    retry_after: float | None = None
    status: int | None = None
    delay: float = 30.0


@dataclass
class _Media:
    data: bytes
    content_type: str


@dataclass
class FakeViberApi:
    token: str = "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9"
    account_id: str = "pa:5043218847493001234"
    account_name: str = "Shoe Shop"
    #: Real Viber only accepts HTTPS webhooks with a trusted certificate (status 1).
    require_https: bool = False
    #: Like Viber, call the webhook back with a signed ``webhook`` event on set_webhook and
    #: refuse (status 1) unless it answers 200.
    verify_webhook: bool = True
    requests: list[RecordedRequest] = field(default_factory=list)
    #: Receivers that unsubscribed: send_message to them answers status 6.
    unsubscribed: set[str] = field(default_factory=set)
    webhook: str = ""
    event_types: list[str] = field(default_factory=list)
    _failures: list[_Failure] = field(default_factory=list)
    _media: dict[str, _Media] = field(default_factory=dict)
    _next_token: int = 5741311803571800000
    _server: TestServer | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post("/pa/{endpoint}", self._api)
        app.router.add_get("/{path:.*}", self._download)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()
            self._server = None

    async def __aenter__(self) -> FakeViberApi:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return str(self._server.make_url("")).rstrip("/")

    @property
    def api_base(self) -> str:
        return f"{self.url}/pa"

    # ------------------------------------------------------------------ scripting

    def fail_next(
        self,
        kind: FailureKind,
        *,
        retry_after: float | None = None,
        status: int | None = None,
        delay: float = 30.0,
        times: int = 1,
    ) -> None:
        """The next ``times`` API calls fail this way (in order, after earlier scripts)."""
        for _ in range(times):
            self._failures.append(_Failure(kind, retry_after, status, delay))

    def reset_connection_next(self, times: int = 1) -> None:
        """The next API calls are read and recorded, then the connection is closed before
        any answer (the request may or may not have been acted on: here it was not)."""
        for _ in range(times):
            self._failures.append(_Failure("reset"))

    def clear_failures(self) -> None:
        self._failures.clear()

    def add_media(
        self, path: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> str:
        """Serve ``data`` at ``path``; returns the link as Viber would put it in a callback
        (on Viber's media host: the adapter rewrites it to this fake)."""
        path = "/" + path.lstrip("/")
        self._media[path] = _Media(data, content_type)
        return f"https://dl-media.viber.com{path}"

    # ------------------------------------------------------------------ inspection

    def calls(self, endpoint: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.endpoint == endpoint]

    @property
    def sent(self) -> list[dict[str, Any]]:
        """Bodies of the send_message calls that succeeded."""
        return [
            r.json
            for r in self.calls("send_message")
            if isinstance(r.answer, dict) and r.answer.get("status") == 0
        ]

    # ------------------------------------------------------------------ handlers

    async def _api(self, request: web.Request) -> web.StreamResponse:
        endpoint = request.match_info["endpoint"]
        raw = await request.read()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        record = RecordedRequest("POST", request.path, endpoint, dict(request.headers), body, raw)
        self.requests.append(record)
        failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            scripted = await self._scripted(request, record, failure)
            if scripted is not None:
                return scripted
        token = request.headers.get("X-Viber-Auth-Token")
        if not token:
            # Docs: "an error with the missing_auth_token message" (code not documented).
            return _answer(record, 2, "missing_auth_token")
        if token != self.token:
            return _answer(record, 2)
        if not isinstance(body, dict) or len(raw) > _MAX_JSON:
            return _answer(record, 3)
        handler = {
            "send_message": self._send_message,
            "set_webhook": self._set_webhook,
            "get_account_info": self._account_info,
            "get_user_details": self._user_details,
        }.get(endpoint)
        if handler is None:
            return web.json_response({"status": 3, "status_message": "badData"}, status=404)
        answer = {**await handler(body), "chat_hostname": "SN-CHAT-01_"}
        record.answer = answer
        return web.json_response(answer)

    async def _scripted(
        self, request: web.Request, record: RecordedRequest, failure: _Failure
    ) -> web.StreamResponse | None:
        headers = {}
        if failure.retry_after is not None:
            headers["Retry-After"] = str(failure.retry_after)
        match failure.kind:
            case "reset":
                assert request.transport is not None
                request.transport.close()
                return web.Response(status=200)
            case "rate_limit":
                return _answer(record, 12, headers=headers)
            case "http_429":
                record.answer = {"status": 12, "status_message": "tooManyRequests"}
                return web.json_response(record.answer, status=429, headers=headers)
            case "server_error":
                return web.Response(status=503, text="Service Unavailable", headers=headers)
            case "blocked":
                return _answer(record, 6)
            case "not_registered":
                return _answer(record, 5)
            case "bad_token":
                return _answer(record, 2)
            case "bad_data":
                return _answer(record, 3)
            case "status":
                return _answer(record, failure.status if failure.status is not None else 3)
            case "timeout":
                await asyncio.sleep(failure.delay)
                return None

    async def _send_message(self, body: dict[str, Any]) -> dict[str, Any]:
        receiver, kind = body.get("receiver"), body.get("type")
        sender = body.get("sender")
        if not isinstance(receiver, str) or not receiver:
            return {"status": 4, "status_message": "missingData"}
        if not isinstance(sender, dict) or not isinstance(sender.get("name"), str):
            return {"status": 4, "status_message": "missingData"}
        if len(sender["name"]) > 28:
            return {"status": 3, "status_message": "badData"}
        if kind not in _MESSAGE_TYPES:
            return {"status": 3, "status_message": "badData"}
        if kind == "text" and not (isinstance(body.get("text"), str) and body["text"]):
            return {"status": 4, "status_message": "missingData"}
        if kind in ("picture", "video", "file") and not body.get("media"):
            return {"status": 4, "status_message": "missingData"}
        if "keyboard" in body and not _valid_keyboard(body["keyboard"]):
            return {"status": 3, "status_message": "badData"}
        if receiver in self.unsubscribed:
            return {"status": 6, "status_message": "receiverNotSubscribed"}
        self._next_token += 1
        return {"status": 0, "status_message": "ok", "message_token": self._next_token}

    async def _set_webhook(self, body: dict[str, Any]) -> dict[str, Any]:
        url = body.get("url")
        if not isinstance(url, str):
            return {"status": 4, "status_message": "missingData"}
        events = body.get("event_types", sorted(_WEBHOOK_EVENTS))
        if not isinstance(events, list) or not set(events) <= _WEBHOOK_EVENTS:
            return {"status": 3, "status_message": "badData"}
        if url and self.require_https and not url.startswith("https://"):
            return {"status": 1, "status_message": "invalidUrl"}
        if url and self.verify_webhook and not await self._check_webhook(url):
            return {"status": 1, "status_message": "invalidUrl"}
        self.webhook, self.event_types = url, list(events)
        return {"status": 0, "status_message": "ok", "event_types": list(events)}

    async def _check_webhook(self, url: str) -> bool:
        self._next_token += 1
        body = json.dumps(
            {"event": "webhook", "timestamp": 1767250000000, "message_token": self._next_token}
        ).encode()
        headers = {"X-Viber-Content-Signature": sign(self.token, body)}
        headers["Content-Type"] = "application/json"
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.post(
                    url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=5)
                ) as resp,
            ):
                return resp.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def _account_info(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "status": 0,
            "status_message": "ok",
            "id": self.account_id,
            "name": self.account_name,
            "uri": "shoeshop",
            "webhook": self.webhook,
            "event_types": self.event_types,
            "subscribers_count": 35,
            "members": [{"id": "01234567890A=", "name": "Owner", "role": "admin"}],
        }

    async def _user_details(self, body: dict[str, Any]) -> dict[str, Any]:
        user_id = body.get("id")
        if not isinstance(user_id, str):
            return {"status": 4, "status_message": "missingData"}
        return {"status": 0, "status_message": "ok", "user": {"id": user_id, "name": "Customer"}}

    async def _download(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(
            RecordedRequest("GET", request.path, "", dict(request.headers), None, b"")
        )
        media = self._media.get(request.path)
        if media is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=media.data, content_type=media.content_type)


def _answer(
    record: RecordedRequest,
    status: int,
    message: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    body = {"status": status, "status_message": message or _STATUS_MESSAGES.get(status, "error")}
    record.answer = body
    return web.json_response(body, headers=dict(headers or {}))


def _valid_keyboard(keyboard: Any) -> bool:
    # Viber checks keyboards on the client and reports a failed callback; here the shape
    # is checked up front so a broken keyboard fails a test at once.
    if not isinstance(keyboard, dict) or keyboard.get("Type") != "keyboard":
        return False
    buttons = keyboard.get("Buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 24:
        return False
    for button in buttons:
        if not isinstance(button, dict) or button.get("ActionType") not in ("reply", "open-url"):
            return False
        if not isinstance(button.get("ActionBody"), str) or not button["ActionBody"]:
            return False
        columns = button.get("Columns", 6)
        if not isinstance(columns, int) or not 1 <= columns <= 6:
            return False
    return True
