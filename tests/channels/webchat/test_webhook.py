"""``/ws/webchat/{channel_id}`` feeds the core's intake (``ingest_inbound``) like every other
channel: the socket reads its channel once when it opens, ingest reads it again only for the
message that opens a conversation (so a channel disabled meanwhile refuses it), and the
messages after that read no channel row at all."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from channels.webchat import VisitorRegistry, WebchatSocket
from inbox.bus import InProcessEventBus
from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.clock import FixedClock
from inbox.domain.errors import NotFound
from inbox.domain.ids import ChannelId
from inbox.ports import ChannelRepo, Store, Tx
from inbox.usecases import Core, add_channel, set_channel_enabled
from server.channels import CATALOG
from storage import SqlStore

T = TypeVar("T")


class _CountingChannels:
    """A channel repository that counts ``get``; everything else passes through."""

    def __init__(self, inner: ChannelRepo, reads: list[ChannelId]) -> None:
        self._inner = inner
        self._reads = reads

    async def get(self, channel_id: ChannelId) -> Channel | None:
        self._reads.append(channel_id)
        return await self._inner.get(channel_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _CountingTx:
    def __init__(self, inner: Tx, reads: list[ChannelId]) -> None:
        self._inner = inner
        self.channels = _CountingChannels(inner.channels, reads)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class CountingStore:
    """The real store; ``reads`` lists every channel row read, in any transaction."""

    def __init__(self, inner: SqlStore) -> None:
        self._inner = inner
        self.reads: list[ChannelId] = []

    def _wrap(self, work: Callable[[Tx], Awaitable[T]]) -> Callable[[Tx], Awaitable[T]]:
        return lambda tx: work(cast(Tx, _CountingTx(tx, self.reads)))

    async def transact(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        return await self._inner.transact(self._wrap(work))

    async def read(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        return await self._inner.read(self._wrap(work))


@dataclass
class Env:
    server: TestServer
    store: CountingStore
    channel: Channel
    core: Core
    registry: VisitorRegistry


@pytest.fixture
async def env(store: SqlStore) -> AsyncIterator[Env]:
    counting = CountingStore(store)
    core = Core(
        store=cast(Store, counting), bus=InProcessEventBus(), clock=FixedClock(), channels=CATALOG
    )
    channel = await add_channel(core, ChannelKind("webchat"), "Shop", {})
    app = web.Application()
    registry = VisitorRegistry()
    app.router.add_get("/ws/webchat/{channel_id}", WebchatSocket(core, registry).handle)
    server = TestServer(app)
    await server.start_server()
    try:
        yield Env(server, counting, channel, core, registry)
    finally:
        await server.close()


async def _frame(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await ws.receive_str(timeout=5))
    return frame


async def test_messages_take_the_channel_from_the_cache(env: Env) -> None:
    url = env.server.make_url(f"/ws/webchat/{env.channel.id}")
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        await ws.send_json({"type": "hello"})
        assert (await _frame(ws))["type"] == "welcome"
        assert env.store.reads == [env.channel.id]  # the socket, when it opened
        for n in range(3):
            await ws.send_json({"type": "message", "text": f"m{n}", "client_id": f"c{n}"})
            ack = await _frame(ws)
            assert ack["type"] == "ack", ack
            assert ack["message"]["text"] == f"m{n}"
    # The message that opened the conversation took the row from the process's channel
    # cache (docs/scaling.md), as webhooks do: no second read.
    assert env.store.reads == [env.channel.id]


async def test_a_channel_disabled_while_the_socket_is_open_refuses_a_new_conversation(
    env: Env,
) -> None:
    url = env.server.make_url(f"/ws/webchat/{env.channel.id}")
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        await ws.send_json({"type": "hello"})
        assert (await _frame(ws))["type"] == "welcome"
        await set_channel_enabled(env.core, env.channel.id, False)
        await ws.send_json({"type": "message", "text": "anyone?", "client_id": "c1"})
        refused = await _frame(ws)
    assert refused["type"] == "error", refused
    assert refused["code"] == NotFound.code
    assert refused["client_id"] == "c1"


async def test_a_shutdown_closes_visitor_sockets_as_going_away(env: Env) -> None:
    """The server does not wait for browsers to hang up; the widget reconnects."""
    url = env.server.make_url(f"/ws/webchat/{env.channel.id}")
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        await ws.send_json({"type": "hello"})
        assert (await _frame(ws))["type"] == "welcome"
        await env.registry.close_all()
        closing = await ws.receive(timeout=5)
        assert closing.type is aiohttp.WSMsgType.CLOSE
        assert closing.data == aiohttp.WSCloseCode.GOING_AWAY
