"""Fixtures for the WhatsApp tests: the fake Graph API, an adapter, an in-memory media store."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from channels.whatsapp import WhatsAppAdapter, create_adapter
from inbox.domain.channels import Channel
from inbox.domain.clock import FixedClock
from inbox.ports import AdapterDeps
from tests.channels.whatsapp.support import PHONE_NUMBER_ID, TOKEN, MemoryMedia, make_channel
from tests.fakes.whatsapp_api import FakeWhatsAppApi


@pytest.fixture
async def fake() -> AsyncIterator[FakeWhatsAppApi]:
    async with FakeWhatsAppApi(token=TOKEN, phone_number_id=PHONE_NUMBER_ID) as api:
        yield api


@pytest.fixture
def media() -> MemoryMedia:
    return MemoryMedia()


@pytest.fixture
async def adapter(media: MemoryMedia) -> AsyncIterator[WhatsAppAdapter]:
    built = create_adapter(AdapterDeps(media=media, clock=FixedClock()))
    try:
        yield built
    finally:
        await built.close()


@pytest.fixture
def channel(fake: FakeWhatsAppApi) -> Channel:
    """A channel whose ``api_base`` is the fake."""
    return make_channel(api_base=fake.api_base)
