"""The webhook worker's HTTP client: aiohttp, with a timeout, never following redirects
(a 3xx is a failed attempt: following one could carry a signed event to another host)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from urllib.parse import urlsplit

import aiohttp

from webhooks.ports import PostResult

__all__ = ["AiohttpPoster"]

#: What is read of a receiver's answer (and dropped): enough to reuse the connection.
_DRAIN_BYTES = 64 * 1024


class AiohttpPoster:
    """Implements :class:`webhooks.ports.Poster`. The session is made on first use (on the
    running loop) and closed by :meth:`close`."""

    def __init__(self, *, timeout_seconds: float = 10.0, user_agent: str = "omni-inbox") -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> PostResult:
        if urlsplit(url).scheme.lower() not in ("http", "https"):
            return PostResult(None, "the URL is not http or https")
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        sent = {"Content-Type": "application/json", "User-Agent": self._user_agent, **headers}
        try:
            async with self._session.post(
                url, data=body, headers=sent, allow_redirects=False
            ) as response:
                await response.content.read(_DRAIN_BYTES)
                if 300 <= response.status < 400:
                    return PostResult(response.status, "redirect not followed")
                if response.status >= 400:
                    return PostResult(response.status, f"HTTP {response.status}")
                return PostResult(response.status)
        except TimeoutError:
            return PostResult(None, "timed out")
        except aiohttp.ClientError as exc:
            # The exception's class, not its text: that may repeat the URL.
            return PostResult(None, f"connection failed: {type(exc).__name__}")
        except asyncio.CancelledError:
            raise
        except (OSError, ValueError) as exc:
            return PostResult(None, f"request failed: {type(exc).__name__}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
