"""Local authentication of Meta's webhook calls (channel-contracts.md §3.1). No network.

* ``GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…``: Meta checks the callback
  URL; the answer is the bare challenge as ``text/plain`` when the token matches, else 403.
* ``POST`` carries ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app_secret, raw body)>``.
  Meta signs the bytes it sends (JSON with ``\\uXXXX`` escapes), so the signature is checked
  on the raw body, before parsing, in constant time. Missing → 401, wrong → 403 (as pywa).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from inbox.domain.channel_io import WebhookRejected, WebhookReply
from inbox.domain.untrusted import same_secret

__all__ = ["SIGNATURE_HEADER", "check_signature", "sign", "verification_reply"]

SIGNATURE_HEADER = "x-hub-signature-256"
#: Meta's challenges are short numbers; anything longer is not from Meta.
_MAX_CHALLENGE = 256


def sign(body: bytes, app_secret: str) -> str:
    """The header value Meta would send for ``body`` (also used by tests and fakes)."""
    digest = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def check_signature(headers: Mapping[str, str], body: bytes, app_secret: str) -> None:
    """Raises :class:`WebhookRejected` (401 no signature, 403 a wrong one)."""
    provided = headers.get(SIGNATURE_HEADER, "").strip()
    if not provided:
        raise WebhookRejected(401, "unauthorized", "the X-Hub-Signature-256 header is missing")
    if not app_secret:
        raise WebhookRejected(403, "forbidden", "the channel has no app_secret to check with")
    algorithm, _, digest = provided.partition("=")
    expected = sign(body, app_secret).partition("=")[2]
    if algorithm.lower() != "sha256" or not same_secret(digest.lower(), expected):
        raise WebhookRejected(403, "forbidden", "the X-Hub-Signature-256 signature is wrong")


def verification_reply(query: Mapping[str, str], verify_token: str) -> WebhookReply:
    """The answer to Meta's verification GET; raises :class:`WebhookRejected` (403)."""
    mode = query.get("hub.mode", "")
    token = query.get("hub.verify_token", "")
    challenge = query.get("hub.challenge", "")
    token_ok = same_secret(token, verify_token)
    if mode != "subscribe" or not token_ok:
        raise WebhookRejected(403, "forbidden", "the verify token does not match")
    if not challenge or len(challenge) > _MAX_CHALLENGE:
        raise WebhookRejected(400, "bad_request", "hub.challenge is missing or too long")
    return WebhookReply(status=200, body=challenge.encode("utf-8"), content_type="text/plain")
