"""vk_api's blocking calls share one bounded thread pool, which the adapter owns and closes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from aiohttp import web
from aiohttp.test_utils import TestServer
from requests.adapters import BaseAdapter

from channels.vk import create_adapter
from channels.vk.adapter import API_THREADS, VkAdapter
from channels.vk.client import VkClient
from inbox.domain.channels import Channel
from inbox.domain.clock import FixedClock
from inbox.domain.ids import ChannelId
from inbox.ports import AdapterDeps
from tests.channels.vk.conftest import GROUP_ID, make_channel
from tests.support import MemoryMedia

#: How long a test waits for something that should happen at once.
_PATIENCE = 5.0


class BlockingTransport(BaseAdapter):
    """A requests transport that holds every request until :attr:`release` is set and
    counts how many are held at once (from the pool's threads)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.started = 0
        self.threads: set[str] = set()

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        with self._lock:
            self.running += 1
            self.started += 1
            self.most = max(self.most, self.running)
            self.threads.add(threading.current_thread().name)
        try:
            assert self.release.wait(_PATIENCE), "the test never released the transport"
        finally:
            with self._lock:
                self.running -= 1
        response = requests.Response()
        response.status_code = 200
        response._content = b'{"response": 1}'
        response.headers["Content-Type"] = "application/json"
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


async def _until(condition: Any) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _PATIENCE
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_at_most_max_workers_calls_run_at_once() -> None:
    # vk_api serialises the calls of one client (its rate-limit lock), so five clients
    # (five channels) share the pool, as they do in the adapter.
    transport = BlockingTransport()
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="vk-api")
    clients = []
    for n in range(5):
        session = requests.Session()
        session.mount("https://", transport)
        clients.append(VkClient(token=f"t{n}", executor=pool, session=session))
    try:
        calls = [asyncio.ensure_future(c.call("groups.getById")) for c in clients]
        await _until(lambda: transport.running == 2)
        await asyncio.sleep(0.2)  # room for a third call to start, if the pool allowed it
        assert transport.most == 2
        assert transport.started == 2
        assert not any(call.done() for call in calls)
        transport.release.set()
        assert await asyncio.wait_for(asyncio.gather(*calls), _PATIENCE) == [1] * 5
        assert transport.started == 5
        assert transport.most == 2
        assert {name.rsplit("_", 1)[0] for name in transport.threads} == {"vk-api"}
    finally:
        transport.release.set()
        for c in clients:
            c.close()
        pool.shutdown(wait=True)


class SlowVk:
    """A VK API that answers ``groups.getById`` only once released, counting the calls
    held at once."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.running = 0
        self.most = 0
        app = web.Application()
        app.router.add_post("/method/{name}", self._method)
        self.server = TestServer(app, host="127.0.0.1")

    async def _method(self, request: web.Request) -> web.Response:
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await self.release.wait()
        finally:
            self.running -= 1
        return web.json_response({"response": {"groups": [{"id": GROUP_ID}]}})

    @property
    def base_url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")


def _channels(base_url: str, count: int) -> list[Channel]:
    made = []
    for n in range(count):
        channel = make_channel(api_base=base_url)
        made.append(
            Channel(
                id=ChannelId(f"ch-vk-{n}"),
                kind=channel.kind,
                name=channel.name,
                created_at=channel.created_at,
                options=channel.options,
            )
        )
    return made


def _vk_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("vk-api_")]


def test_the_default_pool_size() -> None:
    assert API_THREADS == 8


async def test_the_adapter_bounds_every_channel_with_one_pool() -> None:
    vk = SlowVk()
    await vk.server.start_server()
    adapter = VkAdapter(AdapterDeps(media=MemoryMedia(), clock=FixedClock()), api_threads=2)
    try:
        setups = [asyncio.ensure_future(adapter.setup(c, None)) for c in _channels(vk.base_url, 5)]
        await _until(lambda: vk.running == 2)
        await asyncio.sleep(0.2)
        assert vk.most == 2
        vk.release.set()
        assert await asyncio.wait_for(asyncio.gather(*setups), _PATIENCE) == [{}] * 5
        assert vk.most == 2
    finally:
        vk.release.set()
        await adapter.close()
        await vk.server.close()


async def test_close_shuts_the_pool_down() -> None:
    vk = SlowVk()
    await vk.server.start_server()
    before = set(_vk_threads())
    adapter = VkAdapter(AdapterDeps(media=MemoryMedia(), clock=FixedClock()), api_threads=1)
    first, second = _channels(vk.base_url, 2)
    try:
        running = asyncio.ensure_future(adapter.setup(first, None))
        await _until(lambda: vk.running == 1)
        queued = asyncio.ensure_future(adapter.setup(second, None))
        await asyncio.sleep(0.1)
        assert set(_vk_threads()) - before  # the pool's thread is up

        await adapter.close()
        # The queued call is cancelled, not left waiting for a thread.
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(queued, _PATIENCE)
        # The running one is not waited for by close(); it finishes in its thread.
        vk.release.set()
        await asyncio.wait_for(running, _PATIENCE)
        await _until(lambda: not set(_vk_threads()) - before)  # the thread has exited

        # A closed adapter makes a new pool when it is used again.
        assert await adapter.setup(first, None) == {}
    finally:
        vk.release.set()
        await adapter.close()
        await vk.server.close()


async def test_create_adapter_closes_cleanly_without_a_pool() -> None:
    adapter = create_adapter(AdapterDeps(media=MemoryMedia(), clock=FixedClock()))
    await adapter.close()  # nothing was called: no pool was ever made
    await adapter.close()
