"""The HTTP error shape (CONTRACT.md): every error is JSON, ``{"error": {"code", "message"}}``.

:func:`error_response` builds one; :func:`json_errors` is the middleware that turns domain
errors, aiohttp's HTTP exceptions and anything unexpected (logged, answered 500) into it.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from inbox.domain.errors import DomainError, Overloaded, TooManyAttempts

__all__ = ["error_response", "json_errors", "overloaded_response"]

logger = logging.getLogger(__name__)

#: A domain error's code → its HTTP status; codes not listed answer 400.
_HTTP_STATUS = {
    "invalid_input": 400,
    "too_large": 413,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "invalid_transition": 409,
    "window_closed": 409,
    "replies_unsupported": 409,
    "unavailable": 502,
}


def error_response(status: int, code: str, message: str) -> web.Response:
    """The JSON error body with ``status``."""
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def overloaded_response(exc: Overloaded) -> web.Response:
    """503 with ``Retry-After`` (whole seconds): nothing was stored, send it again then
    (docs/reliability.md). 503, not 429: every provider resends on it, and it says the
    server, not the sender, is the problem."""
    response = error_response(503, exc.code, exc.message)
    response.headers["Retry-After"] = str(exc.retry_after_seconds)
    return response


@web.middleware
async def json_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Every error is JSON (CONTRACT.md); redirects and other non-errors pass through."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except TooManyAttempts as exc:
        response = error_response(429, exc.code, exc.message)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except Overloaded as exc:
        return overloaded_response(exc)
    except DomainError as exc:
        return error_response(_HTTP_STATUS.get(exc.code, 400), exc.code, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            exc.status, "http_error"
        )
        return error_response(exc.status, code, exc.reason)
    except Exception:
        logger.exception("request %s %s failed", request.method, request.path)
        return error_response(500, "internal", "the server could not complete the request")
