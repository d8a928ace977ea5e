"""What the API channel declares to the root (inbox.domain.channel_spec): no options, no
adapter (the server itself takes its requests), and no replies."""

from __future__ import annotations

from inbox.domain.channel_spec import ChannelSpec
from inbox.domain.channels import ChannelKind

__all__ = ["KIND", "NO_REPLIES", "SPEC"]

KIND = ChannelKind("api")

NO_REPLIES = (
    "This request came in through the shop's API (a website form or a call), which "
    "delivers no messages: answer the customer on one of their other channels (the "
    "customer card lists them) or call back; notes still work here."
)

SPEC = ChannelSpec(kind=KIND, options=frozenset(), needs_adapter=False, no_replies=NO_REPLIES)
