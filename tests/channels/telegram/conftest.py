"""Fixtures for the Telegram tests: the fake Bot API on a random local port and an
adapter whose channel points at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from channels.telegram import TelegramAdapter, create_adapter
from inbox.domain.channels import Channel
from inbox.domain.clock import FixedClock
from inbox.ports import AdapterDeps
from tests.channels.telegram.support import MemoryMedia, make_channel
from tests.fakes.telegram_api import TelegramApiFake


@pytest.fixture
async def fake() -> AsyncIterator[TelegramApiFake]:
    async with TelegramApiFake() as api:
        yield api


@pytest.fixture
def media() -> MemoryMedia:
    return MemoryMedia()


@pytest.fixture
async def adapter(media: MemoryMedia) -> AsyncIterator[TelegramAdapter]:
    made = create_adapter(AdapterDeps(media=media, clock=FixedClock()))
    try:
        yield made
    finally:
        await made.close()


@pytest.fixture
def channel(fake: TelegramApiFake) -> Channel:
    """A channel set up for webhooks, talking to the fake."""
    return make_channel(api_base=fake.url)
