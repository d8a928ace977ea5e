"""``POST /api/v1/requests`` bodies ⇄ the core's inbound message (pure; docs/api.md).

A request::

    {"id": "form-8812", "type": "form" | "call",
     "contact": {"external_id"?, "phone"?, "email"?, "name"?},
     "queue"?: "sales", "channel_id"?: "...",
     "title"?: "Callback request", "text"?: "...", "fields"?: {"Product": "Lens X", ...}}

``id`` is the client's id of the request: the message's external id on the channel, so a
retry of the same request is stored once. The operator reads the request as the
conversation's first message: its title, its text, then one ``name: value`` line per field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from inbox.domain.content import Text
from inbox.domain.errors import InvalidInput
from inbox.domain.ids import ChannelId
from inbox.domain.messages import InboundMessage, SenderProfile

__all__ = ["ApiRequest", "parse_request", "to_inbound"]

MAX_ID = 100
MAX_FIELDS = 50
MAX_FIELD_NAME = 100
MAX_FIELD_VALUE = 2000
MAX_TEXT = 10_000
_KEYS = {"id", "type", "contact", "queue", "channel_id", "title", "text", "fields"}
_TITLES = {"form": "Website form", "call": "Phone call"}


@dataclass(frozen=True, slots=True)
class ApiRequest:
    request_id: str
    type: Literal["form", "call"]
    #: The ``contact`` object as given (checked by the contacts use case).
    contact: Mapping[str, object]
    queue: str
    channel_id: str
    title: str
    text: str
    fields: tuple[tuple[str, str], ...]


def _string(body: Mapping[str, Any], key: str, limit: int) -> str:
    value = body.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{key} must be a string")
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(f"{key} is at most {limit} characters")
    return value


def _fields(raw: object) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise InvalidInput('fields must be an object: {"name": "value", ...}')
    if len(raw) > MAX_FIELDS:
        raise InvalidInput(f"at most {MAX_FIELDS} fields")
    found = []
    for name, value in raw.items():
        if not 1 <= len(name.strip()) <= MAX_FIELD_NAME:
            raise InvalidInput(f"a field's name is 1..{MAX_FIELD_NAME} characters")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InvalidInput(f"the field {name[:40]!r} must be a string or a number")
        text = str(value).strip()
        if len(text) > MAX_FIELD_VALUE:
            raise InvalidInput(f"the field {name[:40]!r} is at most {MAX_FIELD_VALUE} characters")
        found.append((" ".join(name.split()), text))
    return tuple(found)


def parse_request(body: Mapping[str, Any]) -> ApiRequest:
    """Check a request body; raises :class:`InvalidInput` naming what is wrong."""
    unknown = set(body) - _KEYS
    if unknown:
        raise InvalidInput(f"unknown fields: {', '.join(sorted(unknown))}")
    kind = body.get("type")
    if kind not in _TITLES:
        raise InvalidInput('type must be "form" or "call"')
    request_id = _string(body, "id", MAX_ID)
    if not request_id:
        raise InvalidInput("id is required: your id of this request (retries send the same)")
    contact = body.get("contact")
    if not isinstance(contact, dict):
        raise InvalidInput('contact is required: {"phone"?, "email"?, "external_id"?, "name"?}')
    request = ApiRequest(
        request_id=request_id,
        type="form" if kind == "form" else "call",
        contact=contact,
        queue=_string(body, "queue", 200),
        channel_id=_string(body, "channel_id", 64),
        title=_string(body, "title", 300),
        text=_string(body, "text", MAX_TEXT),
        fields=_fields(body.get("fields")),
    )
    if not (request.text or request.fields or request.title):
        raise InvalidInput("a request needs a text, a title or fields")
    return request


def message_text(request: ApiRequest) -> str:
    lines = [request.title or _TITLES[request.type]]
    if request.text:
        lines += ["", request.text]
    if request.fields:
        lines += ["", *(f"{name}: {value}" for name, value in request.fields)]
    return "\n".join(lines)


def to_inbound(
    request: ApiRequest, channel_id: ChannelId, sender_id: str, display_name: str
) -> InboundMessage:
    """The request as the first message of a new conversation: ``references`` threading
    with no references and no subject always opens a new one (a second form is a second
    request, not a line in the first)."""
    return InboundMessage(
        channel_id=channel_id,
        external_id=f"request:{request.request_id}",
        sender=SenderProfile(external_user_id=sender_id, display_name=display_name),
        parts=(Text(message_text(request)),),
        threading="references",
    )
