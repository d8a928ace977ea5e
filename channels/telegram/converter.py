"""A parsed Telegram ``Update`` → the core's inbound vocabulary. Pure: no I/O, no clock.

The JSON is checked and parsed into an ``Update`` before it gets here: a webhook body by
:func:`channels.telegram.webhook.parse_update`, a long poll's by python-telegram-bot.

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

from channels.telegram.parts import message_parts
from inbox.domain.content import ButtonReply, Part, Reaction, Unsupported
from inbox.domain.ids import ChannelId
from inbox.domain.messages import InboundMessage, SenderProfile

__all__ = ["ALLOWED_UPDATES", "convert_update", "message_external_id"]

#: What we ask Telegram to deliver (``setWebhook``/``getUpdates``). ``message_reaction``
#: must be named explicitly to be delivered at all (Bot API docs, ``allowed_updates``).
ALLOWED_UPDATES: Final = ("message", "edited_message", "callback_query", "message_reaction")


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
