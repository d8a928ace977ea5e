"""The e-mail channel (IMAP in, SMTP out): docs/channels/email.md.

``create_adapter`` is what the composition root registers for the kind ``email``.
"""

from channels.email.adapter import EmailAdapter
from inbox.ports import AdapterDeps

__all__ = ["EmailAdapter", "create_adapter"]


def create_adapter(deps: AdapterDeps) -> EmailAdapter:
    """The adapter for every e-mail channel of this server; ``await adapter.close()`` at
    shutdown logs out of the mailboxes."""
    return EmailAdapter(deps)
