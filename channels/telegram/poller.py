"""The ``getUpdates`` long poll (``mode=polling``): one call per :meth:`TelegramAdapter.poll`.

The loop itself is the core's (it calls ``poll`` again with the cursor returned, one poller
per channel); this is one turn of it. The cursor is Telegram's ``offset``: the last update
id plus one, which also confirms everything before it to Telegram.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from telegram import Update

from channels.telegram.client import TelegramClient
from channels.telegram.converter import ALLOWED_UPDATES
from inbox.domain.channel_errors import PermanentFailure, RetryLater
from inbox.domain.channel_io import PollResult, WebhookBatch
from inbox.domain.channels import Channel
from inbox.domain.messages import InboundMessage

__all__ = ["poll_updates", "wants_polling"]

logger = logging.getLogger(__name__)


def wants_polling(channel: Channel) -> bool:
    """Whether the core should long-poll this channel (``setup`` stored ``mode=polling``)."""
    return channel.options.get("mode") == "polling"


async def poll_updates(
    client: TelegramClient,
    cursor: str | None,
    wait_seconds: int,
    convert: Callable[[Update], tuple[InboundMessage, ...]],
) -> PollResult:
    """``getUpdates`` from ``cursor`` (Telegram's ``offset``: the last update id
    plus one, which also confirms everything before it). Button presses are answered
    here, before the batch is stored; if storing fails they come again and a second
    answer is refused by Telegram, which is ignored."""
    # A cursor we did not write (not a number) restarts from what Telegram still holds.
    offset = int(cursor) if cursor and cursor.lstrip("-").isdigit() else None
    updates = await client.get_updates(offset, wait_seconds, ALLOWED_UPDATES)
    messages: list[InboundMessage] = []
    for update in updates:
        messages.extend(convert(update))
        if update.callback_query is not None:
            try:
                await client.answer_callback_query(update.callback_query.id)
            except (RetryLater, PermanentFailure) as exc:
                logger.debug("answering a button press failed: %s", exc.reason)
    next_cursor = str(updates[-1].update_id + 1) if updates else cursor
    return PollResult(WebhookBatch(messages=tuple(messages)), next_cursor)
