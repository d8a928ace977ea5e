"""Local authentication and parsing of Viber's callbacks. No network.

``X-Viber-Content-Signature`` is the lower-case hex HMAC-SHA256 of the raw request body,
keyed with the bot's auth token.

Source: Viber's own Python library, ``viberbot/api/api.py`` (``_calculate_message_signature``
and ``verify_signature``), and the REST API docs' "Callbacks" section
(docs/channels/viber.md, "What we relied on"). Computed over the raw bytes, never over
re-serialised JSON, and checked before the body is even parsed.

Also here: where the webhook lives and which callbacks ``set_webhook`` asks for.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from channels.viber.errors import PayloadError
from channels.viber.inbound import convert_callback
from inbox.domain.channel_io import WebhookBatch, WebhookRejected, WebhookReply, WebhookRequest
from inbox.domain.channels import Channel
from inbox.domain.ids import ChannelId
from inbox.domain.untrusted import BadJson, parse_json, same_secret

__all__ = [
    "ACK",
    "SIGNATURE_HEADER",
    "WEBHOOK_EVENT_TYPES",
    "check_signature",
    "read_callback",
    "sign",
    "signature_matches",
    "webhook_url",
]

#: Lower-case, as :class:`inbox.domain.channel_io.WebhookRequest` carries header names.
SIGNATURE_HEADER = "x-viber-content-signature"

#: The optional callbacks we ask ``set_webhook`` for; ``message``, ``subscribed`` and
#: ``unsubscribed`` are always sent (set_webhook, "event_types").
WEBHOOK_EVENT_TYPES = [
    "delivered",
    "seen",
    "failed",
    "subscribed",
    "unsubscribed",
    "conversation_started",
]

#: Viber reads the answer to ``conversation_started`` as an optional welcome message; an
#: empty object is "no welcome", and every other callback only needs the 200.
ACK = WebhookReply(status=200, body=b"{}", content_type="application/json")


def webhook_url(public_url: str, channel: Channel) -> str:
    return f"{public_url.rstrip('/')}/webhooks/viber/{channel.id}"


def sign(token: str, body: bytes) -> str:
    """The signature Viber puts on ``body`` for a bot with auth token ``token``."""
    return hmac.new(token.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_matches(token: str, body: bytes, signature: str) -> bool:
    """Constant-time comparison; hex case is ignored (Viber sends lower case)."""
    expected = sign(token, body)
    return same_secret(signature.strip().lower(), expected)


def check_signature(headers: Mapping[str, str], body: bytes, token: str) -> None:
    """Raises :class:`WebhookRejected`: 403 without a token to check with, 401 without a
    signature, 403 for a wrong one."""
    if not token:
        raise WebhookRejected(403, "forbidden", "this Viber channel has no token configured")
    signature = headers.get(SIGNATURE_HEADER, "")
    if not signature:
        raise WebhookRejected(401, "unauthorized", "missing X-Viber-Content-Signature")
    if not signature_matches(token, body, signature):
        raise WebhookRejected(403, "forbidden", "the signature does not match")


def read_callback(channel_id: ChannelId, request: WebhookRequest, token: str) -> WebhookBatch:
    """Signature first (401 missing, 403 wrong), before the body is even parsed; then
    the shape (400). Unknown fields and unknown events are accepted. Raises
    :class:`WebhookRejected`."""
    check_signature(request.headers, request.body, token)
    if request.method != "POST":
        raise WebhookRejected(405, "method_not_allowed", "Viber callbacks are POSTed")
    try:
        payload = parse_json(request.body)
    except BadJson:
        raise WebhookRejected(400, "bad_request", "the body is not JSON") from None
    try:
        converted = convert_callback(channel_id, payload)
    except PayloadError as exc:
        raise WebhookRejected(400, "bad_request", str(exc)) from None
    return WebhookBatch(messages=converted.messages, statuses=converted.statuses, reply=ACK)
