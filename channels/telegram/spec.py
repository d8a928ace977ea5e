"""What the Telegram channel declares to the root (inbox.domain.channel_spec)."""

from __future__ import annotations

from channels.telegram.options import OPTIONS, SECRETS
from inbox.domain.channel_spec import ChannelSpec
from inbox.domain.channels import ChannelKind

__all__ = ["KIND", "SPEC"]

KIND = ChannelKind("telegram")

#: ``token`` is the bot's token from @BotFather; ``api_base`` a self-hosted Bot API server;
#: ``mode`` ``webhook`` or ``polling``. Setup stores ``webhook_secret`` (the
#: X-Telegram-Bot-Api-Secret-Token it registered) and the mode it chose.
SPEC = ChannelSpec(
    kind=KIND,
    options=frozenset(OPTIONS) - {"webhook_secret"},  # set by setup, never given
    secrets=frozenset(SECRETS),
)
