"""A local fake of the VK API that answers like the real one (channel-contracts.md §2).

* ``POST /method/<name>``, form-encoded with ``v`` and ``access_token`` (what vk_api sends);
  answers ``{"response": ...}`` or VK's error envelope ``{"error": {"error_code",
  "error_msg", "request_params"}}`` with HTTP 200 — a wrong token is error 5, a
  ``messages.send`` without ``random_id`` error 100 (texts as in ``fixtures/vk``).
* ``messages.send`` deduplicates by ``random_id`` (per peer) like VK: a repeat returns the
  first answer and delivers nothing new. With ``peer_ids`` it answers
  ``[{"peer_id", "message_id", "conversation_message_id"}]`` (a denied peer gets an
  ``error`` item), with ``peer_id`` the bare message id.
* Uploads: ``photos.getMessagesUploadServer`` / ``docs.getMessagesUploadServer`` return an
  upload URL on this server; ``POST /upload/photo`` and ``/upload/doc`` take multipart
  ``photo`` / ``file``; ``photos.saveMessagesPhoto`` and ``docs.save`` turn them into
  attachments ``photo-<group>_<id>_<key>`` / ``doc-<group>_<id>_<key>``.
* ``GET /media/<name>`` serves files registered with :meth:`VkFake.add_media`.
* Scripting: :meth:`fail_next` (VK errors by name, HTTP 429/5xx with ``Retry-After``),
  :meth:`reset_connection_next` (process a send, then drop the connection before
  answering), :meth:`deny_peer`, :meth:`set_down`.
* Every request is recorded (:attr:`requests`): method, path, form fields, files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from aiohttp.test_utils import TestServer

__all__ = [
    "ERRORS",
    "FailureKind",
    "RecordedFile",
    "RecordedRequest",
    "VkFake",
]

FailureKind = Literal[
    "rate_limit",  # error 6
    "flood",  # error 9
    "internal",  # error 10
    "auth",  # error 5
    "permission",  # error 7
    "bad_request",  # error 100
    "blocked",  # error 901: the user did not allow messages
    "blacklisted",  # error 900
    "http_429",
    "http_500",
    "http_502",
    "not_json",
]

#: VK's own codes and texts (fixtures/vk/vk_api_error_*.json, vk-api-schema errors.json).
ERRORS: Mapping[str, tuple[int, str]] = {
    "rate_limit": (6, "Too many requests per second"),
    "flood": (9, "Flood control"),
    "internal": (10, "Internal server error"),
    "auth": (5, "User authorization failed: invalid access_token (4)."),
    "permission": (7, "Permission to perform this action is denied"),
    "bad_request": (100, "One of the parameters specified was missing or invalid"),
    "blocked": (901, "Can't send messages for users without permission"),
    "blacklisted": (900, "Can't send messages for users from blacklist"),
}


@dataclass(frozen=True, slots=True)
class RecordedFile:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    http_method: str
    path: str
    method: str  # the API method for /method/<name>, else ""
    params: dict[str, str]
    files: dict[str, RecordedFile] = field(default_factory=dict)


@dataclass
class _Failure:
    kind: FailureKind
    method: str
    retry_after: float | None


@dataclass
class VkFake:
    """Start with :meth:`start`; ``base_url`` is what a channel's ``api_base`` gets."""

    token: str = "vk1.a.test-community-token"
    group_id: int = 123456
    requests: list[RecordedRequest] = field(default_factory=list)
    #: Every message VK accepted (first sends only, not deduplicated repeats).
    messages: list[dict[str, str]] = field(default_factory=list)
    _failures: list[_Failure] = field(default_factory=list)
    _resets: list[str] = field(default_factory=list)
    _denied: set[int] = field(default_factory=set)
    _down: bool = False
    _sent: dict[tuple[str, str], Any] = field(default_factory=dict)
    _cmid: dict[int, int] = field(default_factory=dict)
    _next_message_id: int = 314
    _next_object_id: int = 457239000
    _uploads: dict[str, tuple[RecordedFile, str]] = field(default_factory=dict)
    _media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    _server: TestServer | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/method/{method}", self._method)
        app.router.add_post("/upload/{kind}", self._upload)
        app.router.add_get("/media/{name}", self._get_media)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self.base_url

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()
            self._server = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() first"
        return str(self._server.make_url("")).rstrip("/")

    # ------------------------------------------------------------------ scripting

    def fail_next(
        self,
        kind: FailureKind,
        *,
        retry_after: float | None = None,
        method: str = "messages.send",
        times: int = 1,
    ) -> None:
        """The next ``times`` calls of ``method`` fail with ``kind``; ``retry_after`` is
        sent as the ``Retry-After`` header of the HTTP kinds (VK's API errors carry none)."""
        self._failures.extend(_Failure(kind, method, retry_after) for _ in range(times))

    def reset_connection_next(self, method: str = "messages.send") -> None:
        """The next call of ``method`` is carried out (a send is delivered), then the
        connection is dropped before the answer: the client cannot know it worked."""
        self._resets.append(method)

    def deny_peer(self, peer_id: int) -> None:
        """``peer_ids`` sends to this peer get a per-peer error 901 item."""
        self._denied.add(peer_id)

    def set_down(self, down: bool) -> None:
        """While down, every API call answers HTTP 503."""
        self._down = down

    def add_media(self, name: str, data: bytes, content_type: str) -> str:
        self._media[name] = (data, content_type)
        return f"{self.base_url}/media/{name}"

    def calls(self, method: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method]

    # ------------------------------------------------------------------ handlers

    async def _method(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        form = await request.post()
        params = {k: str(v) for k, v in form.items()}
        self.requests.append(RecordedRequest("POST", request.path, method, params))
        if self._down:
            return web.Response(status=503, text="Service Unavailable")
        failure = next((f for f in self._failures if f.method == method), None)
        if failure is not None:
            self._failures.remove(failure)
            return _failure_response(failure, method)
        if params.get("access_token") != self.token:
            return _error(*ERRORS["auth"], method)
        try:
            response = self._answer(method, params, request)
        except _ApiError as exc:
            return _error(exc.code, exc.text, method)
        if method in self._resets:
            self._resets.remove(method)
            assert request.transport is not None
            request.transport.abort()
            return web.Response(text="never seen")
        return web.json_response({"response": response})

    def _answer(self, method: str, params: dict[str, str], request: web.Request) -> Any:
        if method == "messages.send":
            return self._send(params)
        if method == "photos.getMessagesUploadServer":
            return {
                "upload_url": f"{self.base_url}/upload/photo?sig=abc",
                "album_id": -3,
                "group_id": self.group_id,
            }
        if method == "docs.getMessagesUploadServer":
            kind = params.get("type", "doc")
            return {"upload_url": f"{self.base_url}/upload/doc?type={kind}&sig=abc"}
        if method == "photos.saveMessagesPhoto":
            upload, _ = self._take_upload(params.get("photo", ""))
            return [
                {
                    "id": self._object_id(),
                    "owner_id": -self.group_id,
                    "access_key": "ph0tokey",
                    "album_id": -3,
                    "sizes": [{"type": "x", "url": "https://sun9-1.userapi.com/x.jpg"}],
                    "text": upload.filename,
                }
            ]
        if method == "docs.save":
            upload, kind = self._take_upload(params.get("file", ""))
            return {
                "type": kind,
                kind: {
                    "id": self._object_id(),
                    "owner_id": -self.group_id,
                    "title": params.get("title", upload.filename),
                    "size": len(upload.data),
                    "access_key": "d0ckey",
                },
            }
        if method == "groups.getById":
            return {
                "groups": [{"id": self.group_id, "name": "Test shop", "screen_name": "shop"}],
                "profiles": [],
            }
        if method == "users.get":
            ids = [int(i) for i in params.get("user_ids", "").split(",") if i]
            return [{"id": i, "first_name": "Ivan", "last_name": f"Petrov{i % 10}"} for i in ids]
        raise _ApiError(3, "Unknown method passed")

    def _send(self, params: dict[str, str]) -> Any:
        if "random_id" not in params:
            raise _ApiError(
                100,
                "One of the parameters specified was missing or invalid: "
                "random_id is a required parameter",
            )
        if not params.get("message") and not params.get("attachment"):
            raise _ApiError(
                100,
                "One of the parameters specified was missing or invalid: "
                "message is empty or invalid",
            )
        if "keyboard" in params:
            keyboard = json.loads(params["keyboard"])
            if not isinstance(keyboard.get("buttons"), list):
                raise _ApiError(911, "Keyboard format is invalid")
        many = "peer_ids" in params
        peers = [int(p) for p in (params.get("peer_ids") or params.get("peer_id", "")).split(",")]
        key = (params.get("peer_ids") or params.get("peer_id", ""), params["random_id"])
        if key in self._sent:
            return self._sent[key]  # VK: the same random_id is not sent again
        items: list[dict[str, Any]] = []
        for peer in peers:
            if peer in self._denied:
                items.append(
                    {"peer_id": peer, "error": {"code": 901, "description": ERRORS["blocked"][1]}}
                )
                continue
            self._cmid[peer] = self._cmid.get(peer, 299) + 1
            message_id = self._next_message_id
            self._next_message_id += 1
            self.messages.append({**params, "peer_id": str(peer), "message_id": str(message_id)})
            items.append(
                {
                    "peer_id": peer,
                    "message_id": message_id,
                    "conversation_message_id": self._cmid[peer],
                }
            )
        answer: Any = items if many else items[0].get("message_id")
        if not many and "error" in items[0]:
            raise _ApiError(901, ERRORS["blocked"][1])
        self._sent[key] = answer
        return answer

    async def _upload(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        files: dict[str, RecordedFile] = {}
        params: dict[str, str] = dict(request.query)
        for name, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                files[name] = RecordedFile(value.filename, value.content_type, value.file.read())
            else:
                params[name] = str(value)
        self.requests.append(RecordedRequest("POST", request.path, "", params, files))
        upload = files.get("photo" if kind == "photo" else "file")
        if upload is None:
            return web.json_response({"error": "ERR_UPLOAD_FILE_NOT_UPLOADED: file not found"})
        token = f"upl{len(self._uploads) + 1}"
        self._uploads[token] = (upload, params.get("type", kind))
        if kind == "photo":
            return web.json_response(
                {"server": 842118, "photo": json.dumps([{"photo": token}]), "hash": "f00d"}
            )
        return web.json_response({"file": token})

    async def _get_media(self, request: web.Request) -> web.Response:
        self.requests.append(RecordedRequest("GET", request.path, "", dict(request.query)))
        found = self._media.get(request.match_info["name"])
        if found is None:
            return web.Response(status=404, text="Not Found")
        data, content_type = found
        return web.Response(body=data, content_type=content_type)

    def _take_upload(self, handle: str) -> tuple[RecordedFile, str]:
        try:
            decoded = json.loads(handle)
            token = decoded[0]["photo"] if isinstance(decoded, list) else str(decoded)
        except (ValueError, KeyError, IndexError, TypeError):
            token = handle
        found = self._uploads.get(token)
        if found is None:
            raise _ApiError(100, "One of the parameters specified was missing or invalid: file")
        return found

    def _object_id(self) -> int:
        self._next_object_id += 1
        return self._next_object_id


class _ApiError(Exception):
    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


def _error(code: int, text: str, method: str) -> web.Response:
    # request_params echo only method/oauth/v here: the real ones echo every parameter.
    envelope = {
        "error": {
            "error_code": code,
            "error_msg": text,
            "request_params": [
                {"key": "method", "value": method},
                {"key": "oauth", "value": "1"},
                {"key": "v", "value": "5.199"},
            ],
        }
    }
    return web.json_response(envelope)


def _failure_response(failure: _Failure, method: str) -> web.Response:
    headers = {"Retry-After": str(int(failure.retry_after))} if failure.retry_after else {}
    if failure.kind == "http_429":
        return web.Response(status=429, text="Too Many Requests", headers=headers)
    if failure.kind in ("http_500", "http_502"):
        status = int(failure.kind.removeprefix("http_"))
        return web.Response(status=status, text="Server Error", headers=headers)
    if failure.kind == "not_json":
        return web.Response(text="<html>maintenance</html>", content_type="text/html")
    return _error(*ERRORS[failure.kind], method)
