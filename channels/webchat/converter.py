"""The web chat converter: pure functions between the widget's JSON frames and the core's
types (docs/webchat-protocol.md, "Frames").

Inbound: a text frame → a frame object (:func:`decode_frame`), a ``hello`` → :class:`Hello`,
a ``message`` → :class:`ChatLine` → :class:`~inbox.domain.messages.InboundMessage`. A frame
that breaks the protocol raises :class:`~channels.webchat.errors.FrameError`, whose frame
is the answer. Outbound: the ``welcome``, ``ack``, ``message``, ``typing`` and ``pong``
frames, and an operator's reply as the customer message view.

Pure: no I/O, no logging.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bots.csat import CSAT_PAYLOAD_PREFIX
from channels.webchat.errors import FrameError
from inbox.domain.content import ButtonReply, Part, Text
from inbox.domain.ids import ChannelId, ConversationId
from inbox.domain.messages import (
    AuthorKind,
    DeliveryStatus,
    Direction,
    InboundMessage,
    Message,
    MessageKind,
    OutboundMessage,
    SenderProfile,
)
from inbox.domain.untrusted import BadJson, parse_json
from inbox.domain.views import customer_message_view
from inbox.usecases import CustomerHistory

__all__ = [
    "MAX_CLIENT_ID",
    "MAX_COMMENT",
    "MAX_FRAME_BYTES",
    "MAX_NAME",
    "MAX_PAYLOAD",
    "ChatLine",
    "CsatAnswer",
    "Hello",
    "ack_frame",
    "agent_typing_frame",
    "csat_message",
    "csat_request_frame",
    "decode_frame",
    "inbound_message",
    "message_frame",
    "outbound_view",
    "parse_csat",
    "parse_hello",
    "parse_message",
    "pong_frame",
    "stored_view",
    "welcome_frame",
]

MAX_FRAME_BYTES = 256 * 1024
MAX_CLIENT_ID = 100
MAX_NAME = 80
#: A quick reply's payload (the bot's menu item, ``bot:faq:2``); longer ones are refused.
MAX_PAYLOAD = 256
MAX_COMMENT = 2000


@dataclass(frozen=True, slots=True)
class Hello:
    """A ``hello``: the visitor's token (``None``: a new visitor), the last ``seq`` they
    have, and their name (stripped and cut to :data:`MAX_NAME`; ``""`` when not given)."""

    visitor_token: str | None
    last_seq: int
    name: str


@dataclass(frozen=True, slots=True)
class ChatLine:
    """A ``message`` frame: the text and the browser's id for it; ``payload`` when the
    visitor pressed a quick reply (the text is then the button's title)."""

    text: str
    client_id: str
    payload: str = ""


@dataclass(frozen=True, slots=True)
class CsatAnswer:
    """A ``csat`` frame: the visitor's rating (1..5) of their conversation."""

    rating: int
    comment: str = ""


def decode_frame(raw: str) -> dict[str, Any]:
    """A text frame as a JSON object with a string ``type``; raises :class:`FrameError`."""
    if len(raw) > MAX_FRAME_BYTES:
        raise FrameError("too_large", f"frames are limited to {MAX_FRAME_BYTES} bytes")
    try:
        frame = parse_json(raw)
    except BadJson:
        raise FrameError("bad_frame", "the frame is not valid JSON") from None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise FrameError("bad_frame", "a frame is a JSON object with a string 'type'")
    return frame


def parse_hello(frame: Mapping[str, Any]) -> Hello:
    """Raises :class:`FrameError` (``bad_frame``) for a field of the wrong type."""
    token, last_seq, name = (
        frame.get("visitor_token"),
        frame.get("last_seq", 0),
        frame.get("name"),
    )
    if token is not None and not isinstance(token, str):
        raise FrameError("bad_frame", "visitor_token must be a string")
    if not isinstance(last_seq, int) or isinstance(last_seq, bool) or last_seq < 0:
        raise FrameError("bad_frame", "last_seq must be a non-negative integer")
    if name is not None and not isinstance(name, str):
        raise FrameError("bad_frame", "name must be a string")
    return Hello(visitor_token=token, last_seq=last_seq, name=(name or "").strip()[:MAX_NAME])


def parse_message(frame: Mapping[str, Any]) -> ChatLine:
    """Raises :class:`FrameError`: ``invalid_input`` for a bad ``client_id``, ``bad_frame``
    (with the client id) for a text that is not a string."""
    text, client_id = frame.get("text"), frame.get("client_id")
    if not isinstance(client_id, str) or not 1 <= len(client_id) <= MAX_CLIENT_ID:
        raise FrameError("invalid_input", f"client_id must be 1..{MAX_CLIENT_ID} chars")
    if not isinstance(text, str):
        raise FrameError("bad_frame", "text must be a string", client_id)
    payload = frame.get("payload", "")
    if not isinstance(payload, str) or len(payload) > MAX_PAYLOAD:
        raise FrameError(
            "bad_frame", f"payload must be a string of at most {MAX_PAYLOAD} chars", client_id
        )
    return ChatLine(text=text, client_id=client_id, payload=payload)


def parse_csat(frame: Mapping[str, Any]) -> CsatAnswer:
    """Raises :class:`FrameError` (``bad_frame``) for a rating that is not 1..5 or a
    comment that is not a string."""
    rating, comment = frame.get("rating"), frame.get("comment", "")
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise FrameError("bad_frame", "rating must be an integer from 1 to 5")
    if comment is None:
        comment = ""
    if not isinstance(comment, str):
        raise FrameError("bad_frame", "comment must be a string")
    return CsatAnswer(rating, comment.strip()[:MAX_COMMENT])


def csat_message(
    channel_id: ChannelId,
    visitor_id: str,
    name: str,
    conversation_id: ConversationId,
    answer: CsatAnswer,
) -> InboundMessage:
    """The rating as the customer message the bots read (a pressed ``csat:N`` button, the
    comment as text). One per conversation: a resend is stored once."""
    parts: tuple[Part, ...] = (
        ButtonReply(str(answer.rating), payload=f"{CSAT_PAYLOAD_PREFIX}{answer.rating}"),
    )
    if answer.comment:
        parts += (Text(answer.comment),)
    return InboundMessage(
        channel_id=channel_id,
        external_id=f"{visitor_id}:csat:{conversation_id}",
        sender=SenderProfile(
            external_user_id=visitor_id,
            display_name=name or f"Visitor {visitor_id[1:5].upper()}",
        ),
        parts=parts,
        thread_key=visitor_id,
    )


def csat_request_frame(conversation_id: ConversationId) -> dict[str, Any]:
    return {"type": "csat.request", "conversation_id": conversation_id}


def inbound_message(
    channel_id: ChannelId, visitor_id: str, name: str, line: ChatLine
) -> InboundMessage:
    """The visitor's message for the core; ``name`` is the one from ``hello`` (or ``""``)."""
    return InboundMessage(
        channel_id=channel_id,
        # Client ids are chosen by browsers: scope them by visitor so that two visitors
        # can never collide, and one visitor's resend is stored once.
        external_id=f"{visitor_id}:{line.client_id}",
        sender=SenderProfile(
            external_user_id=visitor_id,
            display_name=name or f"Visitor {visitor_id[1:5].upper()}",
        ),
        parts=(ButtonReply(line.text, payload=line.payload),)
        if line.payload
        else (Text(line.text),),
        thread_key=visitor_id,
    )


def welcome_frame(
    visitor_token: str, conversation_id: ConversationId | None, history: CustomerHistory
) -> dict[str, Any]:
    return {
        "type": "welcome",
        "visitor_token": visitor_token,
        "conversation_id": conversation_id,
        "messages": [customer_message_view(m) for m in history.messages],
        "last_seq": history.conversation.last_message_seq if history.conversation else 0,
    }


def stored_view(message: Message, client_id: str) -> dict[str, Any]:
    """The visitor's stored message as they see it, with the browser's id for it."""
    return {**customer_message_view(message), "client_id": client_id}


def ack_frame(client_id: str, view: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "ack", "client_id": client_id, "message": view}


def message_frame(view: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "message", "message": view}


def agent_typing_frame(operator_name: str) -> dict[str, Any]:
    return {"type": "typing", "from": "agent", "name": operator_name}


def pong_frame() -> dict[str, Any]:
    return {"type": "pong"}


def outbound_view(message: OutboundMessage, now: datetime) -> dict[str, Any]:
    """An operator's reply as the customer message view; ``now`` stands in for a missing
    ``created_at``."""
    return customer_message_view(
        Message(
            id=message.message_id,
            conversation_id=message.conversation_id,
            channel_id=message.channel_id,
            seq=message.seq,
            kind=MessageKind.MESSAGE,
            direction=Direction.OUTBOUND,
            author_kind=AuthorKind.OPERATOR,
            author_id=None,
            author_name=message.author_name,
            parts=message.parts,
            status=DeliveryStatus.SENT,
            created_at=message.created_at or now,
        )
    )
