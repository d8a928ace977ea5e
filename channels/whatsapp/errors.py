"""Graph API errors → the core's channel errors, with a sentence an operator can act on.

The codes come from Meta's Cloud API error-code reference as summarised in
``/work/shared/design/channel-contracts.md`` §3.3 (and pywa's ``errors.py``). The same table
explains a ``failed`` delivery status, whose ``errors[]`` carry the same codes (131047
arrives that way: the send call returned 200, the message failed later).

Pure: no I/O, no logging.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from channels.whatsapp.wire import int_or_none
from inbox.domain.channel_errors import ChannelError, PermanentFailure, RetryLater

__all__ = [
    "DEFAULT_RETRY_AFTER",
    "REENGAGEMENT_REASON",
    "GraphError",
    "error_from_response",
    "reason_for_code",
]

#: Meta sends no ``Retry-After`` for its throughput errors; 5 s is a pause long enough for
#: the 80 messages/s per-number limit to recover and short enough not to hold replies back.
DEFAULT_RETRY_AFTER = 5.0
#: 131056 is the per-recipient "pair rate limit": about one message per 6 s to one user.
PAIR_RETRY_AFTER = 6.0

REENGAGEMENT_REASON = (
    "More than 24 hours have passed since the customer last wrote; "
    "send an approved template instead."
)

_TOKEN_REASON = "The WhatsApp access token has expired or is invalid."  # noqa: S105 (a sentence)
_PERMISSION_REASON = (
    "The WhatsApp access token lacks a permission for this phone number "
    "(whatsapp_business_messaging)."
)

#: Transient throughput limits: retry after a pause.
_RATE_LIMIT_CODES = frozenset({4, 80007, 130429, 131056, 131057})
#: Meta's own temporary failures ("API Unknown", "API Service", "Something went wrong",
#: "Service unavailable").
_TRANSIENT_CODES = frozenset({1, 2, 131000, 131016})
_AUTH_CODES = frozenset({0, 190})
_PERMISSION_CODES = frozenset({3, 10})

_REASONS: Mapping[int, str] = {
    131047: REENGAGEMENT_REASON,
    131026: (
        "WhatsApp could not deliver the message: the number may not be on WhatsApp, "
        "the customer may have blocked the business or must update WhatsApp."
    ),
    131030: (
        "This test phone number may only message numbers on its allowed list; "
        "add the customer's number in the Meta app dashboard."
    ),
    131031: "The WhatsApp Business account is locked or restricted by Meta.",
    131042: "WhatsApp refused the message because of a payment problem on the business account.",
    131045: "The business phone number is not registered with the WhatsApp Cloud API.",
    131048: "WhatsApp's spam limit was hit: too many of this number's messages were blocked.",
    131049: "Meta held this marketing message back to keep engagement healthy; try later.",
    131050: "The customer has stopped marketing messages from this business.",
    131051: "WhatsApp does not support this kind of message.",
    131052: "WhatsApp could not download the customer's file.",
    131053: "WhatsApp could not process the attachment (unsupported type or too large).",
    130472: "The customer's number is part of a Meta experiment and did not get the message.",
    133010: "The business phone number is not registered on WhatsApp.",
    368: "The WhatsApp account is temporarily blocked for policy violations.",
}


@dataclass(frozen=True, slots=True)
class GraphError:
    """The interesting fields of a Graph error envelope ``{"error": {...}}``."""

    code: int | None
    subcode: int | None = None
    message: str = ""
    details: str = ""
    title: str = ""

    @classmethod
    def from_json(cls, body: Any) -> GraphError | None:
        """The error of a response body, or ``None`` when the body carries none."""
        if not isinstance(body, Mapping):
            return None
        raw = body.get("error")
        if not isinstance(raw, Mapping):
            return None
        return cls.from_item(raw)

    @classmethod
    def from_item(cls, raw: Mapping[str, Any]) -> GraphError:
        """One error object (the ``error`` of a response, one of a status's ``errors``)."""
        data = raw.get("error_data")
        details = data.get("details") if isinstance(data, Mapping) else None
        return cls(
            code=int_or_none(raw.get("code")),
            subcode=int_or_none(raw.get("error_subcode")),
            message=str(raw.get("message") or ""),
            details=str(details or ""),
            title=str(raw.get("title") or ""),
        )


def reason_for_code(error: GraphError) -> str:
    """A sentence for the operator: ours for known codes, else Meta's own words."""
    code = error.code
    if code in _AUTH_CODES:
        return _TOKEN_REASON
    if code in _PERMISSION_CODES or (code is not None and 200 <= code <= 299):
        return _PERMISSION_REASON
    if code is not None and code in _REASONS:
        return _REASONS[code]
    if code is not None and 132000 <= code <= 132999:
        return f"WhatsApp refused the template: {_provider_words(error)}"
    if code in (100, 131008, 131009):
        return f"WhatsApp refused the message as invalid: {_provider_words(error)}"
    return f"WhatsApp could not deliver the message: {_provider_words(error)}"


def _provider_words(error: GraphError) -> str:
    words = error.details or error.message or error.title or "no reason given"
    return f"{words} (code {error.code})" if error.code is not None else words


def error_from_response(
    http_status: int, body: Any, retry_after_header: str | None = None
) -> ChannelError:
    """Map a failed Graph API call (HTTP status ≥ 400) to ``RetryLater``/``PermanentFailure``.

    Rate limits (HTTP 429, codes 4, 80007, 130429, 131056, 131057) are retried after
    ``Retry-After`` when the response has one, else after :data:`DEFAULT_RETRY_AFTER`;
    Meta's temporary errors (5xx, codes 1, 2, 131000, 131016) are retried on the outbox's
    own back-off (or ``Retry-After``); everything else is permanent.
    """
    error = GraphError.from_json(body)
    header_delay = _parse_retry_after(retry_after_header)
    code = error.code if error else None
    if http_status == 429 or code in _RATE_LIMIT_CODES:
        default = PAIR_RETRY_AFTER if code == 131056 else DEFAULT_RETRY_AFTER
        delay = header_delay if header_delay is not None else default
        what = "per-customer" if code == 131056 else "sending"
        return RetryLater(f"WhatsApp's {what} rate limit was hit; retrying shortly.", delay)
    if http_status >= 500 or code in _TRANSIENT_CODES:
        # No pause of our own: the outbox's exponential back-off paces these retries.
        return RetryLater(
            f"WhatsApp is temporarily unavailable (HTTP {http_status}).", header_delay
        )
    if error is None:
        if http_status in (401, 403):
            return PermanentFailure(_TOKEN_REASON)
        return PermanentFailure(f"WhatsApp refused the request (HTTP {http_status}).")
    return PermanentFailure(reason_for_code(error))


def _parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (the HTTP-date form is not used by Graph)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
