"""The access log of ``inbox serve`` (``INBOX_ACCESS_LOG``, README "Configuration").

aiohttp's default writes one line per request, with the query string. Two problems with
that for this server: providers call the webhook routes thousands of times an hour, so the
lines cost real time on the event loop (13 % of it in docs/performance.md's profile), and
a query string can carry a secret (WhatsApp's ``hub.verify_token``, a payment page's
parameters). So:

* ``quiet`` (the default): every request but the routine ones -- a webhook or payment
  notification answered below 400 or refused with 503 under back-pressure (the provider
  retries; ``server.webhooks`` logs how many were refused, at most every 10 s), and
  ``/healthz`` and ``/readyz`` -- gets a line; other failures always do.
* ``all``: every request.
* ``off``: none.

In every mode a line holds the method, the path without its query string, the status, the
size, the time taken and the client's address -- never a query, a header or a body.
"""

from __future__ import annotations

import logging

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

__all__ = ["ACCESS_LOG_MODES", "InboxAccessLogger", "is_routine"]

ACCESS_LOG_MODES = ("quiet", "all", "off")

#: Paths whose successful calls are routine in the ``quiet`` mode.
_ROUTINE_PREFIXES = ("/webhooks/",)
_ROUTINE_PATHS = frozenset({"/healthz", "/readyz"})


def is_routine(path: str, status: int) -> bool:
    """A successful provider callback or health check, or a provider callback refused
    with 503 (back-pressure: thousands a second under overload, each retried by its
    provider): left out of the ``quiet`` log."""
    if status == 503:
        return path.startswith(_ROUTINE_PREFIXES)
    if status >= 400:
        return False
    return path in _ROUTINE_PATHS or path.startswith(_ROUTINE_PREFIXES)


class InboxAccessLogger(AbstractAccessLogger):
    """aiohttp's ``access_log_class``; the mode comes from :meth:`configure` before the
    server starts (aiohttp builds the logger itself, with its own arguments)."""

    mode = "quiet"

    @classmethod
    def configure(cls, mode: str) -> type[InboxAccessLogger]:
        if mode not in ACCESS_LOG_MODES:
            raise ValueError(f"access log mode must be one of {', '.join(ACCESS_LOG_MODES)}")
        return type("ConfiguredAccessLogger", (cls,), {"mode": mode})

    def __init__(self, logger: logging.Logger, log_format: str) -> None:
        super().__init__(logger, log_format)

    @property
    def enabled(self) -> bool:
        return self.mode != "off" and self.logger.isEnabledFor(logging.INFO)

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        path = request.path
        status = response.status
        if self.mode == "off" or (self.mode == "quiet" and is_routine(path, status)):
            return
        self.logger.info(
            '%s "%s %s" %d %d %.1fms',
            request.remote or "-",
            request.method,
            path,
            status,
            response.body_length,
            time * 1000.0,
        )
