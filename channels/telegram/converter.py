"""Telegram ``Update`` JSON → the core's inbound vocabulary. Pure: no I/O, no clock.

Every update kind and every message content kind goes through a dispatch table; content
we cannot represent becomes an explicit :class:`Unsupported` part naming the Telegram
kind (a poll, a dice roll, a payment), never text and never nothing.

Ids (``InboundMessage.external_id``; unique within one channel = one bot, and stable when
Telegram re-delivers the same update, because they are built only from the update):

=======================  ==========================================  ====================
update                   external_id                                 also set
=======================  ==========================================  ====================
``message``              ``"{chat_id}:{message_id}"``                ``reply_to_external_id``
                         (message ids are per chat, Bot API docs)    for a reply
``edited_message``       ``"{chat_id}:{message_id}:e{edit_date}"``   ``edit_of_external_id``
                         (an edit is stored as its own message)      = the original's id
``callback_query``       ``"cb:{callback_query.id}"``                ``reply_to_external_id``
                                                                     = the keyboard's message
``message_reaction``     ``"{chat_id}:{message_id}:r{update_id}"``   ``Reaction.target_external_id``
=======================  ==========================================  ====================

Our own sent messages get ``"{chat_id}:{message_id}"`` too (see ``adapter.send``), so a
customer's reply to one of our messages points at that message.

``thread_key`` is the chat id (where replies go: the private chat, or the group).

Updates that are not a customer writing produce no message, on purpose: messages from
bots (``from.is_bot``: other bots, and anonymous group admins who post as a bot), channel
posts, membership changes (``my_chat_member``, ``chat_member``), service messages (a
member joined, a title changed, a pinned message), live-location updates (Telegram sends
an ``edited_message`` every few seconds while a location is shared live) and
``pre_checkout_query`` (Telegram Payments are a later issue; a ``successful_payment``
message becomes ``Unsupported("payment", ...)`` so the operator sees it). Telegram never
echoes a bot's own messages to it, so dropping bot authors is the whole echo rule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final

from telegram import (
    CallbackQuery,
    Message,
    MessageReactionUpdated,
    ReactionTypeCustomEmoji,
    ReactionTypeEmoji,
    Update,
    User,
)

from channels.telegram.parts import UNREADABLE_MARK, content_kind, message_parts
from inbox.domain.content import ButtonReply, Part, Reaction, Unsupported
from inbox.domain.ids import ChannelId
from inbox.domain.messages import InboundMessage, SenderProfile

__all__ = [
    "ALLOWED_UPDATES",
    "MalformedUpdate",
    "convert_update",
    "message_external_id",
    "parse_update",
]

#: What we ask Telegram to deliver (``setWebhook``/``getUpdates``). ``message_reaction``
#: must be named explicitly to be delivered at all (Bot API docs, ``allowed_updates``).
ALLOWED_UPDATES: Final = ("message", "edited_message", "callback_query", "message_reaction")


class MalformedUpdate(ValueError):
    """The JSON is not a Telegram ``Update``. The message never quotes the payload."""


# --------------------------------------------------------------------------- parsing


def parse_update(data: Any) -> Update:
    """Validate and parse one decoded ``Update`` JSON object; unknown fields are kept.

    Telegram's own documentation examples omit fields that python-telegram-bot 22.x
    requires (``User.is_bot``, ``file_unique_id``, ``CallbackQuery.chat_instance``;
    channel-contracts.md §1.2) and its ``de_json`` then raises ``TypeError``. Such an
    update is parsed a second time with those three fields filled in (``False``, the
    ``file_id``, ``""``), which nothing here reads; anything else missing is malformed.

    Last, a customer message whose content PTB cannot read (a Bot API change that PTB
    22.x does not follow: 22.8 already insists on poll fields added in Bot API 9.6) is
    kept as its envelope (ids, chat, sender, dates) with the content marked unreadable,
    so that it becomes an ``Unsupported`` part: answering 400 instead would make Telegram
    re-deliver it for up to a day and hold back that chat's later updates meanwhile.

    Raises:
        MalformedUpdate: not an object with an integer ``update_id``, or a required
            field is missing or of the wrong type outside a message's content.
    """
    if not isinstance(data, dict):
        raise MalformedUpdate("a Telegram update is a JSON object")
    update_id = data.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise MalformedUpdate("a Telegram update needs an integer update_id")
    try:
        return _de_json(data)
    except MalformedUpdate as first:
        try:
            filled = _fill_documented_gaps(data)
        except RecursionError:
            raise MalformedUpdate("a Telegram update is not nested this deep") from None
        try:
            return _de_json(filled)
        except MalformedUpdate:
            envelope = _envelope_only(filled)
            if envelope is None:
                raise first from None
            return _de_json(envelope)


#: What a message's envelope keeps when its content cannot be read.
_ENVELOPE_KEYS: Final = ("message_id", "date", "edit_date", "chat", "from")


def _envelope_only(data: dict[str, Any]) -> dict[str, Any] | None:
    for key in ("message", "edited_message"):
        message = data.get(key)
        if isinstance(message, dict):
            envelope = {k: message[k] for k in _ENVELOPE_KEYS if k in message}
            envelope[UNREADABLE_MARK] = content_kind(message)
            return {"update_id": data["update_id"], key: envelope}
    return None


def _de_json(data: dict[str, Any]) -> Update:
    try:
        update = Update.de_json(data, None)
    except (
        TypeError,  # a required field is missing
        KeyError,
        AttributeError,  # an object where a list is expected, or the reverse
        ValueError,
        OverflowError,  # a date out of range
        OSError,
        RecursionError,
    ) as exc:
        # The exception text names a field or a type, never a value from the payload.
        raise MalformedUpdate(f"not a Telegram update ({type(exc).__name__})") from exc
    if update is None:  # pragma: no cover - de_json returns None only for empty input
        raise MalformedUpdate("empty update")
    _check_essentials(update)
    return update


def _check_essentials(update: Update) -> None:
    """PTB's ``de_json`` lets some required objects through as ``None`` (a message without
    ``chat``, a button press without ``from``); conversion relies on them."""
    for message in (update.message, update.edited_message):
        if message is not None and _absent(message, "chat"):
            raise MalformedUpdate("a Telegram message needs its chat")
        reply = getattr(message, "reply_to_message", None)
        if reply is not None and _absent(reply, "chat"):
            raise MalformedUpdate("a quoted Telegram message needs its chat")
    query = update.callback_query
    if query is not None and (_absent(query, "from_user") or _absent(query.message, "chat")):
        raise MalformedUpdate("a Telegram button press needs from")
    reaction = update.message_reaction
    if reaction is not None and _absent(reaction, "chat", "date"):
        raise MalformedUpdate("a Telegram reaction needs chat and date")


def _absent(obj: object, *attributes: str) -> bool:
    # getattr: the attributes are typed as never None, which is what is being checked.
    return obj is not None and any(getattr(obj, a, None) is None for a in attributes)


def _fill_documented_gaps(value: Any, key: str = "") -> Any:
    if isinstance(value, list):
        return [_fill_documented_gaps(item, key) for item in value]
    if not isinstance(value, dict):
        return value
    filled = {k: _fill_documented_gaps(v, k) for k, v in value.items()}
    if "file_id" in filled:
        filled.setdefault("file_unique_id", filled["file_id"])
    if key in ("from", "user") and "id" in filled and "first_name" in filled:
        filled.setdefault("is_bot", False)
    if key == "callback_query":
        filled.setdefault("chat_instance", "")
    return filled


# --------------------------------------------------------------------------- updates


def message_external_id(chat_id: int, message_id: int) -> str:
    """The id of a message in a chat, for customer messages and our own alike."""
    return f"{chat_id}:{message_id}"


def convert_update(channel_id: ChannelId, update: Update) -> tuple[InboundMessage, ...]:
    """The customer messages in one update: none or one (see the module docstring)."""
    for field_name, handler in _UPDATE_HANDLERS:
        value = getattr(update, field_name)
        if value is not None:
            converted = handler(channel_id, update, value)
            return (converted,) if converted is not None else ()
    return ()  # an update kind we did not subscribe to (ALLOWED_UPDATES) or a new one


def _on_message(channel_id: ChannelId, update: Update, message: Message) -> InboundMessage | None:
    return _convert_message(channel_id, message, edited=False)


def _on_edited(channel_id: ChannelId, update: Update, message: Message) -> InboundMessage | None:
    return _convert_message(channel_id, message, edited=True)


def _on_callback(
    channel_id: ChannelId, update: Update, query: CallbackQuery
) -> InboundMessage | None:
    user = query.from_user
    if user.is_bot:
        return None
    carrier = query.message
    chat_id = carrier.chat.id if carrier is not None else user.id
    if query.data is None:
        part: Part = Unsupported("game", "The customer pressed a game button.")
    else:
        part = ButtonReply(title=_pressed_title(query) or query.data, payload=query.data)
    return InboundMessage(
        channel_id=channel_id,
        external_id=f"cb:{query.id}",
        sender=_sender(user),
        parts=(part,),
        sent_at=None,  # a callback query carries no time of its own
        thread_key=str(chat_id),
        reply_to_external_id=(
            message_external_id(carrier.chat.id, carrier.message_id)
            if carrier is not None
            else None
        ),
    )


def _pressed_title(query: CallbackQuery) -> str:
    carrier = query.message
    if not isinstance(carrier, Message) or carrier.reply_markup is None:
        return ""
    for row in carrier.reply_markup.inline_keyboard:
        for button in row:
            if button.callback_data == query.data:
                return button.text
    return ""


def _on_reaction(
    channel_id: ChannelId, update: Update, reaction: MessageReactionUpdated
) -> InboundMessage | None:
    if reaction.user is None or reaction.user.is_bot:
        return None  # an anonymous reaction on behalf of a chat, or a bot's
    target = message_external_id(reaction.chat.id, reaction.message_id)
    part: Part
    added = [r for r in reaction.new_reaction if r not in reaction.old_reaction]
    chosen = added[0] if added else (reaction.new_reaction[0] if reaction.new_reaction else None)
    if chosen is None:
        part = Reaction(emoji="", target_external_id=target)  # removed
    elif isinstance(chosen, ReactionTypeEmoji):
        part = Reaction(emoji=chosen.emoji, target_external_id=target)
    elif isinstance(chosen, ReactionTypeCustomEmoji):
        part = Unsupported("reaction", "The customer reacted with a custom emoji.")
    else:
        part = Unsupported("reaction", f"The customer reacted with a {chosen.type} reaction.")
    return InboundMessage(
        channel_id=channel_id,
        external_id=f"{target}:r{update.update_id}",
        sender=_sender(reaction.user),
        parts=(part,),
        sent_at=reaction.date,
        thread_key=str(reaction.chat.id),
    )


_UpdateHandler = Callable[[ChannelId, Update, Any], InboundMessage | None]

#: Update kinds in the order PTB documents them; the first present one is the update.
_UPDATE_HANDLERS: Final[Sequence[tuple[str, _UpdateHandler]]] = (
    ("message", _on_message),
    ("edited_message", _on_edited),
    ("callback_query", _on_callback),
    ("message_reaction", _on_reaction),
)


# --------------------------------------------------------------------------- messages


def _convert_message(
    channel_id: ChannelId, message: Message, *, edited: bool
) -> InboundMessage | None:
    user = message.from_user
    if user is None or user.is_bot:
        return None  # a channel post, a bot (ourselves included), an anonymous admin
    parts = message_parts(message, edited=edited)
    if parts is None:
        return None
    chat_id = message.chat.id
    external_id = message_external_id(chat_id, message.message_id)
    edit_of = None
    sent_at: datetime | None = message.date
    if edited:
        edit_of = external_id
        edit_date = message.edit_date or message.date
        external_id = f"{external_id}:e{int(edit_date.timestamp())}"
        sent_at = edit_date
    reply = message.reply_to_message
    return InboundMessage(
        channel_id=channel_id,
        external_id=external_id,
        sender=_sender(user, message),
        parts=tuple(parts),
        sent_at=sent_at,
        thread_key=str(chat_id),
        reply_to_external_id=(
            message_external_id(reply.chat.id, reply.message_id) if reply is not None else None
        ),
        edit_of_external_id=edit_of,
    )


def _sender(user: User, message: Message | None = None) -> SenderProfile:
    phone = ""
    # A customer who shares their own contact (the "share my phone number" button) gives
    # us their phone; someone else's contact card does not.
    contact = message.contact if message is not None else None
    if contact is not None and contact.user_id == user.id:
        phone = contact.phone_number
    return SenderProfile(
        external_user_id=str(user.id),
        display_name=user.full_name,
        username=user.username or "",
        phone=phone,
    )
