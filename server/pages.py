"""What the server serves besides the API: the operator console (``/``), the web chat
widget (``/widget.js``), the console's assets (``/static/{name}``), the demo customer page
(``/demo``) and the health check (``/healthz``). Files come from the ``static`` package.

Pages run under a strict Content-Security-Policy; the widget script does not, because it
runs inside the customer's own site.
"""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from channels.webchat.spec import KIND as WEBCHAT
from inbox.domain.ids import ChannelId
from inbox.usecases import Core, list_channels
from server.errors import error_response

__all__ = ["DemoPage", "StaticPage", "healthz", "static_asset"]

#: Browsers must not run anything but our own scripts in the console, nor frame it.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self' ws: wss:; media-src 'self' blob:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)

#: The only file types ``/static/{name}`` serves.
_ASSET_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".html": "text/html",
}


async def healthz(request: web.Request) -> web.Response:
    """``{"status": "ok"}`` while the process serves."""
    return web.json_response({"status": "ok"})


class StaticPage:
    """One file of the ``static`` package at a fixed URL; ``csp`` adds the strict policy."""

    def __init__(self, name: str, content_type: str, *, csp: bool = True) -> None:
        self._name = name
        self._content_type = content_type
        self._csp = csp

    async def handle(self, request: web.Request) -> web.Response:
        return web.Response(
            body=_read_static(self._name),
            content_type=self._content_type,
            charset="utf-8",
            headers=_headers(self._csp),
        )


async def static_asset(request: web.Request) -> web.Response:
    """``/static/{name}``: a file of the ``static`` package by plain name (no path, no dot
    file) and known type; 404 otherwise."""
    name = request.match_info["name"]
    suffix = "." + name.rpartition(".")[2]
    if "/" in name or "\\" in name or name.startswith(".") or suffix not in _ASSET_TYPES:
        raise web.HTTPNotFound()
    try:
        body = _read_static(name)
    except (FileNotFoundError, IsADirectoryError):
        raise web.HTTPNotFound() from None
    return web.Response(
        body=body, content_type=_ASSET_TYPES[suffix], charset="utf-8", headers=_headers(True)
    )


class DemoPage:
    """``/demo[?channel=ID]``: the customer page with the widget on an enabled web chat
    channel -- the one named, else the first; 404 when there is none."""

    def __init__(self, core: Core) -> None:
        self._core = core

    async def handle(self, request: web.Request) -> web.Response:
        wanted = request.query.get("channel")
        channels = [c for c in await list_channels(self._core) if c.kind == WEBCHAT and c.enabled]
        chosen = next((c for c in channels if c.id == ChannelId(wanted or "")), None)
        if chosen is None and not wanted and channels:
            chosen = channels[0]
        if chosen is None:
            return error_response(
                404, "not_found", "no web chat channel; add one: inbox channel add webchat NAME"
            )
        page = _read_static("demo.html").decode().replace("{{CHANNEL_ID}}", chosen.id)
        return web.Response(text=page, content_type="text/html", headers=_headers(False))


def _read_static(name: str) -> bytes:
    return resources.files("static").joinpath(name).read_bytes()


def _headers(csp: bool) -> dict[str, str]:
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if csp:
        headers["Content-Security-Policy"] = _CSP
        headers["Referrer-Policy"] = "no-referrer"
    return headers
