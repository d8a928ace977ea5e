"""A local fake of the WhatsApp Cloud API (Meta Graph API) that answers like the real one.

Routes (``/{version}`` is ``/v21.0``): ``POST /{version}/{phone_number_id}/messages``,
``POST /{version}/{phone_number_id}/media`` (multipart upload), ``GET /{version}/{id}``
(a media object, or the phone number itself), and ``GET /whatsapp_business/attachments/``
(the media download behind the URL that ``GET /{media_id}`` returns; the real host is
``lookaside.fbsbx.com``, which the client rewrites to its ``api_base`` host).

Like Graph it checks the bearer token (401, code 190), the phone number id and the
request's shape (400, code 100), and answers with the error envelope ``{"error":
{"message", "type", "code", "error_subcode"?, "error_data": {"messaging_product",
"details"}, "fbtrace_id"}}``. Every request is recorded, parsed. Scripting:
``fail_next(kind, retry_after=..., count=...)``, ``fail_always(kind)`` / ``recover()``,
``reset_connection_next()`` (drop the connection after reading the request),
``delay_next(seconds)`` (answer late), and
``add_media(...)`` to serve an inbound file. Runs on 127.0.0.1 with a random port.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import BodyPartReader, web
from aiohttp.test_utils import TestServer

__all__ = ["FailureKind", "FakeWhatsAppApi", "RecordedFile", "RecordedRequest"]

VERSION = "v21.0"
MEDIA_HOST = "https://lookaside.fbsbx.com"

FailureKind = Literal[
    "rate_limit",
    "pair_rate_limit",
    "http_429",
    "blocked",
    "window",
    "expired_token",
    "bad_request",
    "not_allowed",
    "server_error",
    "reset",
]

#: (HTTP status, code, subcode, message, details) per scripted failure.
_FAILURES: dict[str, tuple[int, int, int | None, str, str]] = {
    "rate_limit": (
        400,
        130429,
        None,
        "(#130429) Rate limit hit",
        "Cloud API message throughput has been reached.",
    ),
    "pair_rate_limit": (
        400,
        131056,
        None,
        "(#131056) (Business Account, Consumer Account) pair rate limit hit",
        "Too many messages sent from the sender phone number to the same recipient "
        "phone number in a short period of time.",
    ),
    "http_429": (429, 4, None, "(#4) Application request limit reached", ""),
    "blocked": (
        400,
        131026,
        None,
        "(#131026) Message Undeliverable",
        "Message failed to send because of an unknown error with your request parameters.",
    ),
    "window": (
        400,
        131047,
        None,
        "(#131047) Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the "
        "customer last replied to this number.",
    ),
    "expired_token": (
        401,
        190,
        463,
        "Error validating access token: Session has expired on Friday, 26-Apr-24 "
        "06:00:00 PDT. The current time is Sunday, 28-Apr-24 03:40:10 PDT.",
        "",
    ),
    "bad_request": (400, 100, None, "(#100) Invalid parameter", "Parameter value is not valid"),
    "not_allowed": (
        400,
        131030,
        None,
        "(#131030) Recipient phone number not in allowed list",
        "Recipient phone number not in allowed list: Add recipient phone number to "
        "recipient list and try again.",
    ),
    "server_error": (500, 2, None, "(#2) Service temporarily unavailable", ""),
}

_MESSAGE_TYPES = frozenset(
    {
        "text",
        "image",
        "document",
        "audio",
        "video",
        "sticker",
        "location",
        "contacts",
        "interactive",
        "template",
        "reaction",
    }
)
_MEDIA_TYPES = frozenset({"image", "document", "audio", "video", "sticker"})


@dataclass(frozen=True, slots=True)
class RecordedFile:
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, RecordedFile] = field(default_factory=dict)
    #: What the fake answered: the HTTP status, or 0 for a dropped connection.
    status: int = 0


@dataclass(frozen=True, slots=True)
class _Script:
    kind: FailureKind
    retry_after: float | None = None
    path_suffix: str = ""


@dataclass(slots=True)
class _Media:
    data: bytes
    mime_type: str
    filename: str | None = None


class _Answered(Exception):
    def __init__(self, response: web.StreamResponse) -> None:
        self.response = response


class FakeWhatsAppApi:
    """``async with FakeWhatsAppApi() as fake:`` then point a client at ``fake.api_base``."""

    def __init__(
        self,
        *,
        token: str = "test-token",
        phone_number_id: str = "1122334455667",
        display_phone_number: str = "972123456789",
    ) -> None:
        self.token = token
        self.phone_number_id = phone_number_id
        self.display_phone_number = display_phone_number
        self.requests: list[RecordedRequest] = []
        self.media: dict[str, _Media] = {}
        self._script: deque[_Script] = deque()
        self._delays: deque[tuple[float, str]] = deque()
        self._always: FailureKind | None = None
        self._ids = itertools.count(1)
        self._server: TestServer | None = None

    # ------------------------------------------------------------------- life cycle

    async def start(self) -> None:
        app = web.Application(client_max_size=200 * 1024 * 1024)
        app.router.add_post("/{version}/{number}/messages", self._messages)
        app.router.add_post("/{version}/{number}/media", self._upload)
        app.router.add_get("/whatsapp_business/attachments/", self._download)
        app.router.add_get("/{version}/{object_id}", self._object)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()
            self._server = None

    async def __aenter__(self) -> FakeWhatsAppApi:
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
        return f"{self.url}/{VERSION}"

    # ------------------------------------------------------------------- scripting

    def fail_next(
        self,
        kind: FailureKind,
        *,
        retry_after: float | None = None,
        count: int = 1,
        path_suffix: str = "/messages",
    ) -> None:
        """The next ``count`` requests whose path ends with ``path_suffix`` fail like this
        (``retry_after`` adds a ``Retry-After`` header)."""
        for _ in range(count):
            self._script.append(_Script(kind, retry_after, path_suffix))

    def reset_connection_next(self, *, path_suffix: str = "/messages") -> None:
        """The next matching request is read whole, then its connection is dropped before
        any answer (the provider may or may not have acted on it)."""
        self._script.append(_Script("reset", None, path_suffix))

    def delay_next(self, seconds: float, *, path_suffix: str = "/messages") -> None:
        """The next matching request is answered normally, but only after ``seconds``."""
        self._delays.append((seconds, path_suffix))

    def fail_always(self, kind: FailureKind) -> None:
        self._always = kind

    def recover(self) -> None:
        self._always = None
        self._script.clear()
        self._delays.clear()

    def add_media(
        self, media_id: str, data: bytes, mime_type: str, filename: str | None = None
    ) -> None:
        self.media[media_id] = _Media(data, mime_type, filename)

    # ------------------------------------------------------------------- inspection

    @property
    def sent(self) -> list[dict[str, Any]]:
        """The JSON of every message the fake accepted, in order."""
        return [
            r.json
            for r in self.requests
            if r.path.endswith("/messages") and r.status == 200 and isinstance(r.json, dict)
        ]

    @property
    def uploads(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/media") and r.status == 200]

    # ------------------------------------------------------------------- handlers

    async def _handle(
        self,
        request: web.Request,
        recorded: RecordedRequest,
        work: Callable[[], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        for delay in self._delays:
            if request.path.endswith(delay[1]):
                self._delays.remove(delay)
                await asyncio.sleep(delay[0])
                break
        try:
            self._authorise(request)
            self._scripted(request)
            response: web.StreamResponse = await work()
        except _Answered as answered:
            response = answered.response
        except _Dropped:
            self.requests.append(_with_status(recorded, 0))
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=500)  # never reaches the client: the socket is gone
        self.requests.append(_with_status(recorded, response.status))
        return response

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        recorded = _record(request, json_body=body)

        async def work() -> web.StreamResponse:
            self._check_number(request)
            self._check_message(body)
            wamid = f"wamid.FAKE{next(self._ids):06d}"
            return web.json_response(
                {
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                    "messages": [{"id": wamid}],
                }
            )

        return await self._handle(request, recorded, work)

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        form: dict[str, str] = {}
        files: dict[str, RecordedFile] = {}
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader) or part.name is None:
                    continue
                if part.filename is not None:
                    data = bytes(await part.read())
                    content_type = part.headers.get("Content-Type")
                    files[part.name] = RecordedFile(part.filename, content_type, data)
                else:
                    form[part.name] = await part.text()
        recorded = _record(request, form=form, files=files)

        async def work() -> web.StreamResponse:
            self._check_number(request)
            upload = files.get("file")
            if form.get("messaging_product") != "whatsapp":
                raise _invalid("The parameter messaging_product is required.")
            if upload is None or not form.get("type"):
                raise _invalid("The parameter file is required.")
            media_id = str(9_000_000_000 + next(self._ids))
            self.media[media_id] = _Media(upload.data, form["type"], upload.filename)
            return web.json_response({"id": media_id})

        return await self._handle(request, recorded, work)

    async def _object(self, request: web.Request) -> web.StreamResponse:
        recorded = _record(request)
        object_id = request.match_info["object_id"]

        async def work() -> web.StreamResponse:
            if object_id == self.phone_number_id:
                return web.json_response(
                    {
                        "display_phone_number": self.display_phone_number,
                        "verified_name": "Fake Shop",
                        "id": self.phone_number_id,
                    }
                )
            media = self.media.get(object_id)
            if media is None:
                raise _unknown_object(object_id)
            ext = (media.filename or "file.bin").rsplit(".", 1)[-1]
            url = f"{MEDIA_HOST}/whatsapp_business/attachments/?mid={object_id}&ext={ext}&hash=x"
            return web.json_response(
                {
                    "url": url,
                    "mime_type": media.mime_type,
                    "sha256": hashlib.sha256(media.data).hexdigest(),
                    "file_size": len(media.data),
                    "id": object_id,
                    "messaging_product": "whatsapp",
                }
            )

        return await self._handle(request, recorded, work)

    async def _download(self, request: web.Request) -> web.StreamResponse:
        recorded = _record(request)

        async def work() -> web.StreamResponse:
            media = self.media.get(request.query.get("mid", ""))
            if media is None:
                return web.Response(status=404, text="Not Found")
            return web.Response(body=media.data, content_type=media.mime_type.split(";")[0])

        return await self._handle(request, recorded, work)

    # ------------------------------------------------------------------- checks

    def _authorise(self, request: web.Request) -> None:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            raise _Answered(
                _error(401, 190, "Invalid OAuth access token - Cannot parse access token")
            )

    def _scripted(self, request: web.Request) -> None:
        kind: FailureKind | None = self._always
        retry_after: float | None = None
        if kind is None:
            for script in self._script:
                if request.path.endswith(script.path_suffix):
                    self._script.remove(script)
                    kind, retry_after = script.kind, script.retry_after
                    break
        if kind is None:
            return
        if kind == "reset":
            raise _Dropped
        status, code, subcode, message, details = _FAILURES[kind]
        response = _error(status, code, message, details=details, subcode=subcode)
        if retry_after is not None:
            response.headers["Retry-After"] = f"{retry_after:g}"
        raise _Answered(response)

    def _check_number(self, request: web.Request) -> None:
        if request.match_info["number"] != self.phone_number_id:
            raise _unknown_object(request.match_info["number"])

    def _check_message(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise _invalid("The request body is not JSON.")
        if body.get("messaging_product") != "whatsapp":
            raise _invalid("The parameter messaging_product is required.")
        if not isinstance(body.get("to"), str) or not body["to"]:
            raise _invalid("The parameter to is required.")
        kind = body.get("type", "text")
        if kind not in _MESSAGE_TYPES or not isinstance(body.get(kind), dict | list):
            raise _invalid(f"The parameter {kind} is required.")
        content = body[kind]
        if kind == "text" and not 0 < len(str(content.get("body", ""))) <= 4096:
            raise _invalid("Param text['body'] must be 1..4096 characters.")
        if kind in _MEDIA_TYPES and content.get("id") not in self.media:
            raise _invalid(f"Param {kind}['id'] is not a valid media id.")
        if kind == "interactive":
            _check_interactive(content)
        if kind == "template":
            language = content.get("language")
            if (
                not content.get("name")
                or not isinstance(language, dict)
                or not language.get("code")
            ):
                raise _invalid("Param template['name'] and template['language'] are required.")


def _check_interactive(content: dict[str, Any]) -> None:
    body = content.get("body")
    if not isinstance(body, dict) or not 0 < len(str(body.get("text", ""))) <= 1024:
        raise _invalid("Param interactive['body']['text'] must be 1..1024 characters.")
    action = content.get("action")
    if not isinstance(action, dict):
        raise _invalid("The parameter interactive['action'] is required.")
    if content.get("type") == "cta_url":
        params = action.get("parameters")
        if action.get("name") != "cta_url" or not isinstance(params, dict):
            raise _invalid("Param interactive['action']['name'] must be cta_url.")
        if not 0 < len(str(params.get("display_text", ""))) <= 20 or not params.get("url"):
            raise _invalid("Param display_text must be 1..20 characters and url is required.")
    elif content.get("type") == "button":
        buttons = action.get("buttons")
        if not isinstance(buttons, list) or not 0 < len(buttons) <= 3:
            raise _invalid("Param interactive['action']['buttons'] must have 1..3 buttons.")
        for button in buttons:
            reply = button.get("reply") if isinstance(button, dict) else None
            if not isinstance(reply, dict) or not reply.get("id"):
                raise _invalid("Each button needs reply.id.")
            if not 0 < len(str(reply.get("title", ""))) <= 20:
                raise _invalid("Button title must be 1..20 characters.")
    else:
        raise _invalid("Param interactive['type'] is not supported by the fake.")


# --------------------------------------------------------------------------- helpers


class _Dropped(Exception):
    """Drop the connection without an answer."""


def _record(
    request: web.Request,
    *,
    json_body: Any = None,
    form: dict[str, str] | None = None,
    files: dict[str, RecordedFile] | None = None,
) -> RecordedRequest:
    return RecordedRequest(
        method=request.method,
        path=request.path,
        query=dict(request.query),
        headers={k.lower(): v for k, v in request.headers.items()},
        json=json_body,
        form=form or {},
        files=files or {},
    )


def _with_status(recorded: RecordedRequest, status: int) -> RecordedRequest:
    return RecordedRequest(
        recorded.method,
        recorded.path,
        recorded.query,
        recorded.headers,
        recorded.json,
        recorded.form,
        recorded.files,
        status,
    )


def _error(
    status: int, code: int, message: str, *, details: str = "", subcode: int | None = None
) -> web.Response:
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AFakeTrace123",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return web.json_response({"error": error}, status=status)


def _invalid(details: str) -> _Answered:
    return _Answered(_error(400, 100, "(#100) Invalid parameter", details=details))


def _unknown_object(object_id: str) -> _Answered:
    return _Answered(
        _error(
            400,
            100,
            f"Unsupported get request. Object with ID '{object_id[:40]}' does not exist, "
            "cannot be loaded due to missing permissions, or does not support this operation.",
            subcode=33,
        )
    )
