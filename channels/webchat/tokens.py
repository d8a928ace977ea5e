"""Visitor tokens: ``<visitor id>.<HMAC-SHA-256(channel secret, channel id + visitor id)>``.

Stateless: the server keeps no table of tokens, a forged token cannot be made without the
channel's secret, and a token of one channel is useless on another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from inbox.domain.untrusted import same_secret

__all__ = ["issue_visitor_token", "verify_visitor_token"]


def _signature(secret: str, channel_id: str, visitor_id: str) -> str:
    mac = hmac.new(secret.encode(), f"{channel_id}:{visitor_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def issue_visitor_token(secret: str, channel_id: str) -> tuple[str, str]:
    """A new visitor: returns (visitor id, token). The id has 128 random bits."""
    visitor_id = "v" + secrets.token_hex(16)
    return visitor_id, f"{visitor_id}.{_signature(secret, channel_id, visitor_id)}"


def verify_visitor_token(secret: str, channel_id: str, token: str) -> str | None:
    """The visitor id if the token is genuine for this channel, else ``None``."""
    visitor_id, dot, signature = token.partition(".")
    if not dot or not visitor_id.startswith("v") or len(visitor_id) != 33:
        return None
    expected = _signature(secret, channel_id, visitor_id)
    return visitor_id if same_secret(signature, expected) else None
