"""Contacts and their channel identities."""

from __future__ import annotations

from sqlalchemy import bindparam, insert, select, update

from inbox.domain.contacts import ChannelIdentity, Contact
from inbox.domain.ids import ChannelId, ContactId
from storage.repositories.base import SqlRepo
from storage.rows import contact_from_row, contact_values, identity_from_row, identity_values
from storage.tables import channel_identities, contacts

__all__ = ["SqlContactRepo"]

_ids = channel_identities
_GET = select(contacts).where(contacts.c.id == bindparam("id"))
_FIND_IDENTITY = select(_ids).where(
    _ids.c.channel_id == bindparam("channel_id"),
    _ids.c.external_user_id == bindparam("external_user_id"),
)
_INSERT_CONTACT = insert(contacts)
_INSERT_IDENTITY = insert(_ids)
#: ``tags``, ``phone``, ``email``: the columns given with the row are the ones set.
_SET_TAGS = update(contacts).where(contacts.c.id == bindparam("b_id"))
_UPDATE_IDENTITY = update(_ids).where(
    _ids.c.channel_id == bindparam("b_channel_id"),
    _ids.c.external_user_id == bindparam("b_external_user_id"),
)


class SqlContactRepo(SqlRepo):
    """Implements :class:`inbox.ports.ContactRepo`."""

    async def get(self, contact_id: ContactId) -> Contact | None:
        row = await self._first(_GET, {"id": contact_id})
        return contact_from_row(row) if row is not None else None

    async def find_identity(
        self, channel_id: ChannelId, external_user_id: str
    ) -> ChannelIdentity | None:
        row = await self._first(
            _FIND_IDENTITY, {"channel_id": channel_id, "external_user_id": external_user_id}
        )
        return identity_from_row(row) if row is not None else None

    async def add(self, contact: Contact, identity: ChannelIdentity) -> None:
        """Insert both; an existing (channel_id, external_user_id) raises IntegrityError
        (and the store's savepoint takes the contact row back out with it)."""
        await self._run(_INSERT_CONTACT, contact_values(contact))
        await self._run(_INSERT_IDENTITY, identity_values(identity))

    async def set_tags(self, contact_id: ContactId, tags: frozenset[str]) -> None:
        await self._run(_SET_TAGS, {"b_id": contact_id, "tags": sorted(tags)})

    async def set_details(
        self, contact_id: ContactId, *, phone: str | None = None, email: str | None = None
    ) -> None:
        values = {k: v for k, v in (("phone", phone), ("email", email)) if v is not None}
        if values:
            await self._run(_SET_TAGS, {"b_id": contact_id, **values})

    async def update_identity(self, identity: ChannelIdentity) -> None:
        await self._run(
            _UPDATE_IDENTITY,
            {
                "b_channel_id": identity.channel_id,
                "b_external_user_id": identity.external_user_id,
                "display_name": identity.display_name,
                "username": identity.username,
                "phone": identity.phone,
                "email": identity.email,
            },
        )
