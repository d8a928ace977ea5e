"""A fake Telegram Bot API server (aiohttp) that answers like the real one.

What it copies from the real API (channel-contracts.md §1.1-1.3): ``/bot<token>/METHOD``
URLs with case-insensitive method names; parameters from the query string, url-encoded
forms, JSON or multipart (python-telegram-bot sends forms whose non-string values are
JSON strings, and multipart for uploads); the ``{"ok": ..., "result"|"error_code",
"description", "parameters"}`` envelope with the real HTTP status; 401 for an unknown
token and 404 for a malformed one or an unknown method; ``getFile`` plus downloads from
``/file/bot<token>/<file_path>``; ``getUpdates`` long polls, refused with 409 while a
webhook is set; the common validation errors (empty or too long text, bad button data or
URL, a secret token with forbidden characters, a webhook URL that is not HTTPS).

Every request is recorded, parsed (:class:`RecordedRequest`), and the server can be
scripted: :meth:`TelegramApiFake.fail_next` (rate limit with ``retry_after``, blocked,
chat not found, unauthorized, 5xx, supergroup migration, ...),
:meth:`TelegramApiFake.reset_connection_next` (the connection drops after the request
was read, before any answer), :meth:`TelegramApiFake.stall_next` (a slow answer),
:attr:`TelegramApiFake.available` (every call gets a 502 page from the "proxy"),
:meth:`TelegramApiFake.add_file` and :meth:`TelegramApiFake.push_update`.

Start it with ``async with TelegramApiFake() as fake:``; ``fake.url`` is the
``api_base`` to give the real client.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final

from aiohttp import web
from aiohttp.test_utils import TestServer
from aiohttp.web_request import FileField

__all__ = [
    "FAKE_TOKEN",
    "FailureKind",
    "RecordedRequest",
    "TelegramApiFake",
    "UploadedFile",
]

FAKE_TOKEN: Final = "123456789:AAFakeTokenForTests_0123456789abcdef"
BOT_ID: Final = 123456789

#: Parameters that are strings on the wire even when they look like numbers or JSON.
_STRING_PARAMS: Final = frozenset(
    {
        "text", "caption", "secret_token", "url", "callback_query_id", "file_id",
        "first_name", "last_name", "title", "address", "phone_number", "parse_mode",
        "vcard", "performer", "ip_address",
    }
)  # fmt: skip
_UPLOAD_FIELDS: Final = {
    "sendphoto": "photo",
    "senddocument": "document",
    "sendaudio": "audio",
    "sendvoice": "voice",
    "sendvideo": "video",
}
_SECRET_TOKEN: Final = re.compile(r"[A-Za-z0-9_-]{1,256}")


@dataclass(frozen=True, slots=True)
class UploadedFile:
    field: str
    filename: str | None
    content_type: str
    data: bytes


@dataclass
class RecordedRequest:
    """One request as the fake understood it. ``params`` has form values decoded: JSON
    for structured parameters (``reply_markup``, ``allowed_updates``, ...) and numbers,
    strings for text-like ones. ``status`` is what the fake answered (0: connection
    dropped)."""

    http_method: str
    path: str
    token: str
    method: str
    content_type: str
    params: dict[str, Any]
    files: dict[str, UploadedFile]
    status: int = 0

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


FailureKind = str
_FAILURES: Final[Mapping[str, tuple[int, str]]] = {
    "rate_limit": (429, "Too Many Requests: retry after {retry_after}"),
    "blocked": (403, "Forbidden: bot was blocked by the user"),
    "kicked": (403, "Forbidden: bot was kicked from the group chat"),
    "deactivated": (403, "Forbidden: user is deactivated"),
    "chat_not_found": (400, "Bad Request: chat not found"),
    "bad_request": (400, "Bad Request: {description}"),
    "unauthorized": (401, "Unauthorized"),
    "server_error": (500, "Internal Server Error"),
    "bad_gateway": (502, ""),  # an HTML page from the proxy in front, not JSON
    "migrated": (400, "Bad Request: group chat was upgraded to a supergroup chat"),
    "conflict": (409, "Conflict: terminated by other getUpdates request"),
}


@dataclass
class _Scripted:
    kind: str
    method: str | None
    retry_after: int
    migrate_to: int
    description: str


@dataclass
class _StoredFile:
    data: bytes
    file_path: str
    file_unique_id: str


@dataclass
class TelegramApiFake:
    tokens: set[str] = field(default_factory=lambda: {FAKE_TOKEN})
    #: Chats whose users blocked the bot (403) and chats that do not exist (400).
    blocked_chats: set[int] = field(default_factory=set)
    missing_chats: set[int] = field(default_factory=set)
    #: False: every API call and download gets a 502 page, as when Telegram is down.
    available: bool = True
    requests: list[RecordedRequest] = field(default_factory=list)
    #: The ``result`` of every successful send* call, in order.
    sent: list[dict[str, Any]] = field(default_factory=list)
    webhook: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self._script: list[_Scripted] = []
        self._resets: list[str | None] = []
        self._stalls: list[tuple[str | None, float]] = []
        self._files: dict[str, _StoredFile] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(900_000_001)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._new_update = asyncio.Event()
        self._server: TestServer | None = None

    # ----------------------------------------------------------------------- lifecycle

    async def start(self) -> TelegramApiFake:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def close(self) -> None:
        self._new_update.set()  # end long polls now, or the server waits for them
        if self._server is not None:
            await self._server.close()
            self._server = None

    async def __aenter__(self) -> TelegramApiFake:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def url(self) -> str:
        """The ``api_base`` for the client: ``http://127.0.0.1:<port>``."""
        assert self._server is not None, "start() the fake first"
        return str(self._server.make_url("")).rstrip("/")

    # ----------------------------------------------------------------------- scripting

    def fail_next(
        self,
        kind: FailureKind = "rate_limit",
        *,
        retry_after: int = 1,
        method: str | None = None,
        count: int = 1,
        migrate_to: int = -1001234567890,
        description: str = "message text is empty",
    ) -> None:
        """The next ``count`` calls (of ``method`` if given, case-insensitive) fail with
        ``kind``: one of ``rate_limit``, ``blocked``, ``kicked``, ``deactivated``,
        ``chat_not_found``, ``bad_request``, ``unauthorized``, ``server_error``,
        ``bad_gateway``, ``migrated``, ``conflict``."""
        assert kind in _FAILURES, kind
        name = method.lower() if method else None
        for _ in range(count):
            self._script.append(_Scripted(kind, name, retry_after, migrate_to, description))

    def reset_connection_next(self, method: str | None = None) -> None:
        """The next call (of ``method`` if given) is read whole, then the connection is
        closed without an answer; nothing is sent."""
        self._resets.append(method.lower() if method else None)

    def push_webhook(self, url: str, secret_token: str | None = None) -> None:
        """Act as if ``setWebhook`` had been called earlier (by another installation)."""
        self.webhook = {"url": url, "secret_token": secret_token, "allowed_updates": None}

    def stall_next(self, seconds: float, method: str | None = None) -> None:
        """The next call (of ``method`` if given) is answered only after ``seconds``."""
        self._stalls.append((method.lower() if method else None, seconds))

    def add_file(self, file_id: str, data: bytes, file_path: str | None = None) -> str:
        """Make ``file_id`` downloadable; returns its ``file_path``."""
        path = file_path or f"documents/file_{len(self._files)}.bin"
        self._files[file_id] = _StoredFile(data, path, f"u{file_id[-8:]}")
        return path

    def push_update(self, update: Mapping[str, Any]) -> int:
        """Queue an update for ``getUpdates``; gives it the next ``update_id`` unless it
        has one. Returns the id."""
        stored = dict(update)
        stored.setdefault("update_id", next(self._update_ids))
        self._updates.append(stored)
        self._new_update.set()
        return int(stored["update_id"])

    def calls(self, method: str, *, ok: bool | None = None) -> list[RecordedRequest]:
        """Recorded calls of ``method`` (case-insensitive), optionally only answered ones
        that succeeded (``ok=True``) or failed (``ok=False``)."""
        name = method.lower()
        return [r for r in self.requests if r.method.lower() == name and (ok is None or r.ok == ok)]

    # ----------------------------------------------------------------------- HTTP

    async def _api(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        method = request.match_info["method"]
        params, files = await _read_params(request)
        record = RecordedRequest(
            http_method=request.method,
            path=request.path,
            token=token,
            method=method,
            content_type=request.content_type,
            params=params,
            files=files,
        )
        self.requests.append(record)
        name = method.lower()
        if self._take_reset(name):
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=499)  # never reaches the client
        for index, (stalled, seconds) in enumerate(self._stalls):
            if stalled in (None, name):
                del self._stalls[index]
                await asyncio.sleep(seconds)
                break
        response = await self._answer(token, name, params, files)
        record.status = response.status
        return response

    async def _answer(
        self, token: str, name: str, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> web.Response:
        if not self.available:
            return _bad_gateway()
        if ":" not in token:
            return _error(404, "Not Found")
        if token not in self.tokens:
            return _error(401, "Unauthorized")
        scripted = self._take_failure(name)
        if scripted is not None:
            return _scripted_error(scripted)
        try:
            if name == "getupdates":
                return await self._get_updates(params)
            if name in _SEND_METHODS:
                return self._send(name, params, files)
            handler = _HANDLERS.get(name)
            if handler is None:
                return _error(404, "Not Found")
            return handler(self, params)
        except _ApiError as exc:
            return _error(exc.status, exc.description)

    async def _download(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        path = request.match_info["path"]
        self.requests.append(
            RecordedRequest(request.method, request.path, token, "download", "", {}, {}, 0)
        )
        record = self.requests[-1]
        if not self.available:
            response = _bad_gateway()
        elif token not in self.tokens:
            response = _error(401, "Unauthorized")
        else:
            wanted = path.lstrip("/")
            stored = next(
                (f for f in self._files.values() if f.file_path.lstrip("/") == wanted), None
            )
            if stored is None:
                response = _error(404, "Not Found")
            else:
                response = web.Response(body=stored.data, content_type="application/octet-stream")
        record.status = response.status
        return response

    def _take_failure(self, name: str) -> _Scripted | None:
        for index, scripted in enumerate(self._script):
            if scripted.method in (None, name):
                return self._script.pop(index)
        return None

    def _take_reset(self, name: str) -> bool:
        for index, method in enumerate(self._resets):
            if method in (None, name):
                del self._resets[index]
                return True
        return False

    # ----------------------------------------------------------------------- methods

    def _get_me(self, params: dict[str, Any]) -> web.Response:
        return _ok(
            {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "ShopBot",
                "username": "shop_bot",
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        )

    def _set_webhook(self, params: dict[str, Any]) -> web.Response:
        url = str(params.get("url", ""))
        if not url.startswith("https://"):
            raise _ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN.fullmatch(str(secret)):
            raise _ApiError(400, "Bad Request: secret token contains unallowed characters")
        self.webhook = {
            "url": url,
            "secret_token": secret,
            "allowed_updates": params.get("allowed_updates"),
            "max_connections": params.get("max_connections", 40),
        }
        return _ok(True, description="Webhook was set")

    def _delete_webhook(self, params: dict[str, Any]) -> web.Response:
        was_set, self.webhook = self.webhook is not None, None
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        return _ok(
            True, description="Webhook was deleted" if was_set else "Webhook is already deleted"
        )

    def _get_webhook_info(self, params: dict[str, Any]) -> web.Response:
        hook = self.webhook or {}
        info: dict[str, Any] = {
            "url": hook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if hook.get("allowed_updates") is not None:
            info["allowed_updates"] = hook["allowed_updates"]
        return _ok(info)

    def _answer_callback_query(self, params: dict[str, Any]) -> web.Response:
        if not params.get("callback_query_id"):
            raise _ApiError(400, "Bad Request: query is too old and response timeout expired")
        return _ok(True)

    def _get_file(self, params: dict[str, Any]) -> web.Response:
        file_id = str(params.get("file_id", ""))
        stored = self._files.get(file_id)
        if stored is None:
            raise _ApiError(400, "Bad Request: invalid file_id")
        return _ok(
            {
                "file_id": file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": len(stored.data),
                "file_path": stored.file_path,
            }
        )

    def _send(
        self, name: str, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> web.Response:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            raise _ApiError(
                400,
                "Bad Request: chat_id is empty"
                if chat_id is None
                else "Bad Request: chat not found",
            )
        if chat_id in self.blocked_chats:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.missing_chats:
            raise _ApiError(400, "Bad Request: chat not found")
        _check_markup(params.get("reply_markup"))
        message: dict[str, Any] = {
            "message_id": next(self._message_ids.setdefault(chat_id, itertools.count(1000))),
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "ShopBot", "username": "shop_bot"},
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "date": int(time.time()),
        }
        if name == "sendmessage":
            text = str(params.get("text", ""))
            if not text.strip():
                raise _ApiError(400, "Bad Request: message text is empty")
            if _utf16_len(text) > 4096:
                raise _ApiError(400, "Bad Request: message is too long")
            message["text"] = text
        elif name in _UPLOAD_FIELDS:
            message.update(self._attach(name, params, files))
        elif name in ("sendlocation", "sendvenue"):
            location = {"latitude": params["latitude"], "longitude": params["longitude"]}
            message["location"] = location
            if name == "sendvenue":
                message["venue"] = {
                    "location": location,
                    "title": params["title"],
                    "address": params["address"],
                }
        elif name == "sendcontact":
            message["contact"] = {
                k: params[k] for k in ("phone_number", "first_name", "last_name") if k in params
            }
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        self.sent.append(message)
        return _ok(message)

    def _attach(
        self, name: str, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> dict[str, Any]:
        field_name = _UPLOAD_FIELDS[name]
        upload = files.get(field_name)
        if upload is None and not isinstance(params.get(field_name), str):
            raise _ApiError(400, f"Bad Request: there is no {field_name} in the request")
        caption = str(params.get("caption", ""))
        if _utf16_len(caption) > 1024:
            raise _ApiError(400, "Bad Request: message caption is too long")
        if upload is not None and field_name == "photo" and len(upload.data) > 10 * 1024 * 1024:
            raise _ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
        file_id = f"FAKE{field_name}{len(self._files) + 1:06d}"
        data = upload.data if upload is not None else b""
        self.add_file(file_id, data, f"{field_name}s/file_{len(self._files)}")
        described: dict[str, Any] = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(data),
        }
        result: dict[str, Any] = {}
        if field_name == "photo":
            result["photo"] = [{**described, "width": 90, "height": 90}]
        else:
            if upload is not None and upload.filename:
                described["file_name"] = upload.filename
            if field_name in ("voice", "audio", "video"):
                described["duration"] = 1
            if field_name == "video":
                described.update(width=320, height=240)
            result[field_name] = described
        if caption:
            result["caption"] = caption
        return result

    async def _get_updates(self, params: dict[str, Any]) -> web.Response:
        if self.webhook is not None:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset")
        if isinstance(offset, int):
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        timeout = params.get("timeout", 0)
        if not self._updates and isinstance(timeout, int | float) and timeout > 0:
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), timeout)
        allowed = params.get("allowed_updates")
        result = [u for u in self._updates if not allowed or any(key in u for key in allowed)]
        return _ok(result[: int(params.get("limit", 100))])


class _ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _ok(result: Any, description: str | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": True, "result": result}
    if description:
        body["description"] = description
    return web.json_response(body)


def _error(
    status: int, description: str, parameters: Mapping[str, Any] | None = None
) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = dict(parameters)
    return web.json_response(body, status=status)


def _bad_gateway() -> web.Response:
    page = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    return web.Response(status=502, text=page, content_type="text/html")


def _scripted_error(scripted: _Scripted) -> web.Response:
    status, template = _FAILURES[scripted.kind]
    if scripted.kind == "bad_gateway":
        return _bad_gateway()
    description = template.format(
        retry_after=scripted.retry_after, description=scripted.description
    )
    parameters: dict[str, Any] = {}
    if scripted.kind == "rate_limit":
        parameters["retry_after"] = scripted.retry_after
    if scripted.kind == "migrated":
        parameters["migrate_to_chat_id"] = scripted.migrate_to
    return _error(status, description, parameters)


def _check_markup(markup: Any) -> None:
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise _ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if not str(button.get("text", "")).strip():
                raise _ApiError(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )
            data = button.get("callback_data")
            url = button.get("url")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if url is not None and not str(url).startswith(("http://", "https://", "tg://")):
                raise _ApiError(400, "Bad Request: BUTTON_URL_INVALID")
            if (data is None) == (url is None):
                raise _ApiError(400, "Bad Request: can't parse inline keyboard button")


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    params: dict[str, Any] = {k: _decode(k, v) for k, v in request.query.items()}
    files: dict[str, UploadedFile] = {}
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
        return params, files
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, str):
                params[key] = _decode(key, value)
            elif isinstance(value, FileField):
                files[key] = UploadedFile(
                    field=key,
                    filename=value.filename,
                    content_type=value.content_type,
                    data=value.file.read(),
                )
    else:
        await request.read()  # getMe: a POST without a body or a content type
    return params, files


def _decode(key: str, value: str) -> Any:
    if key in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


_SEND_METHODS: Final = frozenset(
    {"sendmessage", *_UPLOAD_FIELDS, "sendlocation", "sendvenue", "sendcontact"}
)
_HANDLERS: Final[Mapping[str, Callable[[TelegramApiFake, dict[str, Any]], web.Response]]] = {
    "getme": TelegramApiFake._get_me,
    "setwebhook": TelegramApiFake._set_webhook,
    "deletewebhook": TelegramApiFake._delete_webhook,
    "getwebhookinfo": TelegramApiFake._get_webhook_info,
    "answercallbackquery": TelegramApiFake._answer_callback_query,
    "getfile": TelegramApiFake._get_file,
}
