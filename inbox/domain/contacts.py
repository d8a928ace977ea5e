"""Contacts: one person, many channel identities."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from inbox.domain.ids import ChannelId, ContactId

__all__ = ["ChannelIdentity", "Contact"]


@dataclass(frozen=True, slots=True)
class Contact:
    id: ContactId
    display_name: str
    created_at: datetime
    phone: str = ""
    email: str = ""
    #: Labels operators give the customer ("vip", "wholesale"); priority rules read them.
    tags: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ChannelIdentity:
    """How one contact is known on one channel. (channel_id, external_user_id) is unique."""

    contact_id: ContactId
    channel_id: ChannelId
    external_user_id: str
    display_name: str = ""
    username: str = ""
    phone: str = ""
    email: str = ""
