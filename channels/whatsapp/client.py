"""A thin client for the WhatsApp Cloud API (Meta Graph API) on plain aiohttp.

The base URL includes the Graph API version (``https://graph.facebook.com/v21.0``); a
channel's ``api_base`` option replaces it (a proxy, a newer version, a test fake). The
token travels in the ``Authorization`` header, never in a URL, and nothing here logs a URL,
a header or a body.

Every failure leaves as :class:`RetryLater` (rate limits, Meta's 5xx, timeouts, dropped
connections) or :class:`PermanentFailure` (bad token, bad request, the 24-hour window, …),
mapped in :mod:`channels.whatsapp.errors`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from channels.whatsapp.errors import error_from_response
from inbox.domain.channel_errors import PermanentFailure, RetryLater

__all__ = [
    "API_TIMEOUT",
    "DEFAULT_API_BASE",
    "DOWNLOAD_LIMIT",
    "MediaInfo",
    "WhatsAppClient",
    "new_session",
]

DEFAULT_API_BASE = "https://graph.facebook.com/v21.0"
#: The largest inbound file we download: WhatsApp's own ceiling is 100 MB (documents).
DOWNLOAD_LIMIT = 100 * 1024 * 1024
#: Meta asks for an answer within seconds; a send that takes longer than this is retried.
API_TIMEOUT = aiohttp.ClientTimeout(total=30, connect=10)
#: Uploading or downloading up to 100 MB takes longer than a JSON call.
FILE_TIMEOUT = aiohttp.ClientTimeout(total=300, connect=10, sock_read=60)


@dataclass(frozen=True, slots=True)
class MediaInfo:
    url: str
    mime_type: str
    file_size: int | None = None


def new_session() -> aiohttp.ClientSession:
    """A session for the Graph API; call it inside the running loop, close it when done.
    Proxy variables from the environment are ignored: ``api_base`` says where to go."""
    return aiohttp.ClientSession(timeout=API_TIMEOUT)


class WhatsAppClient:
    """One channel's view of the Graph API. Does network I/O; holds no state besides its
    configuration; the session belongs to the caller."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        token: str,
        api_base: str = DEFAULT_API_BASE,
        timeout: aiohttp.ClientTimeout = API_TIMEOUT,
    ) -> None:
        self._session = session
        self._token = token
        self._base = (api_base or DEFAULT_API_BASE).rstrip("/")
        self._limits = timeout

    @property
    def api_base(self) -> str:
        return self._base

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    async def send_message(self, phone_number_id: str, payload: Mapping[str, Any]) -> str:
        """``POST /{phone_number_id}/messages``; returns the new message's ``wamid``."""
        body = await self._json("POST", f"{phone_number_id}/messages", json_body=payload)
        messages = body.get("messages")
        if isinstance(messages, list) and messages and isinstance(messages[0], Mapping):
            message_id = messages[0].get("id")
            if isinstance(message_id, str) and message_id:
                return message_id
        raise RetryLater("WhatsApp accepted the request but returned no message id.")

    async def upload_media(
        self, phone_number_id: str, data: bytes, *, mime_type: str, filename: str
    ) -> str:
        """``POST /{phone_number_id}/media`` (multipart: ``messaging_product``, ``type``,
        ``file``); returns the media id to send by."""
        form = aiohttp.FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", mime_type)
        form.add_field("file", data, filename=filename, content_type=mime_type)
        body = await self._json("POST", f"{phone_number_id}/media", form=form, limits=FILE_TIMEOUT)
        media_id = body.get("id")
        if isinstance(media_id, str | int) and str(media_id):
            return str(media_id)
        raise RetryLater("WhatsApp accepted the upload but returned no media id.")

    async def media_info(self, media_id: str) -> MediaInfo:
        """``GET /{media_id}``: a short-lived download URL and the file's type and size."""
        body = await self._json("GET", media_id)
        url = body.get("url")
        if not isinstance(url, str) or not url:
            raise PermanentFailure("WhatsApp has no download link for this file.")
        size = body.get("file_size")
        return MediaInfo(
            url=url,
            mime_type=str(body.get("mime_type") or "application/octet-stream"),
            file_size=int(size) if isinstance(size, int | str) and str(size).isdigit() else None,
        )

    async def download(self, url: str, *, limit: int = DOWNLOAD_LIMIT) -> tuple[bytes, str | None]:
        """GET a media URL with the bearer token (Meta requires it); returns the bytes and
        the response's content type. Behind a non-default ``api_base`` the URL's scheme
        and host are replaced by the base's, so the proxy (or a fake) serves the file."""
        target = self._rewrite(url)
        async with self._call("GET", target, limits=FILE_TIMEOUT) as response:
            if response.status >= 400:
                raise await self._error(response)
            chunks: list[bytes] = []
            total = 0
            async for chunk in response.content.iter_chunked(64 * 1024):
                total += len(chunk)
                if total > limit:
                    raise PermanentFailure("The file is larger than WhatsApp's 100 MB limit.")
                chunks.append(chunk)
            return b"".join(chunks), response.headers.get("Content-Type")

    async def phone_number(
        self, phone_number_id: str, *, limits: aiohttp.ClientTimeout | None = None
    ) -> Mapping[str, Any]:
        """``GET /{phone_number_id}``: the number's display form and verified name (checks
        that the token may use this number)."""
        return await self._json(
            "GET",
            phone_number_id,
            params={"fields": "display_phone_number,verified_name"},
            limits=limits,
        )

    # ----------------------------------------------------------------------- plumbing

    def _rewrite(self, url: str) -> str:
        if self._base == DEFAULT_API_BASE:
            return url
        base = urlsplit(self._base)
        parts = urlsplit(url)
        return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))

    @asynccontextmanager
    async def _call(
        self,
        method: str,
        url: str,
        *,
        limits: aiohttp.ClientTimeout | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        try:
            async with self._session.request(
                method, url, headers=self._headers(), timeout=limits or self._limits, **kwargs
            ) as response:
                yield response
        except (PermanentFailure, RetryLater):
            raise
        except TimeoutError as exc:
            raise RetryLater("WhatsApp did not answer in time.") from exc
        except aiohttp.InvalidURL as exc:
            raise PermanentFailure("The channel's api_base is not a valid URL.") from exc
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            raise RetryLater("The connection to WhatsApp failed.") from exc

    async def _json(
        self,
        method: str,
        path: str,
        *,
        json_body: Mapping[str, Any] | None = None,
        form: aiohttp.FormData | None = None,
        params: Mapping[str, str] | None = None,
        limits: aiohttp.ClientTimeout | None = None,
    ) -> Mapping[str, Any]:
        kwargs: dict[str, Any] = {}
        if json_body is not None:
            kwargs["json"] = json_body
        if form is not None:
            kwargs["data"] = form
        if params is not None:
            kwargs["params"] = params
        async with self._call(method, f"{self._base}/{path}", limits=limits, **kwargs) as response:
            if response.status >= 400:
                raise await self._error(response)
            try:
                body = await response.json(content_type=None)
            except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
                raise RetryLater("WhatsApp answered with something that is not JSON.") from exc
        if not isinstance(body, Mapping):
            raise RetryLater("WhatsApp answered with something that is not a JSON object.")
        return body

    @staticmethod
    async def _error(response: aiohttp.ClientResponse) -> Exception:
        try:
            body: Any = await response.json(content_type=None)
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
            body = None
        return error_from_response(response.status, body, response.headers.get("Retry-After"))
