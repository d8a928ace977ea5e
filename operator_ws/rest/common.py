"""What every REST resource shares: bearer authentication, JSON bodies, query parameters
and error bodies (docs/operator-protocol.md).

Errors other than the few built here are raised as :class:`inbox.domain.errors.DomainError`
and become ``{"error": {"code", "message"}}`` in the app's error middleware
(``server/app.py``), so every resource answers errors in one shape.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from inbox.domain.errors import InvalidInput, Unauthorized
from inbox.domain.operators import Operator
from inbox.ports import AuthSession
from inbox.usecases import Core, authenticate

__all__ = [
    "AuthedHandler",
    "Caller",
    "Handler",
    "authed",
    "error_response",
    "int_param",
    "json_body",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated operator of one request, their session and its bearer token."""

    operator: Operator
    session: AuthSession
    token: str


AuthedHandler = Callable[[web.Request, Caller], Awaitable[web.StreamResponse]]


def authed(core: Core, handler: AuthedHandler) -> Handler:
    """Wrap ``handler`` so it runs only for ``Authorization: Bearer <token>`` of a live
    session; raises :class:`Unauthorized` (→ 401 ``unauthorized``) otherwise, before the
    handler sees the request."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("send Authorization: Bearer <token>")
        operator, session = await authenticate(core, token.strip())
        return await handler(request, Caller(operator, session, token.strip()))

    return wrapper


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object; raises :class:`InvalidInput` if it is not valid
    JSON or not an object."""
    raw = await request.read()
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise InvalidInput("the body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    return body


def int_param(raw: str | None, default: int, name: str) -> int:
    """A whole-number query or path parameter: ``default`` when absent or empty; raises
    :class:`InvalidInput` ``"<name> must be an integer"`` otherwise. Ranges are checked by
    the use cases."""
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise InvalidInput(f"{name} must be an integer") from exc


def error_response(status: int, code: str, message: str) -> web.Response:
    """``{"error": {"code", "message"}}`` with ``status``, for errors a handler answers
    itself instead of raising (the same shape as the middleware's)."""
    return web.json_response({"error": {"code": code, "message": message}}, status=status)
