"""The Telegram channel (Bot API through python-telegram-bot 22.x): docs/channels/telegram.md.

``create_adapter`` is what the composition root registers for the kind ``telegram``.
"""

from channels.telegram.adapter import TelegramAdapter
from inbox.ports import AdapterDeps

__all__ = ["TelegramAdapter", "create_adapter"]


def create_adapter(deps: AdapterDeps) -> TelegramAdapter:
    """A new adapter for every Telegram channel of this server; ``await adapter.close()``
    at shutdown closes its HTTP connections."""
    return TelegramAdapter(deps)
