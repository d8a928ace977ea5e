"""VK's errors → the core's channel errors, with a sentence the operator can act on.

Codes from VKCOM/vk-api-schema ``errors.json`` (channel-contracts.md §2.2). The error
envelope is ``{"error": {"error_code", "error_msg", "request_params"}}`` with HTTP 200;
``request_params`` echo what we sent (the message text among them), so they are never
read, logged or shown.
"""

from __future__ import annotations

from collections.abc import Mapping

from inbox.domain.channel_errors import ChannelError, PermanentFailure, RetryLater

__all__ = [
    "FLOOD_RETRY_SECONDS",
    "RATE_LIMIT_RETRY_SECONDS",
    "from_api_error",
    "from_http_status",
]

#: Error 6 ("too many requests per second"): a community may make 20 calls a second, so
#: one second is enough (VK gives no retry-after).
RATE_LIMIT_RETRY_SECONDS = 1.0
#: Error 9 ("flood control": too many identical messages): VK does not say for how long;
#: bots report minutes, so the first retry waits two.
FLOOD_RETRY_SECONDS = 120.0

_RETRY: Mapping[int, tuple[str, float | None]] = {
    1: ("VK had an unknown error; retrying.", 5.0),
    6: ("VK rate limit: too many requests per second.", RATE_LIMIT_RETRY_SECONDS),
    9: ("VK flood control: too many similar messages; retrying later.", FLOOD_RETRY_SECONDS),
    10: ("VK had an internal error; retrying.", 5.0),
    14: ("VK asks for a captcha; retrying later.", 60.0),
    29: ("VK's daily limit for this method is reached; retrying later.", 3600.0),
}

_PERMANENT: Mapping[int, str] = {
    5: "The community token is invalid or expired.",
    7: "The community token lacks the right to send messages (enable “messages” access).",
    27: "This needs a user token; a community token cannot do it.",
    900: "The customer is on the community's blacklist, or has blocked the community.",
    901: "The customer has not allowed messages from the community.",
    902: "The customer's privacy settings do not allow messages from the community.",
    911: "VK rejected the buttons of this message.",
    912: "This keyboard feature needs the community's bot abilities turned on.",
    913: "Too many forwarded messages.",
    914: "The message is too long for VK.",
    917: "The community has no access to this chat.",
    945: "The chat is disabled.",
    946: "The chat is not supported.",
    950: "The community can no longer answer this message.",
}


def from_api_error(code: int, message: str) -> ChannelError:
    """One VK API error. An unknown code is permanent, with VK's own text: a request VK
    refused for a reason we do not know would most likely be refused again."""
    if code in _RETRY:
        reason, retry_after = _RETRY[code]
        return RetryLater(reason, retry_after)
    vk_text = message.strip().rstrip(".")
    if code == 15:  # "Access denied: <what>": VK's text says what was denied
        return PermanentFailure(f"VK denied access: {vk_text or 'no reason given'}.")
    if code in _PERMANENT:
        return PermanentFailure(_PERMANENT[code])
    return PermanentFailure(f"VK rejected the request: {vk_text or 'no reason given'} ({code}).")


def from_http_status(status: int, retry_after: float | None = None) -> ChannelError:
    """An HTTP-level failure (VK answers its API errors with 200; these come from VK's
    front ends or a proxy named by ``api_base``)."""
    if status == 429:
        return RetryLater("VK is rate limiting the server (HTTP 429).", retry_after or 1.0)
    if status >= 500:
        return RetryLater(f"VK is not available right now (HTTP {status}).", retry_after)
    if status in (401, 403):
        return PermanentFailure(f"VK refused the request (HTTP {status}); check the token.")
    return PermanentFailure(f"VK answered HTTP {status}; check the api_base option.")
