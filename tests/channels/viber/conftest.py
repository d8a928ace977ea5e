"""Fixtures for the Viber tests: the fake API on a random local port and an adapter
pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from channels.viber import ViberAdapter, create_adapter
from inbox.domain.clock import FixedClock
from inbox.ports import AdapterDeps
from tests.channels.viber.helpers import TOKEN
from tests.fakes.viber_api import FakeViberApi
from tests.support import MemoryMedia


@pytest.fixture
async def fake() -> AsyncIterator[FakeViberApi]:
    async with FakeViberApi(token=TOKEN) as api:
        yield api


@pytest.fixture
def media() -> MemoryMedia:
    return MemoryMedia()


@pytest.fixture
async def adapter(media: MemoryMedia) -> AsyncIterator[ViberAdapter]:
    created = create_adapter(AdapterDeps(media=media, clock=FixedClock()))
    try:
        yield created
    finally:
        await created.close()
