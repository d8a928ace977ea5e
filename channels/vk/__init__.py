"""The VK channel: a community's messages through the Callback API (docs/channels/vk.md)."""

from channels.vk.adapter import VkAdapter
from inbox.ports import AdapterDeps

__all__ = ["VkAdapter", "create_adapter"]


def create_adapter(deps: AdapterDeps) -> VkAdapter:
    """The factory the composition root registers for kind ``vk``."""
    return VkAdapter(deps)
