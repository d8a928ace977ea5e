"""VK's errors → the core's channel errors, with a sentence the operator can act on.

Codes from VKCOM/vk-api-schema ``errors.json`` (channel-contracts.md §2.2). The error
envelope is ``{"error": {"error_code", "error_msg", "request_params"}}`` with HTTP 200;
``request_params`` echo what we sent (the message text among them), so they are never
read, logged or shown.

Every mapping of a VK failure lives here: API error codes (:func:`from_api_error`), one
recipient's error inside ``messages.send``'s answer (:func:`from_send_error`), HTTP
statuses (:func:`from_http_status`, :func:`from_http_response`), and the exceptions vk_api
and requests raise (:func:`from_exception`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

# vk_api ships no type hints; its exception classes are read here and in client.py only.
import vk_api  # type: ignore[import-untyped]

from inbox.domain.channel_errors import ChannelError, PermanentFailure, RetryLater

__all__ = [
    "FLOOD_RETRY_SECONDS",
    "RATE_LIMIT_RETRY_SECONDS",
    "from_api_error",
    "from_exception",
    "from_http_response",
    "from_http_status",
    "from_send_error",
    "from_transport_error",
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


def from_send_error(error: Mapping[str, Any]) -> ChannelError:
    """The ``error`` of one item of ``messages.send``'s answer with ``peer_ids``
    (``{"code", "description"}``; a proxy may use the envelope's ``error_code``/
    ``error_msg`` names)."""
    code = error.get("code", error.get("error_code"))
    text = error.get("description", error.get("error_msg", ""))
    return from_api_error(code if isinstance(code, int) else 0, str(text))


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def from_http_response(response: requests.Response) -> ChannelError:
    """:func:`from_http_status` for a response, with its ``Retry-After`` header."""
    return from_http_status(response.status_code, _retry_after(response))


def from_transport_error(exc: requests.RequestException | ValueError) -> RetryLater:
    """A failure below VK's API (network, HTTP, a body that is not JSON): all transient."""
    if isinstance(exc, requests.Timeout):
        return RetryLater("VK did not answer in time.")
    if isinstance(exc, requests.ConnectionError):
        return RetryLater("The connection to VK failed or was reset.")
    if isinstance(exc, ValueError):  # requests' JSONDecodeError is one too
        return RetryLater("VK answered with something that is not JSON.")
    return RetryLater(f"The request to VK failed ({type(exc).__name__}).")


def from_exception(exc: Exception) -> ChannelError:
    """What a vk_api method call raised (its own errors, requests' errors, a body that is
    not JSON) as a channel error."""
    if isinstance(exc, vk_api.Captcha):
        return from_api_error(14, "captcha needed")
    if isinstance(exc, vk_api.ApiError):
        error = exc.error if isinstance(exc.error, dict) else {}
        return from_api_error(int(exc.code), str(error.get("error_msg", "")))
    if isinstance(exc, vk_api.ApiHttpError):
        return from_http_response(exc.response)
    if isinstance(exc, vk_api.VkApiError):
        return PermanentFailure(f"VK refused the request ({type(exc).__name__}).")
    if isinstance(exc, (requests.RequestException, ValueError)):
        return from_transport_error(exc)
    return PermanentFailure(f"The request to VK failed ({type(exc).__name__}).")
