"""The WhatsApp Cloud API channel (docs/channels/whatsapp.md)."""

from channels.whatsapp.adapter import WhatsAppAdapter
from inbox.ports import AdapterDeps

__all__ = ["WhatsAppAdapter", "create_adapter"]


def create_adapter(deps: AdapterDeps) -> WhatsAppAdapter:
    """The factory the composition root registers under ``"whatsapp"``."""
    return WhatsAppAdapter(deps)
