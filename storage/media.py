"""Files on the local disk under ``INBOX_DATA_DIR/media`` (implements
:class:`inbox.ports.MediaStore`; an S3-compatible store can implement the same protocol)."""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path

from inbox.domain.content import MediaRef
from inbox.domain.errors import NotFound

__all__ = ["FileMediaStore"]


class FileMediaStore:
    """Keys are random (unguessable, no user input in paths); files are written to a
    temporary name and renamed, so a crash never leaves half a file under a real key.
    File I/O runs in a thread, never on the event loop."""

    def __init__(self, root: str | Path) -> None:
        self._root = Path(root) / "media"

    def _path(self, key: str) -> Path:
        if len(key) != 32 or not all(c in "0123456789abcdef" for c in key):
            raise NotFound("no such file")
        return self._root / key[:2] / key

    async def put(self, data: bytes, *, mime_type: str, filename: str | None = None) -> MediaRef:
        key = secrets.token_hex(16)
        path = self._path(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".part")
            tmp.write_bytes(data)
            os.replace(tmp, path)

        await asyncio.to_thread(write)
        return MediaRef(mime_type=mime_type, key=key, filename=filename, size=len(data))

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise NotFound("no such file") from None
