"""A thin, typed client for the VK API over vk_api 11.x (channel-contracts.md §2.3).

vk_api is synchronous (requests, a lock, ``time.sleep`` for its rate limit), so every
public method here is ``async`` and runs the library in a worker thread of the executor it
is given (``loop.run_in_executor``): nothing blocks the event loop. The adapter owns that
executor, one bounded ``ThreadPoolExecutor`` shared by every VK channel, so VK's calls never
take threads from the loop's default executor that everything else uses.

Pointing it elsewhere: vk_api posts to a hard-coded ``https://api.vk.ru/method/...``
(``https://api.vk.com`` before 11.10.1) and has no base-URL option. We hand it a
``requests.Session`` whose transport adapter, mounted on both hosts, rewrites the URL to
the channel's ``api_base`` (a proxy, or a local fake in tests). The same adapter puts a
timeout on every request, which vk_api itself never sets.

vk_api's own retries: error 6 ("too many requests per second") is retried by the library
after sleeping 0.5 s, again and again, inside the thread (unbounded while VK keeps
answering 6). We replace that handler so error 6 raises at once and becomes
:class:`RetryLater`: the delivery worker's back-off owns retrying, and a thread is never
parked for long. vk_api's pacing lock (``VkApiGroup.RPS_DELAY`` = 1/20 s, VK's limit for
community tokens) is kept: it sleeps at most 50 ms between calls.

Secrets: the token travels in the POST body (vk_api puts ``access_token`` there), never in
a URL; nothing here logs a request, its parameters or a message text.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from typing import Any, TypeVar

import requests

# vk_api and its config package ship no type hints; they are used here and in errors.py.
import vk_api  # type: ignore[import-untyped]
from jconfig.memory import MemoryConfig  # type: ignore[import-untyped]
from requests.adapters import HTTPAdapter

from channels.vk.errors import from_exception, from_http_response, from_transport_error
from channels.vk.options import API_VERSION, DEFAULT_API_BASE
from inbox.domain.channel_errors import PermanentFailure, RetryLater

__all__ = ["DEFAULT_TIMEOUT", "VK_API_HOSTS", "ApiBaseAdapter", "VkClient", "build_session"]

logger = logging.getLogger(__name__)

#: Hosts vk_api may post to (11.10.1 and earlier releases).
VK_API_HOSTS = ("https://api.vk.ru", "https://api.vk.com")
#: (connect, read) seconds. VK answers API calls in well under a second; uploads of a
#: 20 MiB file over a slow uplink take longer, so the read timeout is generous.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 30.0)
_CHUNK = 64 * 1024

_T = TypeVar("_T")


class ApiBaseAdapter(HTTPAdapter):
    """A requests transport that sends ``https://api.vk.ru/<path>`` to ``<api_base>/<path>``
    (when ``api_base`` is given) and applies a default timeout to every request."""

    def __init__(self, api_base: str | None, timeout: tuple[float, float]) -> None:
        super().__init__()
        self._api_base = api_base.rstrip("/") if api_base else None
        self._timeout = timeout

    @property
    def api_base(self) -> str | None:
        """Where VK's API hosts are sent; ``None``: left as they are."""
        return self._api_base

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        if self._api_base is not None and request.url:
            for host in VK_API_HOSTS:
                if request.url.startswith(host + "/"):
                    request.url = self._api_base + request.url[len(host) :]
                    break
        return super().send(
            request,
            stream=stream,
            timeout=timeout if timeout is not None else self._timeout,
            verify=verify,
            cert=cert,
            proxies=dict(proxies) if proxies is not None else None,
        )


def build_session(
    api_base: str = DEFAULT_API_BASE, timeout: tuple[float, float] = DEFAULT_TIMEOUT
) -> requests.Session:
    """A session for vk_api: VK's API hosts go to ``api_base``; everything (upload
    servers, file downloads) gets ``timeout``."""
    session = requests.Session()
    plain = ApiBaseAdapter(None, timeout)
    session.mount("http://", plain)
    session.mount("https://", plain)
    rewrite = None if api_base.rstrip("/") == DEFAULT_API_BASE else api_base
    for host in VK_API_HOSTS:
        session.mount(host + "/", ApiBaseAdapter(rewrite, timeout))
    return session


def _no_retry(error: Any) -> None:
    """Replaces vk_api's error-6 handler: returning ``None`` makes the library raise."""
    return None


class VkClient:
    """One community token's view of the API. Thread-safe (vk_api serialises its calls
    with a lock); share one per channel. ``executor`` runs the blocking calls (the
    adapter's bounded pool); the client never shuts it down. Raises only
    :class:`RetryLater` (rate limits, 5xx, timeouts, connection failures) and
    :class:`PermanentFailure` (everything a retry cannot fix), each with a sentence for
    the operator."""

    def __init__(
        self,
        *,
        token: str,
        executor: Executor,
        api_base: str = DEFAULT_API_BASE,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self._executor = executor
        self._session = session if session is not None else build_session(api_base, timeout)
        self._timeout = timeout
        self._vk = vk_api.VkApiGroup(
            token=token,
            session=self._session,
            api_version=API_VERSION,
            config=MemoryConfig,  # the default writes vk_config.v2.json into the cwd
        )
        self._vk.error_handlers[vk_api.TOO_MANY_RPS_CODE] = _no_retry

    def __repr__(self) -> str:
        return "VkClient(...)"  # never the token

    async def _in_thread(self, func: Callable[..., _T], *args: Any) -> _T:
        """``func(*args)`` in the executor, with the caller's context (as
        ``asyncio.to_thread`` does)."""
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        return await loop.run_in_executor(
            self._executor, functools.partial(context.run, func, *args)
        )

    # ------------------------------------------------------------------ API methods

    async def call(self, method: str, params: Mapping[str, str | int] | None = None) -> Any:
        """``method`` with ``params`` (form fields; ``v`` and ``access_token`` are added);
        returns the ``response`` member of VK's answer."""
        values = {k: str(v) for k, v in (params or {}).items()}
        return await self._in_thread(self._call, method, values)

    def _call(self, method: str, values: dict[str, str]) -> Any:
        try:
            return self._vk.method(method, values)
        except (vk_api.VkApiError, requests.RequestException, ValueError) as exc:
            raise from_exception(exc) from exc

    # ------------------------------------------------------------------ files

    async def upload(
        self, url: str, field: str, filename: str, data: bytes, mime_type: str
    ) -> Mapping[str, Any]:
        """POST a file as multipart ``field`` to an upload server URL that VK returned
        (``photos.getMessagesUploadServer`` / ``docs.getMessagesUploadServer``); returns
        the server's JSON, to be passed to the matching ``save`` method."""
        return await self._in_thread(self._upload, url, field, filename, data, mime_type)

    def _upload(
        self, url: str, field: str, filename: str, data: bytes, mime_type: str
    ) -> Mapping[str, Any]:
        _check_url(url)
        try:
            response = self._session.post(
                url, files={field: (filename, data, mime_type)}, timeout=self._timeout
            )
            if response.status_code != 200:
                raise from_http_response(response)
            body = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise from_transport_error(exc) from exc
        if not isinstance(body, dict):
            raise RetryLater("VK's upload server answered in an unknown shape.")
        if body.get("error"):
            # e.g. {"error": "ERR_UPLOAD_BAD_IMAGE_SIZE: ..."}; nothing of ours in it.
            raise PermanentFailure(f"VK did not accept the file: {str(body['error'])[:200]}")
        return body

    async def download(self, url: str, *, max_bytes: int) -> tuple[bytes, str | None]:
        """GET a file VK linked to (a photo size, a document, a voice message). Returns the
        bytes and the Content-Type header; refuses files over ``max_bytes``."""
        return await self._in_thread(self._download, url, max_bytes)

    def _download(self, url: str, max_bytes: int) -> tuple[bytes, str | None]:
        _check_url(url)
        try:
            with self._session.get(url, stream=True, timeout=self._timeout) as response:
                if response.status_code in (403, 404, 410):
                    raise PermanentFailure("The file is no longer available at VK.")
                if response.status_code != 200:
                    raise from_http_response(response)
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_content(_CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise PermanentFailure(
                            f"The file is larger than {max_bytes // (1024 * 1024)} MiB."
                        )
                    chunks.append(chunk)
                return b"".join(chunks), response.headers.get("Content-Type")
        except (requests.RequestException, ValueError) as exc:
            raise from_transport_error(exc) from exc

    def close(self) -> None:
        self._session.close()


def _check_url(url: str) -> None:
    if not url.startswith(("https://", "http://")):
        raise PermanentFailure("VK gave a file link that is not http(s).")
