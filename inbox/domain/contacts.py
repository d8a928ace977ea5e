"""Contacts: one person, many channel identities (docs/console.md, "The customer card").

A contact keeps its first phone and e-mail in ``phone``/``email`` (what bots collect, what a
payment provider is given) and any further ones in ``extra_phones``/``extra_emails``;
:attr:`Contact.phones` and :attr:`Contact.emails` are all of them, the first first.
Duplicates across channels are found by :func:`phone_key` and :func:`email_key`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from inbox.domain.ids import ChannelId, ContactId

__all__ = ["ChannelIdentity", "Contact", "email_key", "phone_key"]


@dataclass(frozen=True, slots=True)
class Contact:
    id: ContactId
    display_name: str
    created_at: datetime
    phone: str = ""
    email: str = ""
    #: Labels operators give the customer ("vip", "wholesale"); priority rules read them.
    tags: frozenset[str] = frozenset()
    #: Phones and e-mails after the first, in the order an operator gave them.
    extra_phones: tuple[str, ...] = ()
    extra_emails: tuple[str, ...] = ()
    #: Free text operators keep about the customer.
    notes: str = ""
    #: The customer's id in the shop's own system (1C, a CRM), set through the API
    #: (docs/api.md); ``""`` for none. Looked up like phones and e-mails.
    external_id: str = ""

    @property
    def phones(self) -> tuple[str, ...]:
        return (self.phone, *self.extra_phones) if self.phone else self.extra_phones

    @property
    def emails(self) -> tuple[str, ...]:
        return (self.email, *self.extra_emails) if self.email else self.extra_emails


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


def phone_key(phone: str) -> str:
    """The phone as compared across contacts: its digits, a Russian trunk ``8`` before ten
    digits read as ``7`` (``8 900 123-45-67`` and ``+7 (900) 123 45 67`` are one number).
    ``""`` for fewer than 5 digits (nothing to compare)."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) == 11 and digits.startswith("8"):
        digits = "7" + digits[1:]
    return digits if len(digits) >= 5 else ""


def email_key(email: str) -> str:
    """The e-mail as compared across contacts: trimmed and lower-cased; ``""`` when it has
    no ``@``."""
    key = email.strip().lower()
    return key if "@" in key else ""
