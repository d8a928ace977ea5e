"""Channels: one configured connection to a messenger, mailbox or the web chat."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import NewType

from inbox.domain.ids import ChannelId

__all__ = ["Channel", "ChannelKind"]

#: A channel kind's name (``"telegram"``, ``"email"``...). Open on purpose: the kinds are
#: declared by the installed channel packages (``channels/<kind>/spec.py``) and collected
#: by the root in a :class:`~inbox.domain.channel_spec.ChannelCatalog`, not listed here.
ChannelKind = NewType("ChannelKind", str)


@dataclass(frozen=True, slots=True)
class Channel:
    """``options`` hold credentials and settings: they never leave the server.

    :meth:`ChannelCatalog.public_view <inbox.domain.channel_spec.ChannelCatalog.public_view>`
    is what the console and the CLI may show (the kind's spec says which options are secret).
    """

    id: ChannelId
    kind: ChannelKind
    name: str
    created_at: datetime
    options: Mapping[str, str] = field(default_factory=dict)
    enabled: bool = True
