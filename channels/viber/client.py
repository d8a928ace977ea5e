"""A thin client for Viber's REST bot API over aiohttp, and the mapping of its errors to
the core's channel errors.

Every call is a ``POST {api_base}/{method}`` with a JSON body and the header
``X-Viber-Auth-Token``; the answer is JSON with ``status`` (0 = ok) and ``status_message``,
with HTTP 200 even for errors (docs/channels/viber.md, "What we relied on"). Proxies and
outages answer with HTTP errors instead, which are mapped too.

The token travels in a header only (never in a URL), and nothing here logs tokens,
request bodies or media URLs: at DEBUG the method name and the outcome, nothing more.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from inbox.domain.channel_errors import PermanentFailure, RetryLater

__all__ = [
    "DEFAULT_API_BASE",
    "DEFAULT_RATE_LIMIT_SECONDS",
    "MAX_MEDIA_BYTES",
    "Download",
    "ViberClient",
    "error_for_status",
]

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://chatapi.viber.com/pa"
#: Viber's "tooManyRequests" (status 12) names no wait; the delivery worker waits at least
#: this long before the next attempt (and backs off further on repeats).
DEFAULT_RATE_LIMIT_SECONDS = 2.0
#: Viber caps files at 50 MB (file message, ``size``); a bigger download is refused.
MAX_MEDIA_BYTES = 50 * 1024 * 1024

#: Status codes of the REST API ("Error codes" table) that a retry cannot fix, with the
#: sentence the operator sees. Anything not listed and not rate limiting is permanent too,
#: with Viber's own ``status_message``.
_PERMANENT: Mapping[int, str] = {
    1: (
        "Viber could not use the webhook URL: it must be public HTTPS with a trusted "
        "certificate, and the server must be running and answering there."
    ),
    2: "Viber refused the bot token; check the channel's token.",
    3: "Viber refused the message as malformed.",
    4: "Viber refused the message: some required data is missing.",
    5: "The customer's Viber account no longer exists.",
    6: "The customer has not subscribed to the bot or has unsubscribed.",
    7: "The Viber bot account is blocked.",
    8: "The Viber bot account was not found for this token.",
    9: "The Viber bot account is suspended.",
    10: "No webhook is set for the Viber bot; set the channel up again.",
    11: "The customer's Viber app does not support bot messages.",
    13: "The customer's Viber app is too old for this message.",
    14: "The message uses features the customer's Viber app does not support.",
    15: "The Viber bot account is not authorized to send messages.",
}
#: "tooManyRequests": rate control breach.
_RATE_LIMITED = 12


def error_for_status(
    status: int, status_message: str, retry_after: float | None = None
) -> RetryLater | PermanentFailure:
    """The core's channel error for a non-zero Viber ``status``."""
    if status == _RATE_LIMITED:
        return RetryLater(
            "Viber is rate limiting the bot; will try again.",
            retry_after if retry_after is not None else DEFAULT_RATE_LIMIT_SECONDS,
        )
    reason = _PERMANENT.get(status)
    if reason is None:
        detail = " ".join(status_message.split())[:200] or "no reason given"
        reason = f"Viber refused the request (status {status}: {detail})."
    return PermanentFailure(reason)


@dataclass(frozen=True, slots=True)
class Download:
    data: bytes
    content_type: str | None


class ViberClient:
    """One bot token against one API base. Does network I/O; raises ``RetryLater`` for
    transient failures (rate limit, 5xx, timeouts, broken connections) and
    ``PermanentFailure`` for the rest.

    ``session`` is injected and owned by the caller (one per adapter, closed with it).
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        token: str,
        *,
        api_base: str = DEFAULT_API_BASE,
        timeout: float = 15.0,
    ) -> None:
        self._session = session
        self._token = token
        self._base = api_base.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=min(timeout, 10.0))

    def __repr__(self) -> str:  # never the token
        return f"ViberClient(api_base={self._base!r})"

    async def call(self, method: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST one API method; returns the answer when ``status`` is 0."""
        url = f"{self._base}/{method}"
        headers = {"X-Viber-Auth-Token": self._token}
        try:
            async with self._session.post(
                url, json=dict(body), headers=headers, timeout=self._timeout
            ) as resp:
                retry_after = _retry_after(resp.headers.get("Retry-After"))
                _check_http(resp.status, retry_after)
                try:
                    answer = await resp.json(content_type=None)
                except ValueError:
                    answer = None
        except TimeoutError as exc:
            raise RetryLater("Viber did not answer in time.") from exc
        except aiohttp.ClientError as exc:
            raise RetryLater("Could not reach Viber (connection failed).") from exc
        if not isinstance(answer, dict):
            raise RetryLater("Viber sent an unreadable answer.")
        status = answer.get("status")
        if status == 0:
            logger.debug("viber %s ok", method)
            return answer
        code = status if isinstance(status, int) and not isinstance(status, bool) else -1
        logger.debug("viber %s failed with status %s", method, code)
        raise error_for_status(code, str(answer.get("status_message") or ""), retry_after)

    async def send_message(self, body: Mapping[str, Any]) -> str:
        """Returns the new message's ``message_token`` as text."""
        answer = await self.call("send_message", body)
        token = answer.get("message_token")
        if isinstance(token, bool) or not isinstance(token, int | str) or not str(token):
            # Accepted, but we cannot track it: still delivered, so not an error.
            logger.warning("viber send_message answered without a message_token")
            return ""
        return str(token)

    async def get_account_info(self) -> dict[str, Any]:
        return await self.call("get_account_info", {})

    async def set_webhook(self, url: str, event_types: list[str]) -> dict[str, Any]:
        body = {"url": url, "event_types": event_types, "send_name": True, "send_photo": False}
        return await self.call("set_webhook", body)

    async def download(self, media_url: str, *, max_bytes: int = MAX_MEDIA_BYTES) -> Download:
        """GET a media URL from a callback. Viber's media links are public and expire; the
        auth token is not sent (it is not needed, and the host is not the API's). When the
        API base is not Viber's own (a proxy or a test fake), the link is fetched from the
        API base's host instead, path unchanged."""
        url = self._media_url(media_url)
        try:
            async with self._session.get(url, timeout=self._timeout) as resp:
                if resp.status in (403, 404, 410):
                    raise PermanentFailure("The file is no longer available from Viber.")
                _check_http(resp.status, _retry_after(resp.headers.get("Retry-After")))
                if (resp.content_length or 0) > max_bytes:
                    raise PermanentFailure("The file is larger than 50 MB.")
                data = bytearray()
                async for chunk in resp.content.iter_chunked(64 * 1024):
                    data += chunk
                    if len(data) > max_bytes:
                        raise PermanentFailure("The file is larger than 50 MB.")
                return Download(bytes(data), resp.headers.get("Content-Type"))
        except TimeoutError as exc:
            raise RetryLater("Viber did not send the file in time.") from exc
        except aiohttp.ClientError as exc:
            raise RetryLater("Could not download the file from Viber.") from exc

    def _media_url(self, media_url: str) -> str:
        parts = urlsplit(media_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise PermanentFailure("This Viber file has no download link.")
        if self._base == DEFAULT_API_BASE:
            return media_url
        base = urlsplit(self._base)
        return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))


def _check_http(status: int, retry_after: float | None) -> None:
    if status == 429:
        raise RetryLater("Viber is rate limiting the bot; will try again.", retry_after)
    if status >= 500:
        raise RetryLater(f"Viber is unavailable (HTTP {status}).", retry_after)
    if status in (401, 403):
        raise PermanentFailure("Viber refused the bot token; check the channel's token.")
    if status >= 400:
        raise PermanentFailure(f"Viber refused the request (HTTP {status}).")


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds; ``None`` when absent or not a number (Viber documents no
    such header; proxies in front of it may send one)."""
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None
    return None if seconds is None or seconds != seconds else min(max(0.0, seconds), 3600.0)
