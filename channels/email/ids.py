"""Message-IDs: normalising them, our reply token, and the subject used for threading.

Our outgoing Message-ID is ``<{message id}.{token}@{domain}>`` where ``token`` is the first
10 hex digits of HMAC-SHA256 over our message id, keyed by the channel's secret (its
password). When a customer's client drops In-Reply-To but keeps References (or the other
way round, with a rewritten id), the token lets us recover *our* message id without a
database lookup by provider id, and the HMAC keeps anyone from pointing a mail at a
conversation they guessed an id of (40 bits are plenty against blind guessing; the id
itself is 128 random bits already).
"""

# Russian quote headers and prefixes are the point of this module (RUF001-003):
# ruff: noqa: RUF003

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from typing import Final

from inbox.domain.untrusted import same_secret

__all__ = [
    "missing_message_id",
    "normalise_message_id",
    "normalise_subject",
    "our_message_ids",
    "reply_message_id",
    "reply_token",
    "split_message_ids",
]

TOKEN_HEX: Final = 10
_ANGLE: Final = re.compile(r"<([^<>\s]+)>")
#: Reply/forward prefixes of the common clients: English, German (AW, WG), Nordic (SV,
#: VS), French (TR), Russian (Ответ, Отв, На, Пересл), with counters ("RE[2]:", "Re(3):").
_PREFIX: Final = re.compile(
    r"^\s*(?:re|fwd?|aw|wg|sv|vs|tr|antw|ответ|отв|на|пересл|переслать)"
    r"\s*(?:\[\d+\]|\(\d+\))?\s*:\s*",
    re.IGNORECASE,
)
_TAG: Final = re.compile(r"^\s*\[(?:ext|external|spam)\]\s*", re.IGNORECASE)


def normalise_message_id(raw: str | None) -> str | None:
    """``<local@domain>`` from a header value (with or without angle brackets, with
    comments or whitespace around), or ``None`` when there is none."""
    if not raw:
        return None
    found = _ANGLE.search(raw)
    if found:
        return f"<{found.group(1)}>"
    bare = raw.strip().split()
    if bare and "@" in bare[0]:
        return f"<{bare[0].strip('<>')}>"
    return None


def split_message_ids(raw: str | None) -> list[str]:
    """Every ``<id>`` in a References / In-Reply-To value, in the order written."""
    if not raw:
        return []
    return [f"<{m}>" for m in _ANGLE.findall(raw)]


def missing_message_id(raw: bytes) -> str:
    """A stable id for a mail without Message-ID: the same bytes give the same id, so a
    re-read after a restart or a UIDVALIDITY change is deduplicated all the same."""
    return f"<{hashlib.sha256(raw).hexdigest()}@missing-message-id>"


def reply_token(secret: str, message_id: str) -> str:
    key = hashlib.sha256(b"inbox-email-reply-token:" + secret.encode()).digest()
    return hmac.new(key, message_id.encode(), hashlib.sha256).hexdigest()[:TOKEN_HEX]


def reply_message_id(secret: str, message_id: str, domain: str) -> str:
    """The Message-ID we give the mail that carries our message ``message_id``."""
    return f"<{message_id}.{reply_token(secret, message_id)}@{domain}>"


def our_message_ids(secret: str, refs: Iterable[str]) -> list[str]:
    """Our message ids whose valid reply token appears in ``refs`` (normalised ids),
    in the order given, without repeats."""
    found: list[str] = []
    for ref in refs:
        local = ref.strip("<>").partition("@")[0]
        message_id, dot, token = local.partition(".")
        if not dot or len(token) != TOKEN_HEX or not message_id:
            continue
        valid = same_secret(token, reply_token(secret, message_id))
        if valid and message_id not in found:
            found.append(message_id)
    return found


def normalise_subject(subject: str) -> str:
    """The thread subject: ``"RE[2]: Fwd: Ответ: Order 42"`` → ``"Order 42"``; inner
    whitespace collapsed."""
    text = " ".join(subject.split())
    while True:
        stripped = _TAG.sub("", _PREFIX.sub("", text, count=1), count=1)
        if stripped == text:
            return text
        text = stripped
