"""VK message attachments → content parts: one converter per attachment ``type``.

Attachment = ``{"type": <t>, <t>: {...}}`` (vk-api-schema ``messages/objects.json``
``messages_message_attachment``). Media become parts whose :class:`MediaRef` has
``key=None`` and the file's URL as ``provider_ref``: the core downloads it on first view
through ``VkAdapter.fetch_media``. A type we cannot show (a wall post, a poll, a gift, ...)
becomes an :class:`Unsupported` part that says what it was, never text and never nothing.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable, Mapping
from typing import Any

from channels.vk.wire import JsonMap, get_list, opt_int, opt_map, opt_str
from inbox.domain.channel_io import WebhookRejected
from inbox.domain.content import (
    Audio,
    File,
    Image,
    Location,
    MediaRef,
    Part,
    Sticker,
    Unsupported,
    Video,
)

__all__ = ["attachment_parts", "convert_attachment", "geo_part"]

Converter = Callable[[JsonMap], Part]


def _largest(images: list[Any]) -> str:
    """The URL of the largest of ``[{url|src, width, height}]`` (photos list every size)."""
    best, best_area = "", -1
    for image in images:
        if not isinstance(image, dict):
            continue
        url = image.get("url") or image.get("src")
        if not isinstance(url, str) or not url:
            continue
        width, height = opt_int(image, "width") or 0, opt_int(image, "height") or 0
        if width * height > best_area:
            best, best_area = url, width * height
    return best


def _vk_id(kind: str, obj: JsonMap) -> str:
    """``photo-1_2``: how VK names an object in links and in ``attachment=``."""
    return f"{kind}{opt_str(obj, 'owner_id')}_{opt_str(obj, 'id')}"


def _photo(obj: JsonMap) -> Part:
    orig = opt_map(obj, "orig_photo")
    url = _largest([orig] if orig else []) or _largest(get_list(obj, "sizes"))
    if not url:
        return Unsupported("photo", "A photo without a downloadable size.")
    return Image(MediaRef("image/jpeg", provider_ref=url, filename=f"{_vk_id('photo', obj)}.jpg"))


def _doc(obj: JsonMap) -> Part:
    url = opt_str(obj, "url")
    title = opt_str(obj, "title") or _vk_id("doc", obj)
    ext = opt_str(obj, "ext").lower()
    if not url:
        return Unsupported("doc", f"A document ({title}) that VK gives no link to.")
    if ext and not title.lower().endswith("." + ext):
        title = f"{title}.{ext}"
    mime = (mimetypes.guess_type(f"file.{ext}")[0] if ext else None) or "application/octet-stream"
    return File(MediaRef(mime, provider_ref=url, filename=title, size=opt_int(obj, "size")))


def _audio_message(obj: JsonMap) -> Part:
    # link_ogg is Opus in Ogg (what VK records); link_mp3 is the same voice re-encoded.
    ogg, mp3 = opt_str(obj, "link_ogg"), opt_str(obj, "link_mp3")
    if not ogg and not mp3:
        return Unsupported("audio_message", "A voice message without a link.")
    ref = (
        MediaRef("audio/ogg", provider_ref=ogg, filename="voice.ogg")
        if ogg
        else MediaRef("audio/mpeg", provider_ref=mp3, filename="voice.mp3")
    )
    duration = opt_int(obj, "duration")
    return Audio(ref, voice=True, duration_s=float(duration) if duration is not None else None)


def _audio(obj: JsonMap) -> Part:
    name = " - ".join(x for x in (opt_str(obj, "artist"), opt_str(obj, "title")) if x)
    url = opt_str(obj, "url")
    if not url:
        # VK hides music URLs from community tokens: say what it was.
        return Unsupported("audio", f"A music track: {name or 'untitled'}.")
    duration = opt_int(obj, "duration")
    return Audio(
        MediaRef("audio/mpeg", provider_ref=url, filename=f"{name or 'audio'}.mp3"),
        voice=False,
        duration_s=float(duration) if duration is not None else None,
    )


def _video(obj: JsonMap) -> Part:
    title = opt_str(obj, "title") or "untitled"
    files = opt_map(obj, "files") or {}
    # Only a video that carries direct files can be downloaded; VK gives community tokens
    # a player page for the rest, so the operator gets the link instead.
    for quality in ("mp4_1080", "mp4_720", "mp4_480", "mp4_360", "mp4_240"):
        url = files.get(quality)
        if isinstance(url, str) and url:
            return Video(MediaRef("video/mp4", provider_ref=url, filename=f"{title}.mp4"))
    return Unsupported("video", f"A video ({title}): https://vk.com/{_vk_id('video', obj)}")


def _sticker(obj: JsonMap) -> Part:
    url = _largest(get_list(obj, "images")) or _largest(get_list(obj, "images_with_background"))
    sticker_id = opt_str(obj, "sticker_id")
    if not url:
        return Unsupported("sticker", f"Sticker {sticker_id}.")
    return Sticker(MediaRef("image/png", provider_ref=url, filename=f"sticker{sticker_id}.png"))


def _graffiti(obj: JsonMap) -> Part:
    url = opt_str(obj, "url")
    if not url:
        return Unsupported("graffiti", "A graffiti without a link.")
    return Image(MediaRef("image/png", provider_ref=url, filename="graffiti.png"))


def _link(obj: JsonMap) -> Part:
    title = opt_str(obj, "title")
    url = opt_str(obj, "url")
    return Unsupported("link", f"A link preview: {title} {url}".strip())


def _wall(obj: JsonMap) -> Part:
    owner = opt_str(obj, "owner_id") or opt_str(obj, "to_id") or opt_str(obj, "from_id")
    return Unsupported("wall", f"A wall post: https://vk.com/wall{owner}_{opt_str(obj, 'id')}")


def _wall_reply(obj: JsonMap) -> Part:
    return Unsupported("wall_reply", "A comment on a wall post.")


def _market(obj: JsonMap) -> Part:
    price = opt_map(obj, "price") or {}
    text = ", ".join(x for x in (opt_str(obj, "title"), opt_str(price, "text")) if x)
    return Unsupported("market", f"A product from a VK shop: {text}".rstrip(": "))


def _poll(obj: JsonMap) -> Part:
    return Unsupported("poll", f"A poll: {opt_str(obj, 'question')}".rstrip(": "))


#: The attachment types we convert; every other type becomes Unsupported with its name.
CONVERTERS: Mapping[str, Converter] = {
    "photo": _photo,
    "doc": _doc,
    "audio_message": _audio_message,
    "audio": _audio,
    "video": _video,
    "sticker": _sticker,
    "graffiti": _graffiti,
    "link": _link,
    "wall": _wall,
    "wall_reply": _wall_reply,
    "market": _market,
    "poll": _poll,
}

#: What the operator reads for a known type we do not convert.
_DESCRIPTIONS: Mapping[str, str] = {
    "gift": "A VK gift.",
    "call": "A VK call.",
    "story": "A VK story.",
    "article": "A VK article.",
    "podcast": "A podcast episode.",
    "audio_playlist": "A music playlist.",
    "market_album": "A VK shop collection.",
    "money_transfer": "A money transfer.",
    "money_request": "A money request.",
    "event": "A VK event.",
    "widget": "A community widget.",
    "mini_app": "A VK mini app.",
}


def convert_attachment(raw: Any) -> Part:
    """One attachment. Never raises for an unknown or odd attachment: it becomes
    :class:`Unsupported` (only the message around it decides whether the body is VK's)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        return Unsupported("attachment", "An attachment VK sent in an unknown shape.")
    kind: str = raw["type"]
    body = raw.get(kind)
    converter = CONVERTERS.get(kind)
    if converter is None or not isinstance(body, dict):
        return Unsupported(kind, _DESCRIPTIONS.get(kind, f"A VK attachment of type {kind}."))
    try:
        return converter(body)
    except WebhookRejected:  # a typed read failed: odd, but it spoils only this attachment
        return Unsupported(kind, f"A VK attachment of type {kind} in an unknown shape.")


def attachment_parts(attachments: list[Any]) -> list[Part]:
    return [convert_attachment(a) for a in attachments]


def geo_part(geo: JsonMap) -> Part:
    """``message.geo`` = ``{"type": "point", "coordinates": {"latitude", "longitude"},
    "place": {"title", "city", "country"}}`` (vk-api-schema ``base_geo``)."""
    coords = geo.get("coordinates")
    if not isinstance(coords, dict):
        return Unsupported("geo", "A location without coordinates.")
    try:
        lat, lon = float(coords["latitude"]), float(coords["longitude"])
    except (KeyError, TypeError, ValueError):
        return Unsupported("geo", "A location without coordinates.")
    raw_place = geo.get("place")
    place: JsonMap = raw_place if isinstance(raw_place, dict) else {}
    address = ", ".join(
        str(place[k]) for k in ("city", "country") if isinstance(place.get(k), str) and place[k]
    )
    return Location(lat, lon, name=str(place.get("title") or ""), address=address)
