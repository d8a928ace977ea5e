"""Files: what customers sent (downloaded from the provider on first view, then kept) and
what operators attach (uploaded here, then uploaded to the provider by the channel)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from inbox.domain.channel_errors import ChannelError
from inbox.domain.channels import Channel
from inbox.domain.content import Audio, File, Image, MediaRef, Part, Sticker, Video
from inbox.domain.conversations import Conversation
from inbox.domain.errors import InvalidInput, NotFound, TooLarge, Unavailable
from inbox.domain.ids import ConversationId, MessageId
from inbox.domain.messages import Message
from inbox.domain.operators import Operator
from inbox.ports import ChannelAdapter, MediaStore, Tx
from inbox.usecases.access import require_act, require_see, viewer_of
from inbox.usecases.deps import Core, Outcome, run

__all__ = ["MAX_UPLOAD_BYTES", "Download", "attachment_part", "open_media", "upload_attachment"]

#: Operator uploads above this are refused: WhatsApp caps documents at 100 MB and images at
#: 5 MB, Telegram bots upload at most 50 MB; 20 MiB covers what a shop sends from a chat.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024

_MEDIA_PARTS = (Image, File, Audio, Video, Sticker)


@dataclass(frozen=True, slots=True)
class Download:
    data: bytes
    mime_type: str
    filename: str | None


async def open_media(
    core: Core,
    media: MediaStore,
    adapters: Mapping[str, ChannelAdapter],
    viewer: Operator,
    message_id: MessageId,
    index: int,
) -> Download:
    """The file of part ``index`` of a message the viewer may see. A customer's file that
    was not downloaded yet is fetched through the channel's API, stored, and the message
    updated, so the provider is asked once."""

    async def load(tx: Tx) -> tuple[Message, Conversation, Channel] | None:
        message = await tx.messages.get(message_id)
        if message is None:
            return None
        conversation = await tx.conversations.get(message.conversation_id)
        channel = await tx.channels.get(message.channel_id)
        if conversation is None or channel is None:
            return None
        return message, conversation, channel

    found = await core.store.read(load)
    if found is None:
        raise NotFound("no such message")
    message, conversation, channel = found
    require_see(await viewer_of(core, viewer), conversation)
    if not 0 <= index < len(message.parts) or not isinstance(message.parts[index], _MEDIA_PARTS):
        raise NotFound("that part has no file")
    part = message.parts[index]
    assert isinstance(part, _MEDIA_PARTS)
    ref = part.media
    if ref.key:
        return Download(await media.get(ref.key), ref.mime_type, ref.filename)
    adapter = adapters.get(str(channel.kind))
    if adapter is None or not ref.provider_ref:
        raise NotFound("the file is not available")
    try:
        blob = await adapter.fetch_media(channel, ref)
    except ChannelError as exc:
        raise Unavailable(f"the provider did not give the file: {exc.reason}") from exc
    stored = await media.put(
        blob.data, mime_type=blob.mime_type or ref.mime_type, filename=blob.filename or ref.filename
    )
    kept = dataclasses.replace(
        ref, key=stored.key, size=stored.size, mime_type=stored.mime_type, filename=stored.filename
    )

    async def remember(tx: Tx) -> Outcome[None]:
        current = await tx.messages.get(message_id)
        if current is not None:
            parts = list(current.parts)
            if index < len(parts):
                parts[index] = _with_media(parts[index], kept)
                await tx.messages.set_parts(message_id, parts)
        return Outcome(None)

    await run(core, remember)
    return Download(blob.data, kept.mime_type, kept.filename)


async def upload_attachment(
    core: Core,
    media: MediaStore,
    actor: Operator,
    conversation_id: ConversationId,
    data: bytes,
    *,
    mime_type: str,
    filename: str | None,
) -> MediaRef:
    """Keep a file an operator will send in this conversation."""
    if not data:
        raise InvalidInput("the file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise TooLarge(f"files are limited to {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB")

    async def load(tx: Tx) -> Conversation | None:
        return await tx.conversations.get(conversation_id)

    conversation = await core.store.read(load)
    if conversation is None:
        raise NotFound("no such conversation")
    require_act(actor, conversation)
    safe_name = (filename or "file").replace("/", "_").replace("\\", "_")[:200]
    return await media.put(
        data, mime_type=mime_type or "application/octet-stream", filename=safe_name
    )


def _with_media(part: Part, media: MediaRef) -> Part:
    if isinstance(part, Image | File | Video):
        return dataclasses.replace(part, media=media)
    if isinstance(part, Audio):
        return dataclasses.replace(part, media=media)
    if isinstance(part, Sticker):
        return dataclasses.replace(part, media=media)
    return part


def attachment_part(ref: MediaRef, caption: str = "") -> Part:
    """The content part for an uploaded file, by its type."""
    mime = ref.mime_type.lower()
    if mime.startswith("image/"):
        return Image(ref, caption)
    if mime.startswith("video/"):
        return Video(ref, caption)
    if mime.startswith("audio/"):
        return Audio(ref, voice=mime in ("audio/ogg", "audio/opus"))
    return File(ref, caption)
