"""``handle_webhook``: the secret header is checked locally first, then the body."""

from __future__ import annotations

import json

import pytest

from channels.telegram import TelegramAdapter
from inbox.domain.channel_io import WebhookRejected
from inbox.domain.content import ButtonReply, Text
from tests.channels.telegram.support import WEBHOOK_SECRET, load, make_channel, webhook_request

CHANNEL = make_channel()  # no network is needed: a webhook never calls Telegram


async def test_a_delivery_with_telegrams_headers_is_accepted(adapter: TelegramAdapter) -> None:
    headers = load("telegram_webhook_delivery_headers.json")
    batch = await adapter.handle_webhook(
        CHANNEL, webhook_request(load("telegram_update_text.json"), secret=None, headers=headers)
    )
    (message,) = batch.messages
    assert message.parts == (Text("Здравствуйте, хочу оплатить заказ 42"),)
    assert message.channel_id == CHANNEL.id
    assert batch.statuses == ()  # the Bot API reports no delivery or read receipts
    assert batch.reply.status == 200
    assert json.loads(batch.reply.body) == {"ok": True}


@pytest.mark.parametrize("secret", [None, "", "wrong", WEBHOOK_SECRET + "x", WEBHOOK_SECRET[:-1]])
async def test_a_missing_or_wrong_secret_is_forbidden(
    adapter: TelegramAdapter, secret: str | None
) -> None:
    with pytest.raises(WebhookRejected) as caught:
        await adapter.handle_webhook(
            CHANNEL, webhook_request(load("telegram_update_text.json"), secret=secret)
        )
    assert (caught.value.status, caught.value.code) == (403, "forbidden")
    assert WEBHOOK_SECRET not in caught.value.message


async def test_a_channel_without_a_webhook_secret_accepts_no_webhook(
    adapter: TelegramAdapter,
) -> None:
    polling = make_channel(webhook_secret="", mode="polling")
    with pytest.raises(WebhookRejected) as caught:
        await adapter.handle_webhook(
            polling, webhook_request(load("telegram_update_text.json"), secret="")
        )
    assert caught.value.status == 403


async def test_the_secret_is_checked_before_the_body(adapter: TelegramAdapter) -> None:
    with pytest.raises(WebhookRejected) as caught:
        await adapter.handle_webhook(CHANNEL, webhook_request(b"not json", secret="wrong"))
    assert caught.value.status == 403


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe\x00",
        b"[" * 100_000,  # nesting past the parser's recursion limit
        b"[]",
        b'"update"',
        b"{}",
        b'{"update_id": "1"}',
        b'{"update_id": 1, "message": {"message_id": 1, "date": 1}}',
    ],
)
async def test_a_body_that_is_not_an_update_is_a_bad_request(
    adapter: TelegramAdapter, body: bytes
) -> None:
    with pytest.raises(WebhookRejected) as caught:
        await adapter.handle_webhook(CHANNEL, webhook_request(body))
    assert (caught.value.status, caught.value.code) == (400, "bad_request")
    assert body.decode("utf-8", "replace") not in caught.value.message


async def test_the_rejection_never_echoes_the_body(adapter: TelegramAdapter) -> None:
    body = b'{"update_id": 1, "message": {"message_id": "CUSTOMER SECRET", "date": "x"}}'
    with pytest.raises(WebhookRejected) as caught:
        await adapter.handle_webhook(CHANNEL, webhook_request(body))
    assert "CUSTOMER" not in caught.value.message


async def test_only_post_is_a_delivery(adapter: TelegramAdapter) -> None:
    with pytest.raises(WebhookRejected) as caught:
        await adapter.handle_webhook(
            CHANNEL, webhook_request(load("telegram_update_text.json"), method="GET")
        )
    assert caught.value.status == 405


async def test_unknown_fields_are_accepted(adapter: TelegramAdapter) -> None:
    batch = await adapter.handle_webhook(
        CHANNEL, webhook_request(load("telegram_update_text_extra_fields.json"))
    )
    assert batch.messages[0].parts == (Text("Привет"),)


async def test_updates_without_a_customer_message_are_acknowledged_empty(
    adapter: TelegramAdapter,
) -> None:
    for name in ("telegram_update_my_chat_member_blocked.json", "telegram_update_from_bot.json"):
        batch = await adapter.handle_webhook(CHANNEL, webhook_request(load(name)))
        assert batch.messages == ()
        assert batch.reply.status == 200


async def test_a_button_press_is_answered_in_the_webhook_reply(adapter: TelegramAdapter) -> None:
    batch = await adapter.handle_webhook(
        CHANNEL, webhook_request(load("telegram_update_callback_query.json"))
    )
    assert batch.messages[0].parts == (ButtonReply("Картой", "pay:card:42"),)
    assert batch.reply.content_type == "application/json"
    expected = load("telegram_answerCallbackQuery_request.json")
    assert json.loads(batch.reply.body) == {
        "method": "answerCallbackQuery",
        "callback_query_id": expected["callback_query_id"],
    }
