"""The Callback API envelope and typed reads of VK's JSON (channel-contracts.md §2.1).

Every notification is ``{"type", "group_id", "event_id", "v", "secret"?, "object"}``
(VKCOM/vk-api-schema ``callback/objects.json#callback_base``); the body is parsed and
authenticated in :mod:`channels.vk.webhook`. Reads raise
:class:`WebhookRejected` (400) for a value of the wrong type: the body is never echoed,
only the name of the field. Unknown fields are ignored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from inbox.domain.channel_io import WebhookRejected

__all__ = [
    "Callback",
    "bad_shape",
    "get_int",
    "get_list",
    "get_map",
    "get_str",
    "opt_int",
    "opt_map",
    "opt_str",
    "payload_string",
]

JsonMap = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Callback:
    """One authenticated-or-not notification, before its ``object`` is read.

    ``group_id`` is ``None`` when the body does not carry one (it always does; the adapter
    rejects such a body as not VK's, :func:`channels.vk.webhook.authenticate`)."""

    type: str
    group_id: int | None
    event_id: str
    secret: str | None
    object: JsonMap = field(default_factory=dict)


def bad_shape(what: str) -> WebhookRejected:
    return WebhookRejected(400, "bad_request", f"not a VK Callback API notification: {what}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def get_int(obj: JsonMap, key: str) -> int:
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise bad_shape(f"{key} is missing or not an integer")
    return value


def opt_int(obj: JsonMap, key: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if _is_int(value):
        return int(value)
    # Some fields arrive as numeric strings in older payloads; anything else is not VK's.
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    raise bad_shape(f"{key} is not an integer")


def get_str(obj: JsonMap, key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise bad_shape(f"{key} is missing or not a string")
    return value


def opt_str(obj: JsonMap, key: str) -> str:
    """The string, or ``""`` when absent or ``null``; a number is written out."""
    value = obj.get(key)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if _is_int(value) or isinstance(value, float):
        return str(value)
    raise bad_shape(f"{key} is not a string")


def get_map(obj: JsonMap, key: str) -> JsonMap:
    value = obj.get(key)
    if not isinstance(value, dict):
        raise bad_shape(f"{key} is missing or not an object")
    return value


def opt_map(obj: JsonMap, key: str) -> JsonMap | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad_shape(f"{key} is not an object")
    return value


def get_list(obj: JsonMap, key: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad_shape(f"{key} is not a list")
    return value


def payload_string(value: Any) -> str:
    """A button payload as a string. VK's schema types it as a JSON *string*, but real
    captures carry it as an object too (fixture ``vk_callback_message_event.json``):
    accept both; an object is written as compact JSON with its keys in their order."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
