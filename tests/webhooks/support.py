"""A webhook receiver on a real local socket, and a server under test with a clock the
test moves (the worker's backoff is read from it)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from inbox.domain.channels import ChannelKind
from inbox.domain.clock import FixedClock
from inbox.usecases import add_channel
from operator_ws import Argon2PasswordHasher
from server.app import SERVICES, create_app
from tests.e2e.conftest import Live, make_settings

TIMEOUT = 5.0


@dataclass
class Received:
    headers: dict[str, str]
    raw: bytes
    status: int

    @property
    def body(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.raw)
        return parsed


@dataclass
class Receiver:
    """Answers each POST with the next of ``statuses`` (then 200) and keeps what came."""

    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    server: TestServer | None = None
    #: Sent as ``Location`` with a 3xx answer.
    location: str = ""

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/hook"))

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        status = self.statuses.pop(0) if self.statuses else 200
        self.received.append(Received(dict(request.headers), raw, status))
        headers = {"Location": self.location} if 300 <= status < 400 and self.location else {}
        return web.Response(status=status, text="ok" if status < 300 else "nope", headers=headers)

    @property
    def successes(self) -> list[Received]:
        return [r for r in self.received if 200 <= r.status < 300]

    async def wait_for(self, count: int, timeout: float = TIMEOUT) -> None:
        await until(lambda: len(self.received) >= count, timeout)


async def until(check: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    """Wait until ``check()`` holds (the worker posts and records in its own task)."""
    async with asyncio.timeout(timeout):
        while True:
            if check():
                return
            await asyncio.sleep(0.02)


@asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    got = Receiver()
    app = web.Application()
    app.router.add_post("/hook", got.handle)
    got.server = TestServer(app, host="127.0.0.1")
    await got.server.start_server()
    try:
        yield got
    finally:
        await got.server.close()


@asynccontextmanager
async def serving(
    database_url: str,
    tmp_path: Path,
    clock: FixedClock,
    *,
    host: str = "127.0.0.1",
    channel_id: str | None = None,
    **overrides: Any,
) -> AsyncIterator[Live]:
    """The whole server on a real port; a webchat channel is made unless ``channel_id``
    names one (a restarted server on the same database)."""
    settings = make_settings(database_url, tmp_path, webhook_poll_seconds=0.05, **overrides)
    app = await create_app(settings, clock=clock, hasher=Argon2PasswordHasher(fast_for_tests=True))
    server = TestServer(app, host=host)
    await server.start_server()
    if channel_id is None:
        channel = await add_channel(app[SERVICES].core, ChannelKind("webchat"), "Shop", {})
        channel_id = channel.id
    async with aiohttp.ClientSession() as http:
        live = Live(app, server, channel_id, http)
        try:
            yield live
        finally:
            for ws in live._sockets:
                await ws.close()
            await server.close()


async def tick(live: Live, clock: FixedClock, seconds: float) -> None:
    """Move the clock and make the worker look now."""
    clock.advance(seconds)
    live.app[SERVICES].webhook_worker.wake()
