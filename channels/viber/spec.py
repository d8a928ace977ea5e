"""What the Viber channel declares to the root (inbox.domain.channel_spec)."""

from __future__ import annotations

from channels.viber.options import OPTIONS, SECRETS
from inbox.domain.channel_spec import ChannelSpec
from inbox.domain.channels import ChannelKind

__all__ = ["KIND", "SPEC"]

KIND = ChannelKind("viber")

#: The bot's auth token (it also signs Viber's webhook calls), ``api_base`` and the
#: ``sender_name`` shown to customers (docs/channels/viber.md).
SPEC = ChannelSpec(
    kind=KIND,
    options=frozenset(OPTIONS),
    secrets=frozenset(SECRETS),
)
