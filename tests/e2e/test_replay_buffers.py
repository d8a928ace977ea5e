"""Bounded replay buffers over real sockets: a console that resumes inside its window
misses nothing (``OperatorClient`` checks that ``seq`` goes up by exactly 1), one that
resumes past the buffer gets ``resync_required``, and a session that left is freed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from inbox.domain.operators import Role
from operator_ws.hub import BufferStats, OperatorHub
from server.app import SERVICES
from tests.e2e.conftest import Live


def _hub(live: Live) -> OperatorHub:
    return live.app[SERVICES].hub


async def _until_detached(live: Live) -> None:
    """The server notices a closed socket a moment after the client closed it."""
    for _ in range(200):
        if _hub(live).buffer_stats().connections == 0:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the server never saw the socket close")


async def _customer_says(live: Live, texts: list[str]) -> None:
    customer = await live.customer()
    await customer.hello()
    for n, text in enumerate(texts):
        await customer.say(text, f"c-{text}-{n}")


async def test_a_resume_inside_the_window_misses_no_frame(live: Live) -> None:
    await live.add_operator("sveta", role=Role.SUPERVISOR)
    token = await live.token("sveta")
    sveta, _ = await live.operator(token)
    await _customer_says(live, ["before"])
    await sveta.expect("message.created")
    left_at = sveta.last_seq
    await sveta.ws.close()
    await _until_detached(live)

    await _customer_says(live, ["while away 1", "while away 2", "while away 3"])
    assert _hub(live).buffer_stats().frames > 0
    back, ok = await live.operator(token, last_seq=left_at)
    assert ok["resumed"] is True
    texts = []
    for _ in range(3):
        texts.append((await back.expect("message.created"))["message"]["text"])
    assert texts == ["while away 1", "while away 2", "while away 3"]


@pytest.mark.parametrize("settings_overrides", [{"ws_replay_seconds": 0.3}])
async def test_a_session_that_left_is_freed_after_its_window(
    live: Live, settings_overrides: dict[str, Any]
) -> None:
    await live.add_operator("sveta", role=Role.SUPERVISOR)
    token = await live.token("sveta")
    sveta, _ = await live.operator(token)
    await _customer_says(live, ["hello"])
    await sveta.expect("message.created")
    left_at = sveta.last_seq
    await sveta.ws.close()
    await _until_detached(live)
    assert _hub(live).buffer_stats().streams == 1
    await asyncio.sleep(0.4)  # past the window; no traffic at all meanwhile
    _hub(live).sweep()
    stats = _hub(live).buffer_stats()
    assert (stats.streams, stats.frames) == (0, 0)

    late, ok = await live.operator(token, last_seq=left_at)
    assert ok["resumed"] is False
    resync = await late.expect("resync_required")
    assert resync["seq"] == ok["last_seq"] + 1


@pytest.mark.parametrize("settings_overrides", [{"ws_replay_frames": 3}])
async def test_a_resume_older_than_the_count_bound_gets_resync_required(
    live: Live, settings_overrides: dict[str, Any]
) -> None:
    await live.add_operator("sveta", role=Role.SUPERVISOR)
    token = await live.token("sveta")
    sveta, _ = await live.operator(token)
    left_at = sveta.last_seq
    await sveta.ws.close()
    await _until_detached(live)
    await _customer_says(live, ["one", "two", "three", "four"])
    assert _hub(live).buffer_stats().frames == 3

    back, ok = await live.operator(token, last_seq=left_at)
    assert ok["resumed"] is False
    resync = await back.expect("resync_required")
    assert resync["reason"] == "too_old"


async def test_the_operator_socket_negotiates_no_compression(live: Live) -> None:
    """zlib's state per socket was most of an idle console's memory (docs/scaling.md)."""
    await live.add_operator("sveta", role=Role.SUPERVISOR)
    sveta, _ = await live.operator(await live.token("sveta"))
    assert sveta.ws.request is not None
    assert sveta.ws.response is not None
    # The websockets client offers permessage-deflate, as browsers do; it is declined.
    assert "permessage-deflate" in (sveta.ws.request.headers.get("Sec-WebSocket-Extensions") or "")
    assert sveta.ws.response.headers.get("Sec-WebSocket-Extensions") is None


@pytest.mark.parametrize(
    "settings_overrides", [{"ws_replay_seconds": 0.3, "ws_heartbeat_seconds": 0.1}]
)
async def test_the_hubs_own_sweep_frees_a_gone_session_without_traffic(
    live: Live, settings_overrides: dict[str, Any]
) -> None:
    await live.add_operator("sveta", role=Role.SUPERVISOR)
    sveta, _ = await live.operator(await live.token("sveta"))
    await sveta.expect("heartbeat")
    await sveta.ws.close()
    await _until_detached(live)
    for _ in range(500):  # the heartbeat loop sweeps; nothing else happens meanwhile
        if _hub(live).buffer_stats().streams == 0:
            break
        await asyncio.sleep(0.01)
    assert _hub(live).buffer_stats() == BufferStats(streams=0, connections=0, frames=0)
