"""The real vk_api-based client against the fake VK API: redirection, errors, timeouts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from channels.vk.client import ApiBaseAdapter, VkClient, build_session
from channels.vk.errors import from_api_error, from_http_status
from inbox.domain.channel_errors import PermanentFailure, RetryLater
from tests.channels.vk.conftest import shared
from tests.fakes.vk_api import FailureKind, VkFake


@pytest.fixture
async def client(vk_fake: VkFake, executor: ThreadPoolExecutor) -> AsyncIterator[VkClient]:
    made = VkClient(token=vk_fake.token, executor=executor, api_base=vk_fake.base_url)
    try:
        yield made
    finally:
        made.close()


async def test_calls_go_to_api_base_with_token_in_the_body(
    client: VkClient, vk_fake: VkFake
) -> None:
    answer = await client.call("groups.getById")
    assert answer["groups"][0]["id"] == vk_fake.group_id
    (request,) = vk_fake.requests
    assert request.path == "/method/groups.getById"
    assert request.params["access_token"] == vk_fake.token
    assert request.params["v"] == "5.199"


async def test_api_base_with_a_path_prefix(executor: ThreadPoolExecutor) -> None:
    seen: list[str] = []

    async def proxy(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.json_response({"response": {"groups": [{"id": 1}]}})

    app = web.Application()
    app.router.add_post("/proxy/vk/method/{name}", proxy)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    client = VkClient(token="t", executor=executor, api_base=str(server.make_url("/proxy/vk")))
    try:
        assert await client.call("groups.getById") == {"groups": [{"id": 1}]}
        assert seen == ["/proxy/vk/method/groups.getById"]
    finally:
        client.close()
        await server.close()


def test_default_api_base_is_not_rewritten() -> None:
    session = build_session()
    try:
        adapter = session.get_adapter("https://api.vk.ru/method/x")
        assert isinstance(adapter, ApiBaseAdapter)
        assert adapter.api_base is None
    finally:
        session.close()


@pytest.mark.parametrize(
    ("kind", "error", "reason"),
    [
        ("rate_limit", RetryLater, "too many requests"),
        ("flood", RetryLater, "flood control"),
        ("internal", RetryLater, "internal error"),
        ("http_500", RetryLater, "HTTP 500"),
        ("http_502", RetryLater, "HTTP 502"),
        ("not_json", RetryLater, "not JSON"),
        ("auth", PermanentFailure, "The community token is invalid or expired."),
        ("blocked", PermanentFailure, "has not allowed messages from the community"),
        ("blacklisted", PermanentFailure, "blacklist"),
        ("permission", PermanentFailure, "lacks the right"),
        ("bad_request", PermanentFailure, "One of the parameters specified was missing"),
    ],
)
async def test_errors_map_to_retry_or_permanent(
    client: VkClient,
    vk_fake: VkFake,
    kind: FailureKind,
    error: type[Exception],
    reason: str,
) -> None:
    vk_fake.fail_next(kind, method="groups.getById")
    with pytest.raises(error) as caught:
        await client.call("groups.getById")
    assert reason in str(caught.value)
    assert vk_fake.token not in str(caught.value)


async def test_rate_limit_is_not_retried_inside_the_thread(
    client: VkClient, vk_fake: VkFake
) -> None:
    # vk_api would sleep 0.5 s and retry error 6 forever; ours raises at once.
    vk_fake.fail_next("rate_limit", method="groups.getById", times=50)
    with pytest.raises(RetryLater) as caught:
        await client.call("groups.getById")
    assert caught.value.retry_after == 1.0
    assert len(vk_fake.calls("groups.getById")) == 1


async def test_http_429_uses_retry_after(client: VkClient, vk_fake: VkFake) -> None:
    vk_fake.fail_next("http_429", method="groups.getById", retry_after=7)
    with pytest.raises(RetryLater) as caught:
        await client.call("groups.getById")
    assert caught.value.retry_after == 7.0


async def test_flood_control_waits_minutes() -> None:
    error = from_api_error(9, "Flood control")
    assert isinstance(error, RetryLater)
    assert error.retry_after is not None
    assert error.retry_after >= 60


async def test_wrong_token_is_error_5(vk_fake: VkFake, executor: ThreadPoolExecutor) -> None:
    client = VkClient(token="revoked", executor=executor, api_base=vk_fake.base_url)
    try:
        with pytest.raises(PermanentFailure, match="invalid or expired"):
            await client.call("groups.getById")
    finally:
        client.close()


async def test_connection_refused_is_retry_later(executor: ThreadPoolExecutor) -> None:
    server = TestServer(web.Application(), host="127.0.0.1")
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    await server.close()  # nothing listens there any more
    client = VkClient(token="t", executor=executor, api_base=base)
    try:
        with pytest.raises(RetryLater, match="connection"):
            await client.call("groups.getById")
    finally:
        client.close()


async def test_timeout_is_retry_later(executor: ThreadPoolExecutor) -> None:
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({"response": 1})

    app = web.Application()
    app.router.add_post("/method/{name}", slow)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    client = VkClient(
        token="t",
        executor=executor,
        api_base=str(server.make_url("")).rstrip("/"),
        timeout=(1.0, 0.3),
    )
    try:
        with pytest.raises(RetryLater, match="in time"):
            await client.call("groups.getById")
    finally:
        release.set()
        client.close()
        await server.close()


async def test_the_event_loop_is_not_blocked(client: VkClient, vk_fake: VkFake) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    task = asyncio.create_task(ticker())
    try:
        await asyncio.gather(*(client.call("groups.getById") for _ in range(5)))
    finally:
        task.cancel()
    assert ticks > 5  # the loop kept running while vk_api worked in threads


async def test_download(client: VkClient, vk_fake: VkFake) -> None:
    url = vk_fake.add_media("a.jpg", b"\xff\xd8jpeg", "image/jpeg")
    data, content_type = await client.download(url, max_bytes=1024)
    assert data == b"\xff\xd8jpeg"
    assert content_type == "image/jpeg"
    with pytest.raises(PermanentFailure, match="larger than"):
        await client.download(vk_fake.add_media("big", b"x" * 3000, "image/jpeg"), max_bytes=1024)
    with pytest.raises(PermanentFailure, match="no longer available"):
        await client.download(f"{vk_fake.base_url}/media/missing", max_bytes=1024)
    with pytest.raises(PermanentFailure, match="not http"):
        await client.download("file:///etc/passwd", max_bytes=1024)


async def test_nothing_secret_is_logged(
    client: VkClient, vk_fake: VkFake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    vk_fake.fail_next("rate_limit", method="messages.send")
    with pytest.raises(RetryLater):
        await client.call("messages.send", {"peer_ids": 1, "random_id": 5, "message": "hush"})
    await client.call("messages.send", {"peer_ids": 1, "random_id": 5, "message": "hush"})
    for record in caplog.records:
        text = record.getMessage()
        assert vk_fake.token not in text
        assert "hush" not in text
        if record.levelno >= logging.INFO:
            assert "/method/" not in text or record.name == "aiohttp.access"


def test_error_table_reasons_are_sentences() -> None:
    for code in (5, 7, 15, 27, 900, 901, 902, 911, 914, 917, 100, 12345):
        reason = from_api_error(code, "VK's text").reason
        assert reason[0].isupper(), reason
        assert reason.endswith("."), reason
    assert isinstance(from_http_status(404), PermanentFailure)
    assert isinstance(from_http_status(403), PermanentFailure)
    assert isinstance(from_http_status(503), RetryLater)


def test_the_recorded_error_envelopes_map() -> None:
    expected = {
        "vk_api_error_5_auth.json": PermanentFailure,
        "vk_api_error_6_too_many_rps.json": RetryLater,
        "vk_api_error_9_flood.json": RetryLater,
        "vk_api_error_100_random_id.json": PermanentFailure,
        "vk_api_error_901_no_permission.json": PermanentFailure,
    }
    for name, kind in expected.items():
        error = shared(name)["error"]
        mapped = from_api_error(error["error_code"], error["error_msg"])
        assert isinstance(mapped, kind), name
    assert (
        from_api_error(901, "").reason
        == "The customer has not allowed messages from the community."
    )
