"""Files: ``POST /api/v1/conversations/{id}/attachments`` and
``GET /api/v1/messages/{id}/media/{index}``."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import BodyPartReader, web

from inbox.domain.errors import InvalidInput, TooLarge
from inbox.domain.ids import ConversationId, MessageId
from inbox.ports import ChannelAdapter, MediaStore
from inbox.usecases import Core
from inbox.usecases.media import MAX_UPLOAD_BYTES, open_media, upload_attachment
from operator_ws.rest.common import Caller, authed, int_param

__all__ = ["MediaRoutes"]

#: Room for the multipart framing around a file of the largest allowed size.
_MULTIPART_OVERHEAD = 64 * 1024
_CHUNK = 256 * 1024


class MediaRoutes:
    def __init__(
        self, core: Core, media: MediaStore, adapters: Mapping[str, ChannelAdapter]
    ) -> None:
        self._core = core
        self._media = media
        self._adapters = adapters

    def routes(self) -> list[web.RouteDef]:
        core = self._core
        return [
            web.post(
                "/api/v1/conversations/{id}/attachments",
                authed(core, self.upload, scope="conversations:write"),
            ),
            web.get(
                "/api/v1/messages/{id}/media/{index}",
                authed(core, self.download, scope="conversations:read"),
            ),
        ]

    async def upload(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        """``multipart/form-data`` with one ``file`` field → ``201 {"media": {...}}``, to be
        sent with ``message.send`` ``attachments``. Over ``MAX_UPLOAD_BYTES`` → 413."""
        if (request.content_length or 0) > MAX_UPLOAD_BYTES + _MULTIPART_OVERHEAD:
            raise TooLarge(f"files are limited to {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB")
        if not request.content_type.startswith("multipart/"):
            raise InvalidInput("send the file as multipart/form-data in a field named file")
        reader = await request.multipart()
        async for field in reader:
            if not isinstance(field, BodyPartReader) or field.name != "file":
                continue
            data = bytearray()
            while chunk := await field.read_chunk(_CHUNK):
                data += chunk
                if len(data) > MAX_UPLOAD_BYTES:
                    raise TooLarge(f"files are limited to {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB")
            ref = await upload_attachment(
                self._core,
                self._media,
                caller.operator,
                ConversationId(request.match_info["id"]),
                bytes(data),
                mime_type=field.headers.get("Content-Type", "application/octet-stream"),
                filename=field.filename,
            )
            return web.json_response(
                {
                    "media": {
                        "key": ref.key,
                        "mime_type": ref.mime_type,
                        "filename": ref.filename,
                        "size": ref.size,
                    }
                },
                status=201,
            )
        raise InvalidInput("no field named file")

    async def download(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        """The bytes of a message's file, to authenticated operators who may see it."""
        download = await open_media(
            self._core,
            self._media,
            self._adapters,
            caller.operator,
            MessageId(request.match_info["id"]),
            int_param(request.match_info["index"], 0, "index"),
        )
        name = (download.filename or "file").replace('"', "")
        return web.Response(
            body=download.data,
            content_type=download.mime_type,
            headers={
                # Never rendered as a page of ours: customer files could be HTML.
                "Content-Disposition": f'inline; filename="{name}"',
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "private, max-age=3600",
            },
        )
