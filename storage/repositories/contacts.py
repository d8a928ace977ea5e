"""Contacts and their channel identities."""

from __future__ import annotations

from sqlalchemy import insert, select, update

from inbox.domain.contacts import ChannelIdentity, Contact
from inbox.domain.ids import ChannelId, ContactId
from storage.repositories.base import SqlRepo
from storage.rows import contact_from_row, contact_values, identity_from_row, identity_values
from storage.tables import channel_identities, contacts

__all__ = ["SqlContactRepo"]


class SqlContactRepo(SqlRepo):
    """Implements :class:`inbox.ports.ContactRepo`."""

    async def get(self, contact_id: ContactId) -> Contact | None:
        row = await self._first(select(contacts).where(contacts.c.id == contact_id))
        return contact_from_row(row) if row is not None else None

    async def find_identity(
        self, channel_id: ChannelId, external_user_id: str
    ) -> ChannelIdentity | None:
        t = channel_identities
        row = await self._first(
            select(t).where(t.c.channel_id == channel_id, t.c.external_user_id == external_user_id)
        )
        return identity_from_row(row) if row is not None else None

    async def add(self, contact: Contact, identity: ChannelIdentity) -> None:
        """Insert both; an existing (channel_id, external_user_id) raises IntegrityError
        (and the store's savepoint takes the contact row back out with it)."""
        await self._run(insert(contacts).values(contact_values(contact)))
        await self._run(insert(channel_identities).values(identity_values(identity)))

    async def update_identity(self, identity: ChannelIdentity) -> None:
        t = channel_identities
        await self._run(
            update(t)
            .where(
                t.c.channel_id == identity.channel_id,
                t.c.external_user_id == identity.external_user_id,
            )
            .values(
                display_name=identity.display_name,
                username=identity.username,
                phone=identity.phone,
                email=identity.email,
            )
        )
