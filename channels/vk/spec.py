"""What the VK channel declares to the root (inbox.domain.channel_spec)."""

from __future__ import annotations

from channels.vk.options import OPTIONS, SECRETS
from inbox.domain.channel_spec import ChannelSpec
from inbox.domain.channels import ChannelKind

__all__ = ["KIND", "SPEC"]

KIND = ChannelKind("vk")

#: The community token, the group id, the Callback API ``secret`` and ``confirmation``
#: string, and ``api_base`` for a proxy (docs/channels/vk.md).
SPEC = ChannelSpec(
    kind=KIND,
    options=frozenset(OPTIONS),
    secrets=frozenset(SECRETS),
)
