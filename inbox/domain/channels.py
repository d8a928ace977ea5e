"""Channels: one configured connection to a messenger, mailbox or the web chat."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from inbox.domain.ids import ChannelId

__all__ = ["Channel", "ChannelKind"]


class ChannelKind(StrEnum):
    WEBCHAT = "webchat"
    TELEGRAM = "telegram"
    VK = "vk"
    WHATSAPP = "whatsapp"
    VIBER = "viber"
    EMAIL = "email"


@dataclass(frozen=True, slots=True)
class Channel:
    """``options`` hold credentials and settings: they never leave the server.

    :meth:`public_view` is what the console and the CLI may show.
    """

    id: ChannelId
    kind: ChannelKind
    name: str
    created_at: datetime
    options: Mapping[str, str] = field(default_factory=dict)
    enabled: bool = True

    #: Option names whose values are secrets (never printed, logged or sent to a browser).
    SECRET_OPTIONS = frozenset(
        {
            "token",
            "secret",
            "app_secret",
            "verify_token",
            "password",
            "webhook_secret",
            "visitor_secret",
            "confirmation",
        }
    )

    def public_view(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": str(self.kind),
            "name": self.name,
            "enabled": self.enabled,
            "options": {
                k: ("***" if k in self.SECRET_OPTIONS else v) for k, v in self.options.items()
            },
            "created_at": self.created_at.isoformat(),
        }
