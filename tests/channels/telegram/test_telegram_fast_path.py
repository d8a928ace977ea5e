"""The plain-text fast path (channels/telegram/fast.py) against the full path
(python-telegram-bot's ``Update`` and the converter): wherever the fast path answers, its
answer is the full path's; it answers for plain text and declines everything else."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.telegram import TelegramAdapter
from channels.telegram.converter import convert_update
from channels.telegram.fast import convert_plain_text
from channels.telegram.webhook import parse_update
from inbox.domain.channel_io import WebhookRejected, WebhookReply
from inbox.domain.ids import ChannelId
from tests.channels.telegram.support import (
    OWN_FIXTURES,
    SHARED_FIXTURES,
    load,
    make_channel,
    webhook_request,
)

CHANNEL = ChannelId("tg-1")


def full_path(payload: Any) -> Any:
    return convert_update(CHANNEL, parse_update(payload))


def _updates() -> list[str]:
    names = {
        p.name for d in (OWN_FIXTURES, SHARED_FIXTURES) for p in d.glob("telegram_update_*.json")
    }
    return sorted(names)


@pytest.mark.parametrize("name", _updates())
def test_every_recorded_update_gets_the_full_paths_answer_or_none(name: str) -> None:
    payload = load(name)
    fast = convert_plain_text(CHANNEL, copy.deepcopy(payload))
    if fast is not None:
        assert fast == full_path(payload)


def test_the_plain_text_fixtures_take_the_fast_path() -> None:
    payload = load("telegram_update_text.json")
    fast = convert_plain_text(CHANNEL, payload)
    assert fast is not None
    assert fast == full_path(payload)
    [message] = fast
    assert message.sender.display_name == "Иван Петров"
    assert message.external_id == "1111111:1365"


def test_a_command_with_its_entity_takes_the_fast_path() -> None:
    payload = load("telegram_update_command_start_deeplink.json")
    fast = convert_plain_text(CHANNEL, payload)
    assert fast is not None
    assert fast == full_path(payload)


def _plain(**message: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "message_id": 7,
        "from": {"id": 42, "is_bot": False, "first_name": "Anna"},
        "chat": {"id": 42, "type": "private", "first_name": "Anna"},
        "date": 1735689600,
        "text": "hello",
    }
    base.update(message)
    return {"update_id": 1, "message": base}


@pytest.mark.parametrize(
    "payload",
    [
        _plain(
            reply_to_message={"message_id": 6, "chat": {"id": 42, "type": "private"}, "date": 1}
        ),
        _plain(contact={"phone_number": "+7900", "first_name": "A", "user_id": 42}),
        _plain(**{"from": {"id": 42, "first_name": "Anna"}}),  # no is_bot: the full path fills it
        _plain(**{"from": {"id": 42, "is_bot": True, "first_name": "Bot"}}),
        _plain(**{"from": {"id": "42", "is_bot": False, "first_name": "Anna"}}),
        _plain(**{"from": {"id": 42, "is_bot": False, "first_name": "Anna", "new_field": 1}}),
        _plain(text=""),
        _plain(text=["a", "list"]),
        _plain(date=True),
        _plain(date=10**20),
        _plain(message_id=True),
        _plain(chat={"id": 42}),
        _plain(entities=[{"type": "bold", "offset": 0}]),
        _plain(entities="bold"),
        _plain(caption="x"),
        {"update_id": 1, "edited_message": _plain()["message"]},
        {**_plain(), "callback_query": {}},
        {"update_id": "1", "message": _plain()["message"]},
        [],
        "text",
    ],
)
def test_anything_but_plain_text_is_declined(payload: Any) -> None:
    assert convert_plain_text(CHANNEL, payload) is None


names = st.text(min_size=1, max_size=20)
optional = st.one_of(st.none(), st.text(max_size=20))


@settings(max_examples=300, deadline=None)
@given(
    chat_id=st.integers(min_value=-(10**13), max_value=10**13),
    user_id=st.integers(min_value=1, max_value=10**13),
    message_id=st.integers(min_value=1, max_value=2**31),
    date=st.integers(min_value=0, max_value=4_102_444_800),
    text=st.text(min_size=1, max_size=200),
    first=names,
    last=optional,
    username=optional,
    entities=st.lists(
        st.fixed_dictionaries(
            {
                "type": st.sampled_from(["bold", "bot_command", "url", "text_link"]),
                "offset": st.integers(0, 50),
                "length": st.integers(1, 50),
            },
            optional={"url": st.text(max_size=10)},
        ),
        max_size=3,
    ),
    chat_type=st.sampled_from(["private", "group", "supergroup"]),
)
def test_generated_plain_text_updates_agree_with_the_full_path(
    chat_id: int,
    user_id: int,
    message_id: int,
    date: int,
    text: str,
    first: str,
    last: str | None,
    username: str | None,
    entities: list[dict[str, Any]],
    chat_type: str,
) -> None:
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first}
    if last is not None:
        user["last_name"] = last
    if username is not None:
        user["username"] = username
    message: dict[str, Any] = {
        "message_id": message_id,
        "from": user,
        "chat": {"id": chat_id, "type": chat_type},
        "date": date,
        "text": text,
    }
    if entities:
        message["entities"] = entities
    payload = json.loads(json.dumps({"update_id": 5, "message": message}))
    fast = convert_plain_text(CHANNEL, payload)
    assert fast is not None
    assert fast == full_path(payload)


async def test_the_adapter_answers_a_plain_text_webhook_as_before(
    adapter: TelegramAdapter,
) -> None:
    channel = make_channel()
    payload = load("telegram_update_text.json")
    batch = await adapter.handle_webhook(channel, webhook_request(payload))
    assert batch.messages == convert_update(channel.id, parse_update(payload))
    assert batch.reply == WebhookReply()
    # A wrong secret is refused before the body is looked at, fast path or not.
    with pytest.raises(WebhookRejected) as refused:
        await adapter.handle_webhook(channel, webhook_request(payload, secret="wrong"))
    assert refused.value.status == 403
    # A button press still gets its answer in the reply body (the full path).
    press = await adapter.handle_webhook(
        channel, webhook_request(load("telegram_update_callback_query.json"))
    )
    assert press.reply.body
