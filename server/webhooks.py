"""The providers' door: ``* /webhooks/{kind}/{channel_id}`` (CONTRACT.md).

Authenticate, convert, store, then acknowledge (STYLE.md #5) -- nothing else here: the
adapter checks the secret or signature locally and converts, the ``receive_webhook`` use
case stores, and the adapter's reply is the acknowledgement.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping

from aiohttp import web

from inbox.domain.channel_io import MAX_WEBHOOK_BYTES, WebhookRejected, WebhookRequest
from inbox.domain.errors import Overloaded
from inbox.domain.ids import ChannelId
from inbox.ports import ChannelAdapter
from inbox.usecases import Core, receive_webhook
from server.errors import error_response, overloaded_response

__all__ = ["RefusalLog", "WebhookEndpoint"]

logger = logging.getLogger(__name__)

#: Bodies are read in slices of this size, so an oversized one is refused early.
_CHUNK = 64 * 1024


class RefusalLog:
    """Webhook calls refused under back-pressure, logged as a count at most every
    ``every`` seconds: one line per refusal cost 14 % of the event loop at 5x overload,
    the moment the server most needs it (docs/performance.md)."""

    def __init__(self, every: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._every = every
        self._clock = clock
        self._counts: Counter[str] = Counter()
        self._since = clock()

    def note(self, kind: str) -> None:
        self._counts[kind] += 1
        now = self._clock()
        if now - self._since < self._every:
            return
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self._counts.items()))
        logger.warning(
            "refused %d webhook calls as overloaded in the last %.0f s (%s); the providers "
            "retry them",
            sum(self._counts.values()),
            now - self._since,
            kinds,
        )
        self._counts.clear()
        self._since = now


class WebhookEndpoint:
    """One handler for every channel kind: ``adapters`` maps a kind to its adapter.

    Answers 404 for a kind this server does not run, 405 for a method other than GET and
    POST, 413 for a body over ``MAX_WEBHOOK_BYTES`` (announced or read), the adapter's
    status for a rejected request, 503 with ``Retry-After`` when the inbox is overloaded
    (back-pressure), else the adapter's own reply."""

    def __init__(self, core: Core, adapters: Mapping[str, ChannelAdapter]) -> None:
        self._core = core
        self._adapters = adapters
        self._refusals = RefusalLog()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        adapter = self._adapters.get(request.match_info["kind"])
        if adapter is None:
            return error_response(404, "not_found", "no such channel kind on this server")
        if request.method not in ("GET", "POST"):
            return error_response(405, "method_not_allowed", "webhooks take GET or POST")
        if (request.content_length or 0) > MAX_WEBHOOK_BYTES:
            return error_response(413, "too_large", "the body is too large")
        body = bytearray()
        while chunk := await request.content.read(_CHUNK):
            body += chunk
            if len(body) > MAX_WEBHOOK_BYTES:
                return error_response(413, "too_large", "the body is too large")
        hook = WebhookRequest(
            method=request.method,
            headers={k.lower(): v for k, v in request.headers.items()},
            query=dict(request.query),
            body=bytes(body),
        )
        try:
            reply = await receive_webhook(
                self._core, adapter, ChannelId(request.match_info["channel_id"]), hook
            )
        except WebhookRejected as exc:
            # Never the body, never the credentials: the kind, the channel and why.
            logger.info(
                "webhook for %s channel %s rejected: %s",
                adapter.kind,
                request.match_info["channel_id"][:40],
                exc.code,
            )
            return error_response(exc.status, exc.code, exc.message)
        except Overloaded as exc:
            # Back-pressure: nothing of the refused message was stored and nothing was
            # acknowledged, so the provider resends (docs/reliability.md); a message of
            # the same batch stored before it is deduplicated on the resend.
            self._refusals.note(adapter.kind)
            return overloaded_response(exc)
        return web.Response(status=reply.status, body=reply.body, content_type=reply.content_type)
