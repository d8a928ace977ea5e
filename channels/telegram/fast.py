"""The common Telegram update, converted straight from its JSON.

Most webhook calls are one customer writing plain text in a chat. Building
python-telegram-bot's objects for it (``Update.de_json``, then ``Message.to_dict`` to find
the content kind) cost 16-23 % of the event loop in the HTTP benchmark
(docs/performance.md). :func:`convert_plain_text` recognises exactly that shape (an
update with only ``message``, whose message has only the envelope, ``text`` and its
``entities``, from a user who is not a bot) and builds the same
:class:`~inbox.domain.messages.InboundMessage` that
:func:`channels.telegram.converter.convert_update` builds from the parsed ``Update``.
Anything else (a reply, a contact, media, an edit, a button, a missing ``is_bot``, a field
of the wrong type, a field it does not know) returns ``None`` and takes the full path,
which also owns every error answer. The two are held equal by a differential test over
the fixtures and generated updates (``tests/channels/telegram/test_telegram_fast_path.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from channels.telegram.converter import message_external_id
from inbox.domain.content import Text
from inbox.domain.ids import ChannelId
from inbox.domain.messages import InboundMessage, SenderProfile

__all__ = ["convert_plain_text"]

_UPDATE_KEYS: Final = frozenset({"update_id", "message"})
_MESSAGE_KEYS: Final = frozenset({"message_id", "from", "chat", "date", "text", "entities"})
_USER_KEYS: Final = frozenset(
    {"id", "is_bot", "first_name", "last_name", "username", "language_code", "is_premium"}
)
_CHAT_KEYS: Final = frozenset({"id", "type", "first_name", "last_name", "username", "title"})
_OPTIONAL_STRINGS: Final = ("first_name", "last_name", "username", "language_code", "title")


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _strings_ok(obj: dict[str, Any], *required: str) -> bool:
    if not all(isinstance(obj.get(k), str) for k in required):
        return False
    return all(isinstance(obj[k], str) for k in _OPTIONAL_STRINGS if k in obj)


def convert_plain_text(channel_id: ChannelId, data: Any) -> tuple[InboundMessage, ...] | None:
    """The one message of a plain text update, or ``None`` when the update is anything
    else (then :func:`channels.telegram.webhook.parse_update` and the converter decide)."""
    if (
        not isinstance(data, dict)
        or not _UPDATE_KEYS.issuperset(data)
        or not _int(data.get("update_id"))
    ):
        return None
    message = data.get("message")
    if not isinstance(message, dict) or not _MESSAGE_KEYS.issuperset(message):
        return None
    text, user, chat = message.get("text"), message.get("from"), message.get("chat")
    message_id, date = message.get("message_id"), message.get("date")
    if not (isinstance(text, str) and text and isinstance(message_id, int)) or not isinstance(
        date, int
    ):
        return None
    if not (_int(message_id) and _int(date)):
        return None
    if "entities" in message and not _entities_ok(message["entities"]):
        return None
    if not isinstance(user, dict) or not _USER_KEYS.issuperset(user):
        return None
    if user.get("is_bot") is not False or not _int(user.get("id")):
        return None
    if not _strings_ok(user, "first_name") or not isinstance(user.get("is_premium", False), bool):
        return None
    if not isinstance(chat, dict) or not _CHAT_KEYS.issuperset(chat) or not _int(chat.get("id")):
        return None
    if not _strings_ok(chat, "type"):
        return None
    try:
        sent_at = datetime.fromtimestamp(date, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    first, last = user["first_name"], user.get("last_name")
    return (
        InboundMessage(
            channel_id=channel_id,
            external_id=message_external_id(chat["id"], message_id),
            sender=SenderProfile(
                external_user_id=str(user["id"]),
                display_name=f"{first} {last}" if last else first,
                username=user.get("username") or "",
                phone="",
            ),
            parts=(Text(text),),
            sent_at=sent_at,
            thread_key=str(chat["id"]),
        ),
    )


_ENTITY_STRINGS: Final = ("url", "language", "custom_emoji_id")
_ENTITY_KEYS: Final = frozenset({"type", "offset", "length", *_ENTITY_STRINGS})


def _entities_ok(entities: Any) -> bool:
    """Entities are not read (the text is kept as sent), but the full path parses them:
    only well-formed ones may skip it."""
    if not isinstance(entities, list):
        return False
    for entity in entities:
        if not isinstance(entity, dict) or not _ENTITY_KEYS.issuperset(entity):
            return False
        if not isinstance(entity.get("type"), str):
            return False
        if not (_int(entity.get("offset")) and _int(entity.get("length"))):
            return False
        if not all(isinstance(entity[k], str) for k in _ENTITY_STRINGS if k in entity):
            return False
    return True
