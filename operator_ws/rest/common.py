"""What every REST resource shares: bearer authentication (operators' sessions and API
tokens with their scopes, docs/api.md), JSON bodies, query parameters and error bodies
(docs/operator-protocol.md).

Errors other than the few built here are raised as :class:`inbox.domain.errors.DomainError`
and become ``{"error": {"code", "message"}}`` in the app's error middleware
(``server/app.py``), so every resource answers errors in one shape.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from inbox.domain.api_tokens import SCOPES, TOKEN_PREFIX, ApiToken, TokenScope, machine_actor
from inbox.domain.errors import Forbidden, InvalidInput, Unauthorized
from inbox.domain.operators import Operator
from inbox.domain.untrusted import BadJson, parse_json
from inbox.ports import AuthSession
from inbox.usecases import Core, authenticate
from inbox.usecases.api_tokens import authenticate_api_token

__all__ = [
    "ROUTE_SCOPE",
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
    """Who makes one request: an operator with their session, or a machine client with its
    API token (``api_token``; ``operator`` is then its principal, see
    :func:`inbox.domain.api_tokens.machine_actor`). ``token`` is the bearer token as sent."""

    operator: Operator
    session: AuthSession | None
    token: str
    api_token: ApiToken | None = None


AuthedHandler = Callable[[web.Request, Caller], Awaitable[web.StreamResponse]]

#: What a route built by :func:`authed` declares: the scope an API token needs for it, or
#: ``None`` (operators' sessions only). A test walks the app's router and checks that
#: every ``/api/v1`` route carries it (tests/e2e/test_api_tokens.py).
ROUTE_SCOPE = "api_scope"


def authed(core: Core, handler: AuthedHandler, *, scope: str | None) -> Handler:
    """Wrap ``handler`` so it runs only for ``Authorization: Bearer <token>`` of a live
    session, or of an API token that holds ``scope``; raises :class:`Unauthorized`
    (→ 401) for a missing, unknown, expired or revoked token and :class:`Forbidden`
    (→ 403) for an API token on a route it has no scope for -- ``scope=None`` routes
    refuse every API token. Every route states its scope (no default), and an unknown
    scope name fails when the routes are built, not when a request comes."""
    if scope is not None and scope not in SCOPES:
        raise ValueError(f"unknown API scope {scope!r} (inbox.domain.api_tokens.SCOPES)")
    needed = TokenScope(scope) if scope is not None else None

    async def wrapper(request: web.Request) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        scheme, _, raw = header.partition(" ")
        token = raw.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("send Authorization: Bearer <token>")
        if token.startswith(TOKEN_PREFIX):
            api_token = await authenticate_api_token(core, token)
            if needed is None:
                raise Forbidden("API tokens cannot use this endpoint; it is for operators")
            if needed not in api_token.scopes:
                raise Forbidden(f"this API token lacks the scope {needed}")
            actor = machine_actor(api_token, needed)
            return await handler(request, Caller(actor, None, token, api_token))
        operator, session = await authenticate(core, token)
        return await handler(request, Caller(operator, session, token))

    setattr(wrapper, ROUTE_SCOPE, scope)
    return wrapper


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object; raises :class:`InvalidInput` if it is not valid
    JSON or not an object."""
    raw = await request.read()
    try:
        body = parse_json(raw)
    except BadJson as exc:
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
