"""The web chat's errors: the exception a bad frame raises, and the error frames and HTTP
answers the visitor gets (docs/webchat-protocol.md, "Frames" and "Errors").

A frame the server cannot take is answered with ``{"type": "error", "code", "message"}``
(plus the ``client_id`` of the message it concerns), and the socket stays open. A
connection the server refuses before the WebSocket opens (no such channel, a site that
may not use this chat) gets the JSON error body of CONTRACT.md.

Pure: no I/O, no logging.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

__all__ = [
    "FrameError",
    "bad_token",
    "channel_not_found",
    "error_frame",
    "http_error",
    "origin_refused",
    "slow_down",
]


class FrameError(Exception):
    """A frame the visitor sent cannot be taken; :meth:`frame` is the answer."""

    def __init__(self, code: str, message: str, client_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.client_id = client_id

    def frame(self) -> dict[str, Any]:
        return error_frame(self.code, self.message, self.client_id)


def error_frame(code: str, message: str, client_id: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if client_id is not None:
        frame["client_id"] = client_id
    return frame


def slow_down(retry_after: float, client_id: str | None = None) -> dict[str, Any]:
    """Back-pressure: the message was not stored; the widget resends the same
    ``client_id`` after ``retry_after_ms`` (docs/webchat-protocol.md, "Errors")."""
    frame = error_frame("slow_down", "busy; send it again shortly", client_id)
    frame["retry_after_ms"] = max(1, round(retry_after * 1000))
    return frame


def bad_token() -> dict[str, Any]:
    """A token of another channel, or a forged one: the widget drops it and says hello anew."""
    return error_frame("bad_token", "this visitor token is not valid here")


def http_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def channel_not_found() -> web.Response:
    return http_error(404, "not_found", "no such web chat channel")


def origin_refused() -> web.Response:
    """The page's ``Origin`` is not one of the channel's ``origin`` option."""
    return http_error(403, "forbidden", "this site may not use this chat")
