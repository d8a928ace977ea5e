"""The fan-out benchmark's baseline: a bare aiohttp WebSocket server that keeps every
socket connected to ``/ws`` and, on ``POST /trigger``, unicasts the request body as one
text frame to each of them in turn -- the same socket settings as the operator socket
(no compression), and nothing else: no storage, no events, no visibility checks.

    python -m bench.fanout_bare PORT
"""

from __future__ import annotations

import resource
import sys

from aiohttp import web

_SOCKETS = web.AppKey("sockets", set[web.WebSocketResponse])


async def _health(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _ws(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(compress=False)
    await ws.prepare(request)
    sockets = request.app[_SOCKETS]
    sockets.add(ws)
    await ws.send_str('{"type":"auth.ok"}')
    try:
        async for _msg in ws:
            pass
    finally:
        sockets.discard(ws)
    return ws


async def _trigger(request: web.Request) -> web.Response:
    frame = await request.text()
    sockets: set[web.WebSocketResponse] = request.app[_SOCKETS]
    for ws in tuple(sockets):
        await ws.send_str(frame)
    return web.Response(text=str(len(sockets)))


def main() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    app = web.Application()
    app[_SOCKETS] = set()
    app.router.add_get("/healthz", _health)
    app.router.add_get("/ws", _ws)
    app.router.add_post("/trigger", _trigger)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
