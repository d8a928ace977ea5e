"""``setup`` (token check, webhook registration or polling) and ``poll`` (getUpdates)
against the fake Bot API."""

from __future__ import annotations

import re

import pytest

from channels.telegram import TelegramAdapter
from channels.telegram.converter import ALLOWED_UPDATES
from channels.telegram.options import TelegramOptions
from inbox.domain.channel_errors import PermanentFailure, RetryLater
from inbox.domain.channels import Channel
from inbox.domain.content import ButtonReply, Text
from inbox.domain.errors import InvalidInput
from tests.channels.telegram.support import load, make_channel, webhook_request
from tests.fakes.telegram_api import TelegramApiFake

# PTB's RetryAfter warns about its own int property while being constructed (22.2+).
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

PUBLIC_URL = "https://inbox.example.com/"


# ------------------------------------------------------------------ setup


async def test_setup_registers_the_webhook_with_a_fresh_secret(
    adapter: TelegramAdapter, fake: TelegramApiFake
) -> None:
    channel = make_channel(api_base=fake.url, webhook_secret="")
    extra = await adapter.setup(channel, PUBLIC_URL)
    assert set(extra) == {"webhook_secret", "mode"}
    assert extra["mode"] == "webhook"
    secret = extra["webhook_secret"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{32,256}", secret)  # Telegram's allowed characters
    assert [r.method for r in fake.requests] == ["getMe", "setWebhook"]
    (call,) = fake.calls("setWebhook")
    recorded = load("telegram_setWebhook_request.json")
    assert set(call.params) <= set(recorded)  # the recorded request's fields, no others
    assert call.params["url"] == f"https://inbox.example.com/webhooks/telegram/{channel.id}"
    assert call.params["secret_token"] == secret
    assert call.params["allowed_updates"] == list(ALLOWED_UPDATES)
    assert "message_reaction" in call.params["allowed_updates"]  # opt-in only (Bot API docs)

    # The stored secret then authenticates Telegram's deliveries.
    stored = make_channel(api_base=fake.url, **extra)
    batch = await adapter.handle_webhook(
        stored, webhook_request(load("telegram_update_text.json"), secret=secret)
    )
    assert len(batch.messages) == 1


async def test_each_setup_makes_a_new_secret(
    adapter: TelegramAdapter, channel: Channel, fake: TelegramApiFake
) -> None:
    first = await adapter.setup(channel, PUBLIC_URL)
    second = await adapter.setup(channel, PUBLIC_URL)
    assert first["webhook_secret"] != second["webhook_secret"]
    assert fake.webhook is not None
    assert fake.webhook["secret_token"] == second["webhook_secret"]


@pytest.mark.parametrize(("mode", "public_url"), [("", None), ("polling", PUBLIC_URL)])
async def test_setup_without_a_public_url_or_for_polling_deletes_the_webhook(
    adapter: TelegramAdapter, fake: TelegramApiFake, mode: str, public_url: str | None
) -> None:
    fake.push_webhook("https://old.example.com/hook")
    channel = make_channel(api_base=fake.url, webhook_secret="", mode=mode)
    assert await adapter.setup(channel, public_url) == {"mode": "polling"}
    assert [r.method for r in fake.requests] == ["getMe", "deleteWebhook"]
    assert fake.calls("deleteWebhook")[0].params.get("drop_pending_updates") is False
    assert fake.webhook is None


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"token": ""}, "token is required"),
        ({"token": "not-a-token"}, "token does not look like"),
        ({"api_base": "ftp://example.com"}, "api_base"),
        ({"mode": "push"}, "mode must be webhook or polling"),
    ],
)
async def test_setup_names_the_option_that_is_wrong(
    adapter: TelegramAdapter, fake: TelegramApiFake, options: dict[str, str], named: str
) -> None:
    with pytest.raises(InvalidInput, match=named) as caught:
        await adapter.setup(make_channel(**{"api_base": fake.url, **options}), PUBLIC_URL)
    assert "not-a-token" not in caught.value.message  # a secret's value is never echoed
    assert fake.requests == []


async def test_webhook_mode_needs_a_public_url(
    adapter: TelegramAdapter, fake: TelegramApiFake
) -> None:
    with pytest.raises(InvalidInput, match="INBOX_PUBLIC_URL"):
        await adapter.setup(make_channel(api_base=fake.url, mode="webhook"), None)


async def test_setup_with_a_token_telegram_rejects(
    adapter: TelegramAdapter, fake: TelegramApiFake
) -> None:
    channel = make_channel(api_base=fake.url, token="42:AAWrongTokenRevokedByBotFather")
    with pytest.raises(InvalidInput, match="rejected the bot token"):
        await adapter.setup(channel, PUBLIC_URL)
    assert fake.webhook is None


async def test_setup_with_a_webhook_url_telegram_refuses(
    adapter: TelegramAdapter, channel: Channel, fake: TelegramApiFake
) -> None:
    with pytest.raises(InvalidInput, match="only posts to HTTPS URLs"):
        await adapter.setup(channel, "http://inbox.example.com")


async def test_setup_when_telegram_is_down_says_retry(
    adapter: TelegramAdapter, channel: Channel, fake: TelegramApiFake
) -> None:
    fake.available = False
    with pytest.raises(RetryLater):
        await adapter.setup(channel, PUBLIC_URL)


# ------------------------------------------------------------------ polling


async def test_wants_polling_follows_the_mode(adapter: TelegramAdapter) -> None:
    assert adapter.wants_polling(make_channel(mode="polling"))
    assert not adapter.wants_polling(make_channel(mode="webhook"))
    assert not adapter.wants_polling(make_channel())


async def test_poll_converts_updates_and_moves_the_cursor(
    adapter: TelegramAdapter, fake: TelegramApiFake
) -> None:
    channel = make_channel(api_base=fake.url, mode="polling", webhook_secret="")
    text = load("telegram_update_text.json")
    fake.push_update(text)
    fake.push_update(load("telegram_update_my_chat_member_blocked.json"))
    fake.push_update(load("telegram_update_callback_query.json"))
    result = await adapter.poll(channel, None, 0)
    assert [m.parts for m in result.batch.messages] == [
        (Text("Здравствуйте, хочу оплатить заказ 42"),),
        (ButtonReply("Картой", "pay:card:42"),),
    ]
    assert result.cursor == "734512010"  # the last update_id + 1
    (get,) = fake.calls("getUpdates")
    assert get.params["allowed_updates"] == list(ALLOWED_UPDATES)
    assert "offset" not in get.params
    # Button presses are answered when polled (there is no webhook reply to carry it).
    (answer,) = fake.calls("answerCallbackQuery")
    assert answer.params["callback_query_id"] == "4382bfdwdsb323b2d9"

    # The cursor confirms what was read: the next poll sees only what came after.
    fake.push_update({**text, "update_id": 734512011})
    again = await adapter.poll(channel, result.cursor, 0)
    assert fake.calls("getUpdates")[-1].params["offset"] == 734512010
    assert [m.external_id for m in again.batch.messages] == ["1111111:1365"]
    assert again.cursor == "734512012"


async def test_an_empty_poll_keeps_the_cursor(
    adapter: TelegramAdapter, fake: TelegramApiFake
) -> None:
    channel = make_channel(api_base=fake.url, mode="polling", webhook_secret="")
    result = await adapter.poll(channel, "734512010", 0)
    assert result.batch.messages == ()
    assert result.cursor == "734512010"


async def test_a_cursor_that_is_not_a_number_starts_over(
    adapter: TelegramAdapter, fake: TelegramApiFake
) -> None:
    channel = make_channel(api_base=fake.url, mode="polling", webhook_secret="")
    fake.push_update(load("telegram_update_text.json"))
    result = await adapter.poll(channel, "garbage", 0)
    assert "offset" not in fake.calls("getUpdates")[0].params
    assert result.cursor == "734512002"


async def test_a_long_poll_returns_when_an_update_arrives(
    adapter: TelegramAdapter, fake: TelegramApiFake
) -> None:
    import asyncio

    channel = make_channel(api_base=fake.url, mode="polling", webhook_secret="")
    polling = asyncio.create_task(adapter.poll(channel, None, 10))
    await asyncio.sleep(0.1)
    fake.push_update(load("telegram_update_text.json"))
    result = await asyncio.wait_for(polling, 5)
    assert len(result.batch.messages) == 1


async def test_a_failed_answer_to_a_button_press_does_not_lose_the_batch(
    adapter: TelegramAdapter, fake: TelegramApiFake
) -> None:
    channel = make_channel(api_base=fake.url, mode="polling", webhook_secret="")
    fake.push_update(load("telegram_update_callback_query.json"))
    fake.fail_next("bad_request", method="answerCallbackQuery", description="query is too old")
    result = await adapter.poll(channel, None, 0)
    assert len(result.batch.messages) == 1


async def test_polling_while_a_webhook_is_set_fails_with_a_reason(
    adapter: TelegramAdapter, fake: TelegramApiFake
) -> None:
    fake.push_webhook("https://inbox.example.com/hook")
    channel = make_channel(api_base=fake.url, mode="polling", webhook_secret="")
    with pytest.raises(PermanentFailure, match="webhook is set"):
        await adapter.poll(channel, None, 0)


async def test_polling_rate_limited_says_when(
    adapter: TelegramAdapter, fake: TelegramApiFake
) -> None:
    channel = make_channel(api_base=fake.url, mode="polling", webhook_secret="")
    fake.fail_next("rate_limit", retry_after=2, method="getUpdates")
    with pytest.raises(RetryLater) as caught:
        await adapter.poll(channel, None, 0)
    assert caught.value.retry_after == 2.0


def test_parsed_options_never_show_their_secrets() -> None:
    token = "123456:" + "A" * 35
    options = TelegramOptions.parse({"token": token, "webhook_secret": "hush-hush"})
    shown = repr(options)
    assert token not in shown
    assert "hush-hush" not in shown
    assert "api_base=" in shown
