"""The baseline of the HTTP benchmarks: a bare aiohttp handler answering 200 with an empty
body to every POST, on the same host, in its own process like the real server, with the
same ``web.run_app`` defaults (access log included) -- what the HTTP stack alone costs.

    python -m bench.bare_server PORT
"""

from __future__ import annotations

import sys

from aiohttp import web


async def _ok(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(status=200)


async def _health(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def main() -> None:
    app = web.Application()
    app.router.add_get("/healthz", _health)
    app.router.add_post("/{tail:.*}", _ok)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)


if __name__ == "__main__":
    main()
