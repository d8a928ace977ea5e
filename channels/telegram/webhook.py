"""Authenticating and parsing Telegram's webhook calls. No network.

* Every call carries ``X-Telegram-Bot-Api-Secret-Token``, the ``secret_token`` that
  ``setup`` gave ``setWebhook`` (Bot API docs, "setWebhook"). It is compared with the
  channel's ``webhook_secret`` in constant time before the body is read: missing or wrong
  → 403, and a channel without a secret (polling mode) accepts no webhook at all.
* Only ``POST`` (else 405), and the body must be one JSON ``Update`` (:func:`parse_update`;
  else 400, and the error never quotes the body).
* A button press is answered in the webhook reply itself (:func:`webhook_reply`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from telegram import Update

from channels.telegram.errors import MalformedUpdate
from channels.telegram.parts import UNREADABLE_MARK, content_kind
from inbox.domain.channel_io import WebhookRejected, WebhookReply, WebhookRequest
from inbox.domain.untrusted import BadJson, parse_json, same_secret

__all__ = [
    "SECRET_HEADER",
    "check_secret",
    "parse_update",
    "read_json",
    "read_update",
    "update_of",
    "webhook_reply",
]

#: Telegram sends the ``secret_token`` given to ``setWebhook`` in this header on every
#: webhook request (Bot API docs, "setWebhook"); WebhookRequest headers are lower-case.
SECRET_HEADER: Final = "x-telegram-bot-api-secret-token"  # noqa: S105 - a header name


def check_secret(headers: Mapping[str, str], expected: str) -> None:
    """Raises :class:`WebhookRejected` (403) when the secret header is missing or wrong,
    or the channel has no webhook secret (``expected`` empty)."""
    given = headers.get(SECRET_HEADER, "")
    if not expected:
        raise WebhookRejected(403, "forbidden", "this channel has no webhook secret set")
    if not same_secret(given, expected):
        raise WebhookRejected(403, "forbidden", "wrong or missing secret token header")


def read_update(request: WebhookRequest) -> Update:
    """The one ``Update`` an authenticated webhook call carries.

    Raises:
        WebhookRejected: 405 when it is not a POST, 400 when the body is not JSON or not
            an ``Update``.
    """
    return update_of(read_json(request))


def read_json(request: WebhookRequest) -> Any:
    """The decoded JSON body of a webhook call (405 when it is not a POST, 400 when the
    body is not JSON)."""
    if request.method.upper() != "POST":
        raise WebhookRejected(405, "method_not_allowed", "Telegram webhooks are POSTs")
    try:
        return parse_json(request.body)
    except BadJson:  # bad JSON, bad UTF-8, absurd nesting
        raise WebhookRejected(400, "bad_request", "the body is not JSON") from None


def update_of(data: Any) -> Update:
    """:func:`parse_update`, with a malformed update answered 400."""
    try:
        return parse_update(data)
    except MalformedUpdate as exc:
        raise WebhookRejected(400, "bad_request", str(exc)) from None


def webhook_reply(update: Update) -> WebhookReply:
    """The answer to the webhook call: empty, or for a button press an
    ``answerCallbackQuery`` as the response body (Bot API docs "Making requests when
    getting updates"), so the customer's spinner stops once the press is stored, without a
    second call."""
    if update.callback_query is None:
        return WebhookReply()
    answer = {
        "method": "answerCallbackQuery",
        "callback_query_id": update.callback_query.id,
    }
    return WebhookReply(body=json.dumps(answer).encode())


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
