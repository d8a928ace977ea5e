"""Shared pieces of the VK channel's tests: recorded payloads, the fake API, a channel."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from channels.vk import VkAdapter, create_adapter
from inbox.domain.channel_io import WebhookRequest
from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.clock import FixedClock
from inbox.domain.ids import ChannelId
from inbox.ports import AdapterDeps
from tests.fakes.vk_api import VkFake
from tests.support import MemoryMedia

#: The payload samples every channel shares (keys starting with "_" are annotations).
SHARED_FIXTURES = Path("/work/shared/fixtures/vk")
#: Our own recorded-style payloads, one per content type / event.
OWN_FIXTURES = Path(__file__).parent / "fixtures"

SECRET = "secret_123456"
CONFIRMATION = "693d0ba9"
GROUP_ID = 123456
CHANNEL_ID = ChannelId("ch-vk-1")


def strip_annotations(value: Any) -> Any:
    """Drop every key starting with ``_``, at any depth."""
    if isinstance(value, dict):
        return {k: strip_annotations(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [strip_annotations(v) for v in value]
    return value


def load_fixture(path: Path) -> dict[str, Any]:
    loaded = strip_annotations(json.loads(path.read_text(encoding="utf-8")))
    assert isinstance(loaded, dict)
    return loaded


def shared(name: str) -> dict[str, Any]:
    return load_fixture(SHARED_FIXTURES / name)


def own(name: str) -> dict[str, Any]:
    return load_fixture(OWN_FIXTURES / name)


def post(payload: Mapping[str, Any] | bytes, **headers: str) -> WebhookRequest:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return WebhookRequest(
        method="POST",
        headers={"content-type": "application/json", **{k.lower(): v for k, v in headers.items()}},
        query={},
        body=body,
    )


def make_channel(api_base: str = "", **overrides: str) -> Channel:
    options = {
        "token": "vk1.a.test-community-token",
        "group_id": str(GROUP_ID),
        "secret": SECRET,
        "confirmation": CONFIRMATION,
    }
    if api_base:
        options["api_base"] = api_base
    options.update(overrides)
    return Channel(
        id=CHANNEL_ID,
        kind=ChannelKind("vk"),
        name="VK shop",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        options=options,
    )


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    """The thread pool a bare :class:`channels.vk.client.VkClient` runs vk_api in (the
    adapter owns its own)."""
    pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="vk-api-test")
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture
def media() -> MemoryMedia:
    return MemoryMedia()


@pytest.fixture
async def adapter(media: MemoryMedia) -> AsyncIterator[VkAdapter]:
    made = create_adapter(AdapterDeps(media=media, clock=FixedClock()))
    try:
        yield made
    finally:
        await made.close()


@pytest.fixture
async def vk_fake() -> AsyncIterator[VkFake]:
    fake = VkFake(group_id=GROUP_ID)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


@pytest.fixture
def channel(vk_fake: VkFake) -> Channel:
    """A channel whose API calls go to the fake."""
    return make_channel(api_base=vk_fake.base_url)
