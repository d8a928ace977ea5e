"""The providers' door: ``* /webhooks/{kind}/{channel_id}`` (CONTRACT.md).

Authenticate, convert, store, then acknowledge (STYLE.md #5) -- nothing else here: the
adapter checks the secret or signature locally and converts, the ``receive_webhook`` use
case stores, and the adapter's reply is the acknowledgement.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiohttp import web

from inbox.domain.channel_io import MAX_WEBHOOK_BYTES, WebhookRejected, WebhookRequest
from inbox.domain.errors import Overloaded
from inbox.domain.ids import ChannelId
from inbox.ports import ChannelAdapter
from inbox.usecases import Core, receive_webhook
from server.errors import error_response, overloaded_response

__all__ = ["WebhookEndpoint"]

logger = logging.getLogger(__name__)

#: Bodies are read in slices of this size, so an oversized one is refused early.
_CHUNK = 64 * 1024


class WebhookEndpoint:
    """One handler for every channel kind: ``adapters`` maps a kind to its adapter.

    Answers 404 for a kind this server does not run, 405 for a method other than GET and
    POST, 413 for a body over ``MAX_WEBHOOK_BYTES`` (announced or read), the adapter's
    status for a rejected request, 503 with ``Retry-After`` when the inbox is overloaded
    (back-pressure), else the adapter's own reply."""

    def __init__(self, core: Core, adapters: Mapping[str, ChannelAdapter]) -> None:
        self._core = core
        self._adapters = adapters

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
            logger.info("webhook for %s refused: overloaded", adapter.kind)
            return overloaded_response(exc)
        return web.Response(status=reply.status, body=reply.body, content_type=reply.content_type)
