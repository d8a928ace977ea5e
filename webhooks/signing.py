"""The ``X-Inbox-Signature`` header (CONTRACT.md): ``t=UNIX_SECONDS,v1=HEX`` where HEX is
HMAC-SHA256 with the webhook's secret over ``"{t}.{raw body}"``. Receivers recompute it
and compare in constant time; ``t`` lets them refuse old replays (docs/webhooks.md)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from inbox.domain.untrusted import same_secret

__all__ = ["SIGNATURE_HEADER", "new_secret", "sign", "signature_header", "verify"]

SIGNATURE_HEADER = "X-Inbox-Signature"


def new_secret() -> str:
    """A fresh signing secret: 32 random bytes, URL-safe text with a recognisable prefix."""
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"{timestamp}.{body}"`` under ``secret``."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes) -> bool:
    """Whether ``header`` is a valid signature of ``body`` (any ``v1`` of it matches)."""
    fields = [part.partition("=") for part in header.split(",")]
    stamps = [value for key, _, value in fields if key.strip() == "t"]
    if len(stamps) != 1 or not stamps[0].strip().isdigit():
        return False
    expected = sign(secret, int(stamps[0]), body)
    return any(same_secret(value.strip(), expected) for key, _, value in fields if key == "v1")
