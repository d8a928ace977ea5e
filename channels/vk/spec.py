"""What the VK channel declares to the root (inbox.domain.channel_spec)."""

from __future__ import annotations

from inbox.domain.channel_spec import ChannelSpec
from inbox.domain.channels import ChannelKind

__all__ = ["KIND", "SPEC"]

KIND = ChannelKind("vk")

#: The community token, the group id, the Callback API ``secret`` and ``confirmation``
#: string, and ``api_base`` for a proxy (docs/channels/vk.md).
SPEC = ChannelSpec(
    kind=KIND,
    options=frozenset({"token", "group_id", "secret", "confirmation", "api_base"}),
    secrets=frozenset({"token", "secret", "confirmation"}),
)
