"""Helpers shared by the test packages."""

from __future__ import annotations

import secrets

from inbox.domain.content import MediaRef
from inbox.domain.errors import NotFound

__all__ = ["MemoryMedia"]


class MemoryMedia:
    """A :class:`inbox.ports.MediaStore` in a dict, for adapter tests without a disk."""

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
