"""A thin client for one bot on the Bot API, over python-telegram-bot 22.x's ``Bot``.

It adds three things to ``telegram.Bot``: a configurable API base (a self-hosted Bot API
server, a proxy or a test fake), the translation of PTB's errors into the core's
:class:`RetryLater`/:class:`PermanentFailure` with a sentence for the operator (the table
is :func:`channels.telegram.errors.translate_error`), and downloads that never read the
local disk (PTB's ``File.download_*`` reads a *local* file when the server names an
existing path).

The bot token sits in every request URL (``/bot<token>/METHOD``). httpx logs each request
URL at INFO and PTB logs URLs and request parameters at DEBUG, so building a client raises
the ``httpx`` logger to WARNING and the ``telegram`` logger to INFO, unless the operator
configured them explicitly. Error reasons never contain the token (``errors`` masks it).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar
from urllib.parse import quote

import httpx
from telegram import (
    Bot,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    ReplyParameters,
    Update,
    User,
)
from telegram.error import ChatMigrated, TelegramError
from telegram.request import HTTPXRequest

from channels.telegram.errors import translate_error
from channels.telegram.outbound import UPLOAD_FIELD, BotCall
from inbox.domain.channel_errors import PermanentFailure

__all__ = ["DEFAULT_API_BASE", "TelegramClient", "Timeouts"]

DEFAULT_API_BASE: Final = "https://api.telegram.org"
#: Bots may download files up to 20 MB (Bot API docs, "getFile").
MAX_DOWNLOAD: Final = 20 * 1024 * 1024

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds. Uploads get longer to write (50 MB at a slow uplink); a long poll's read
    timeout is its ``wait_seconds`` plus ``read`` (PTB adds them)."""

    connect: float = 5.0
    read: float = 15.0
    write: float = 15.0
    media_write: float = 120.0
    pool: float = 5.0


def _quiet_url_loggers() -> None:
    for name, level in (("httpx", logging.WARNING), ("telegram", logging.INFO)):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(level)


class TelegramClient:
    """One bot token on one API base. Not shared across tokens; :meth:`close` it."""

    def __init__(
        self,
        token: str,
        api_base: str = DEFAULT_API_BASE,
        *,
        timeouts: Timeouts | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        _quiet_url_loggers()
        t = timeouts or Timeouts()
        extra: dict[str, Any] = {"transport": transport} if transport is not None else {}
        self._token = token
        self._request = HTTPXRequest(
            connection_pool_size=32,
            connect_timeout=t.connect,
            read_timeout=t.read,
            write_timeout=t.write,
            media_write_timeout=t.media_write,
            pool_timeout=t.pool,
            httpx_kwargs=extra,
        )
        # getUpdates holds its connection for the whole long poll: a pool of its own.
        self._poll_request = HTTPXRequest(
            connection_pool_size=1,
            connect_timeout=t.connect,
            read_timeout=t.read,
            write_timeout=t.write,
            pool_timeout=t.pool,
            httpx_kwargs=extra,
        )
        base = api_base.rstrip("/")
        self._bot = Bot(
            token,
            base_url=f"{base}/bot",
            base_file_url=f"{base}/file/bot",
            request=self._request,
            get_updates_request=self._poll_request,
        )

    async def close(self) -> None:
        """Close the HTTP connection pools. The bot was never ``initialize``d (that calls
        ``getMe`` and puts the token into its error message), so close them directly."""
        await self._request.shutdown()
        await self._poll_request.shutdown()

    # ----------------------------------------------------------------------- calls

    async def get_me(self) -> User:
        return await self._call(self._bot.get_me)

    async def set_webhook(self, url: str, secret_token: str, allowed: Sequence[str]) -> None:
        await self._call(
            lambda: self._bot.set_webhook(
                url, secret_token=secret_token, allowed_updates=list(allowed)
            )
        )

    async def delete_webhook(self) -> None:
        # Pending updates are kept: polling picks them up next.
        await self._call(lambda: self._bot.delete_webhook(drop_pending_updates=False))

    async def get_updates(
        self, offset: int | None, wait_seconds: int, allowed: Sequence[str]
    ) -> tuple[Update, ...]:
        return await self._call(
            lambda: self._bot.get_updates(
                offset=offset, timeout=wait_seconds, allowed_updates=list(allowed)
            )
        )

    async def answer_callback_query(self, callback_query_id: str) -> None:
        await self._call(lambda: self._bot.answer_callback_query(callback_query_id))

    async def send(self, call: BotCall, data: bytes | None = None) -> Message:
        """Make one planned call (``data``: the upload's bytes). A group that became a
        supergroup answers with its new id once; the call is then repeated there."""
        try:
            return await self._call(lambda: self._send(call, data), migrated_ok=True)
        except ChatMigrated as exc:
            moved = BotCall(call.method, {**call.params, "chat_id": exc.new_chat_id}, call.upload)
            return await self._call(lambda: self._send(moved, data))

    async def download(self, file_id: str) -> tuple[bytes, str | None]:
        """The file's bytes and its path on Telegram's side (which names its type)."""
        info = await self._call(lambda: self._bot.get_file(file_id))
        if info.file_size is not None and info.file_size > MAX_DOWNLOAD:
            raise PermanentFailure("The file is larger than the 20 MB bots may download.")
        if not info.file_path:
            raise PermanentFailure("Telegram did not say where to download this file.")
        prefix = self._bot.base_file_url + "/"
        path = info.file_path.removeprefix(prefix).lstrip("/")
        url = prefix + quote(path)
        try:
            data = await self._call(lambda: self._bot.request.retrieve(url))
        except PermanentFailure as exc:
            # A 404 on the file URL surfaces as PTB's InvalidToken; the token worked a
            # moment ago for getFile, so the file is what is missing.
            raise PermanentFailure("Telegram no longer has this file.") from exc
        return data, path

    # ----------------------------------------------------------------------- internals

    async def _send(self, call: BotCall, data: bytes | None) -> Message:
        p = dict(call.params)
        chat_id = p.pop("chat_id")
        kwargs: dict[str, Any] = {}
        if "reply_parameters" in p:
            kwargs["reply_parameters"] = ReplyParameters.de_json(p.pop("reply_parameters"), None)
        if "reply_markup" in p:
            kwargs["reply_markup"] = InlineKeyboardMarkup.de_json(p.pop("reply_markup"), None)
        kwargs.update(p)
        bot = self._bot
        if call.upload is not None:
            assert data is not None, "an upload needs its bytes"
            field = UPLOAD_FIELD[call.method]
            kwargs[field] = InputFile(data, filename=call.upload.filename or _default_name(call))
        senders: Mapping[str, Callable[..., Awaitable[Message]]] = {
            "sendMessage": bot.send_message,
            "sendPhoto": bot.send_photo,
            "sendDocument": bot.send_document,
            "sendAudio": bot.send_audio,
            "sendVoice": bot.send_voice,
            "sendVideo": bot.send_video,
            "sendLocation": bot.send_location,
            "sendVenue": bot.send_venue,
            "sendContact": bot.send_contact,
        }
        return await senders[call.method](chat_id=chat_id, **kwargs)

    async def _call(self, make: Callable[[], Awaitable[T]], *, migrated_ok: bool = False) -> T:
        try:
            return await make()
        except ChatMigrated:
            if migrated_ok:
                raise
            raise PermanentFailure("The group chat moved to a new id twice in a row.") from None
        except TelegramError as exc:
            raise translate_error(exc, self._token) from exc


def _default_name(call: BotCall) -> str:
    # Telegram shows a document's file name; photos and voice notes need none, but
    # multipart needs one. Extensions from the MIME type help the customer's device.
    mime = call.upload.mime_type if call.upload is not None else ""
    ext = {
        "image/jpeg": ".jpg",
        "image/png": ".png",
        "image/webp": ".webp",
        "audio/ogg": ".ogg",
        "audio/mpeg": ".mp3",
        "video/mp4": ".mp4",
        "application/pdf": ".pdf",
    }.get(mime, "")
    return f"{UPLOAD_FIELD.get(call.method, 'file')}{ext}"
