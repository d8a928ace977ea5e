"""``INBOX_CHANNEL_CACHE_SECONDS`` reaches the server's core: set to 0, a channel disabled by
another process (its own store on the same database, as ``inbox channel disable`` is) is
refused by the very next web chat connection; with the default, a disable through the
server's own API is refused at once (tests/usecases/test_channel_cache.py moves the ttl
by hand)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from inbox.bus import InProcessEventBus
from inbox.domain.clock import SystemClock
from inbox.domain.ids import ChannelId
from inbox.domain.operators import Role
from inbox.usecases import Core, set_channel_enabled
from server.channels import CATALOG
from storage import open_store
from tests.e2e.conftest import Live


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"channel_cache_seconds": 0.0}


async def _connects(live: Live) -> int:
    """101 (the socket opened) or the status the handshake was refused with."""
    try:
        async with live.http.ws_connect(live.ws_url(f"/ws/webchat/{live.channel_id}")):
            return 101
    except aiohttp.WSServerHandshakeError as exc:
        return exc.status


async def test_a_disable_by_another_process_is_seen_at_once_with_no_cache(
    live: Live, database_url: str
) -> None:
    assert live.core.channel_cache.ttl == 0
    assert await _connects(live) == 101
    store = await open_store(database_url)
    try:
        other = Core(store=store, bus=InProcessEventBus(), clock=SystemClock(), channels=CATALOG)
        await set_channel_enabled(other, ChannelId(live.channel_id), False)
    finally:
        await store.close()
    assert await _connects(live) == 404  # no such (enabled) web chat channel


@pytest.mark.parametrize("settings_overrides", [{}])  # the default: 2 s
async def test_a_disable_through_the_api_is_seen_at_once(live: Live) -> None:
    assert live.core.channel_cache.ttl == 2.0
    await live.add_operator("boss", role=Role.ADMIN)
    token = await live.token("boss")
    assert await _connects(live) == 101
    path = f"/api/v1/channels/{live.channel_id}"
    status, _ = await live.api("PATCH", path, token, json={"enabled": False})
    assert status == 200
    assert await _connects(live) == 404  # no such (enabled) web chat channel
