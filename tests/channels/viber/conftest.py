"""Fixtures for the Viber tests: the fake API on a random local port and an adapter
pointed at it."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest

from channels.viber import ViberAdapter, create_adapter
from inbox.domain.clock import FixedClock
from inbox.domain.content import MediaRef
from inbox.domain.errors import NotFound
from inbox.ports import AdapterDeps
from tests.channels.viber.helpers import TOKEN
from tests.fakes.viber_api import FakeViberApi


class MemoryMedia:
    """A :class:`inbox.ports.MediaStore` in a dict."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    async def put(self, data: bytes, *, mime_type: str, filename: str | None = None) -> MediaRef:
        key = secrets.token_hex(16)
        self.files[key] = data
        return MediaRef(mime_type=mime_type, key=key, filename=filename, size=len(data))

    async def get(self, key: str) -> bytes:
        try:
            return self.files[key]
        except KeyError:
            raise NotFound("no such file") from None


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
