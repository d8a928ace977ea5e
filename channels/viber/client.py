"""A thin client for Viber's REST bot API over aiohttp; its errors are mapped to the
core's channel errors in :mod:`channels.viber.errors`.

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

from channels.viber.errors import check_http, error_for_status, retry_after_seconds
from inbox.domain.channel_errors import PermanentFailure, RetryLater

__all__ = [
    "DEFAULT_API_BASE",
    "MAX_MEDIA_BYTES",
    "Download",
    "ViberClient",
]

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://chatapi.viber.com/pa"
#: Viber caps files at 50 MB (file message, ``size``); a bigger download is refused.
MAX_MEDIA_BYTES = 50 * 1024 * 1024


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
                retry_after = retry_after_seconds(resp.headers.get("Retry-After"))
                check_http(resp.status, retry_after)
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
                check_http(resp.status, retry_after_seconds(resp.headers.get("Retry-After")))
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
