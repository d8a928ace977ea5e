"""Parsing and checking client frames of ``/ws/operator`` (docs/operator-protocol.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from inbox.domain.untrusted import BadJson, parse_json

__all__ = ["COMMANDS", "MAX_FRAME_BYTES", "Command", "FrameError", "parse_frame"]

#: Larger frames get a ``too_large`` error; a 64 KiB text plus JSON escaping fits easily.
MAX_FRAME_BYTES = 256 * 1024
MAX_REQUEST_ID = 100

# Field name -> (type, required). Types are checked exactly (a number is not a string).
_ID = (str, True)
COMMANDS: Mapping[str, Mapping[str, tuple[type, bool]]] = {
    "auth": {"token": (str, True), "last_seq": (int, False)},
    "presence.set": {"status": (str, True)},
    "message.send": {
        "conversation_id": _ID,
        "text": (str, False),
        "client_id": (str, True),
        "buttons": (list, False),
        "attachments": (list, False),
        "template": (dict, False),
    },
    "note.add": {"conversation_id": _ID, "text": (str, True), "client_id": (str, False)},
    "conversation.resolve": {"conversation_id": _ID, "reason": (str, False)},
    "conversation.reopen": {"conversation_id": _ID},
    "conversation.claim": {"conversation_id": _ID},
    "conversation.read": {"conversation_id": _ID},
    "typing": {"conversation_id": _ID},
    "offer.accept": {"conversation_id": _ID},
    "offer.decline": {"conversation_id": _ID},
    "conversation.transfer": {
        "conversation_id": _ID,
        "operator_id": (str, False),
        "queue": (str, False),
        "skills": (dict, False),
        "note": (str, False),
    },
    "dashboard.subscribe": {},
    "dashboard.unsubscribe": {},
    "ping": {},
}


class FrameError(Exception):
    def __init__(self, code: str, message: str, request_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


@dataclass(frozen=True, slots=True)
class Command:
    type: str
    fields: Mapping[str, Any]
    request_id: str | None = None

    def text(self, name: str) -> str:
        value = self.fields[name]
        assert isinstance(value, str)
        return value

    def opt_str(self, name: str) -> str | None:
        value = self.fields.get(name)
        return value if isinstance(value, str) else None


def parse_frame(raw: str | bytes) -> Command:
    """A checked command, or :class:`FrameError` with the code to answer with."""
    if len(raw) > MAX_FRAME_BYTES:
        raise FrameError("too_large", f"frames are limited to {MAX_FRAME_BYTES} bytes")
    try:
        data = parse_json(raw)
    except BadJson as exc:
        raise FrameError("bad_frame", "the frame is not valid JSON") from exc
    if not isinstance(data, dict):
        raise FrameError("bad_frame", "a frame must be a JSON object")
    request_id = data.get("request_id")
    if request_id is not None and (
        not isinstance(request_id, str) or len(request_id) > MAX_REQUEST_ID
    ):
        raise FrameError("bad_frame", f"request_id must be a string of ≤{MAX_REQUEST_ID} chars")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise FrameError("bad_frame", "a frame needs a string 'type'", request_id)
    spec = COMMANDS.get(kind)
    if spec is None:
        raise FrameError("unknown_type", f"unknown frame type {kind[:40]!r}", request_id)
    fields: dict[str, Any] = {}
    for name, (expected, required) in spec.items():
        value = data.get(name)
        if value is None:
            if required:
                raise FrameError("bad_frame", f"'{kind}' needs '{name}'", request_id)
            continue
        # bool is an int subclass in Python; a JSON true is not a sequence number.
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise FrameError("bad_frame", f"'{name}' must be a {expected.__name__}", request_id)
        fields[name] = value
    return Command(kind, fields, request_id)
