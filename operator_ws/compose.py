"""Turning an operator's send request (REST or WebSocket) into content parts.

``{"text", "buttons": [{"title", "url"} | {"title", "payload"}], "attachments": [{"key",
"mime_type", "filename"}], "template": {"name", "language", "params"}}`` (docs/operator-
protocol.md). Checks shapes and limits; the use case checks the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inbox.domain.content import Button, Buttons, MediaRef, Part, Template, Text
from inbox.domain.errors import InvalidInput
from inbox.usecases.media import attachment_part

__all__ = ["MAX_ATTACHMENTS", "MAX_BUTTONS", "compose_parts"]

#: Telegram shows up to 100 inline buttons but VK's inline keyboard takes 10 and WhatsApp 3
#: reply buttons; 10 keeps the message usable everywhere (extras fall back to text).
MAX_BUTTONS = 10
MAX_ATTACHMENTS = 10


def compose_parts(
    text: Any, buttons: Any = None, attachments: Any = None, template: Any = None
) -> tuple[Part, ...]:
    if template is not None:
        return (_template(template),)
    if not isinstance(text, str):
        raise InvalidInput("text must be a string")
    parts: list[Part] = []
    if buttons:
        parts.append(Buttons(text, _buttons(buttons)))
    elif text.strip() or not attachments:
        parts.append(Text(text))
    for item in _list(attachments, "attachments", MAX_ATTACHMENTS):
        parts.append(attachment_part(_media(item)))
    return tuple(parts)


def _list(value: Any, name: str, limit: int) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"{name} must be a list")
    if len(value) > limit:
        raise InvalidInput(f"at most {limit} {name}")
    return value


def _buttons(raw: Any) -> tuple[Button, ...]:
    buttons: list[Button] = []
    for item in _list(raw, "buttons", MAX_BUTTONS):
        if not isinstance(item, Mapping):
            raise InvalidInput("each button is an object with a title and a url or payload")
        title, url, payload = item.get("title"), item.get("url"), item.get("payload")
        if not isinstance(title, str) or not 1 <= len(title.strip()) <= 40:
            raise InvalidInput("a button title is 1..40 characters")
        if url is not None:
            if not isinstance(url, str) or not url.startswith(("https://", "http://")):
                raise InvalidInput("a button url must start with https:// or http://")
            if len(url) > 2000:
                raise InvalidInput("a button url is at most 2000 characters")
            buttons.append(Button(title.strip(), "url", url=url))
        else:
            if payload is None:
                payload = title
            if not isinstance(payload, str) or len(payload) > 256:
                raise InvalidInput("a button payload is a string of at most 256 characters")
            buttons.append(Button(title.strip(), "reply", payload=payload))
    return tuple(buttons)


def _media(item: Any) -> MediaRef:
    if not isinstance(item, Mapping):
        raise InvalidInput("each attachment is an object from the upload endpoint")
    key, mime, filename = item.get("key"), item.get("mime_type"), item.get("filename")
    if not isinstance(key, str) or len(key) != 32:
        raise InvalidInput("an attachment needs the key the upload returned")
    if not isinstance(mime, str) or "/" not in mime:
        raise InvalidInput("an attachment needs its mime_type")
    size = item.get("size")
    return MediaRef(
        mime_type=mime,
        key=key,
        filename=filename if isinstance(filename, str) else None,
        size=size if isinstance(size, int) else None,
    )


def _template(raw: Any) -> Template:
    if not isinstance(raw, Mapping):
        raise InvalidInput("template is an object with name, language and params")
    name, language, params = raw.get("name"), raw.get("language"), raw.get("params", [])
    if not isinstance(name, str) or not name:
        raise InvalidInput("a template needs its name")
    if not isinstance(language, str) or not language:
        raise InvalidInput("a template needs its language code")
    if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
        raise InvalidInput("template params are a list of strings")
    return Template(name, language, tuple(params))
