"""Viber's callback signature: ``X-Viber-Content-Signature`` is the lower-case hex
HMAC-SHA256 of the raw request body, keyed with the bot's auth token.

Source: Viber's own Python library, ``viberbot/api/api.py`` (``_calculate_message_signature``
and ``verify_signature``), and the REST API docs' "Callbacks" section
(docs/channels/viber.md, "What we relied on"). Computed over the raw bytes, never over
re-serialised JSON.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["SIGNATURE_HEADER", "sign", "signature_matches"]

#: Lower-case, as :class:`inbox.domain.channel_io.WebhookRequest` carries header names.
SIGNATURE_HEADER = "x-viber-content-signature"


def sign(token: str, body: bytes) -> str:
    """The signature Viber puts on ``body`` for a bot with auth token ``token``."""
    return hmac.new(token.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_matches(token: str, body: bytes, signature: str) -> bool:
    """Constant-time comparison; hex case is ignored (Viber sends lower case)."""
    expected = sign(token, body)
    return hmac.compare_digest(expected.encode("ascii"), signature.strip().lower().encode())
