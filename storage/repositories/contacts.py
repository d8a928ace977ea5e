"""Contacts, their channel identities and the keys their duplicates are found by."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Table, bindparam, delete, insert, select, update

from inbox.domain.contacts import ChannelIdentity, Contact, email_key, phone_key
from inbox.domain.conversations import Conversation
from inbox.domain.ids import ChannelId, ContactId
from storage.repositories.base import SqlRepo
from storage.rows import (
    contact_from_row,
    contact_values,
    conversation_from_row,
    identity_from_row,
    identity_values,
)
from storage.tables import channel_identities, contact_points, contacts, conversations, metadata

__all__ = ["SqlContactRepo"]

_ids = channel_identities
_pts = contact_points
_GET = select(contacts).where(contacts.c.id == bindparam("id"))
_GET_FOR_UPDATE = _GET.with_for_update()
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
_LIST_IDENTITIES = (
    select(_ids)
    .where(_ids.c.contact_id == bindparam("contact_id"))
    .order_by(_ids.c.channel_id, _ids.c.external_user_id)
)
_CONVERSATIONS = (
    select(conversations)
    .where(conversations.c.contact_id == bindparam("contact_id"))
    .order_by(conversations.c.created_at.desc(), conversations.c.id.desc())
    .limit(bindparam("limit"))
)
_RENAME_CONVERSATIONS = (
    update(conversations)
    .where(
        conversations.c.contact_id == bindparam("b_contact_id"),
        conversations.c.contact_name != bindparam("b_name"),
    )
    .values(contact_name=bindparam("b_name"))
)
_DELETE_POINTS = delete(_pts).where(_pts.c.contact_id == bindparam("contact_id"))
_INSERT_POINT = insert(_pts)
_DELETE_CONTACT = delete(contacts).where(contacts.c.id == bindparam("id"))


def _sharing(contact_id: ContactId, limit: int) -> Any:
    mine, theirs = _pts.alias("mine"), _pts.alias("theirs")
    others = (
        select(theirs.c.contact_id)
        .join(mine, (mine.c.kind == theirs.c.kind) & (mine.c.key == theirs.c.key))
        .where(mine.c.contact_id == contact_id, theirs.c.contact_id != contact_id)
    )
    return (
        select(contacts)
        .where(contacts.c.id.in_(others))
        .order_by(contacts.c.created_at, contacts.c.id)
        .limit(limit)
    )


def _points(contact: Contact) -> list[dict[str, str]]:
    keys = {("phone", phone_key(p)) for p in contact.phones}
    keys |= {("email", email_key(e)) for e in contact.emails}
    if contact.external_id:
        keys.add(("external", contact.external_id))
    return [
        {"kind": kind, "key": key, "contact_id": contact.id} for kind, key in sorted(keys) if key
    ]


def _referring() -> list[tuple[Table, Column[Any]]]:
    """Every column referring to a contact but the keys' own: a merge moves their rows
    (identities, conversations, orders, and whatever a feature adds later)."""
    return [
        (table, fk.parent)
        for table in metadata.sorted_tables
        if table is not _pts
        for fk in table.foreign_keys
        if fk.column.table is contacts
    ]


class SqlContactRepo(SqlRepo):
    """Implements :class:`inbox.ports.ContactRepo`."""

    async def get(self, contact_id: ContactId) -> Contact | None:
        row = await self._first(_GET, {"id": contact_id})
        return contact_from_row(row) if row is not None else None

    async def get_for_update(self, contact_id: ContactId) -> Contact | None:
        row = await self._first(self._locked(_GET, _GET_FOR_UPDATE), {"id": contact_id})
        return contact_from_row(row) if row is not None else None

    async def find_identity(
        self, channel_id: ChannelId, external_user_id: str
    ) -> ChannelIdentity | None:
        row = await self._first(
            _FIND_IDENTITY, {"channel_id": channel_id, "external_user_id": external_user_id}
        )
        return identity_from_row(row) if row is not None else None

    async def add(self, contact: Contact, identity: ChannelIdentity | None) -> None:
        """Insert both; an existing (channel_id, external_user_id) raises IntegrityError
        (and the store's savepoint takes the contact row back out with it)."""
        await self._run(_INSERT_CONTACT, contact_values(contact))
        if identity is not None:
            await self._run(_INSERT_IDENTITY, identity_values(identity))
        await self._write_points(contact)

    async def add_identity(self, identity: ChannelIdentity) -> None:
        await self._run(_INSERT_IDENTITY, identity_values(identity))

    async def find_by_key(self, kind: str, key: str, *, limit: int = 20) -> list[Contact]:
        stmt = (
            select(contacts)
            .where(
                contacts.c.id.in_(
                    select(_pts.c.contact_id).where(_pts.c.kind == kind, _pts.c.key == key)
                )
            )
            .order_by(contacts.c.created_at, contacts.c.id)
            .limit(limit)
        )
        return [contact_from_row(r) for r in await self._all(stmt)]

    async def set_tags(self, contact_id: ContactId, tags: frozenset[str]) -> None:
        await self._run(_SET_TAGS, {"b_id": contact_id, "tags": sorted(tags)})

    async def set_details(
        self, contact_id: ContactId, *, phone: str | None = None, email: str | None = None
    ) -> None:
        values = {k: v for k, v in (("phone", phone), ("email", email)) if v is not None}
        if values:
            await self._run(_SET_TAGS, {"b_id": contact_id, **values})
            changed = await self.get(contact_id)
            if changed is not None:
                await self._write_points(changed, replace=True)

    async def update(self, contact: Contact) -> None:
        values = contact_values(contact)
        values.pop("created_at")
        values["b_id"] = values.pop("id")
        await self._run(_SET_TAGS, values)
        await self._write_points(contact, replace=True)
        # The lists show the name conversations were stored with: give them the new one.
        await self._run(
            _RENAME_CONVERSATIONS, {"b_contact_id": contact.id, "b_name": contact.display_name}
        )

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

    async def list_identities(self, contact_id: ContactId) -> list[ChannelIdentity]:
        rows = await self._all(_LIST_IDENTITIES, {"contact_id": contact_id})
        return [identity_from_row(r) for r in rows]

    async def list_conversations(
        self, contact_id: ContactId, *, limit: int = 500
    ) -> list[Conversation]:
        rows = await self._all(_CONVERSATIONS, {"contact_id": contact_id, "limit": limit})
        return [conversation_from_row(r) for r in rows]

    async def find_sharing(self, contact_id: ContactId, *, limit: int = 20) -> list[Contact]:
        return [contact_from_row(r) for r in await self._all(_sharing(contact_id, limit))]

    async def merge(self, keep: Contact, other_id: ContactId) -> None:
        for table, column in _referring():
            await self._run(
                update(table)
                .where(column == bindparam("b_other"))
                .values({column.name: bindparam("b_keep")}),
                {"b_other": other_id, "b_keep": keep.id},
            )
        await self._run(_DELETE_POINTS, {"contact_id": other_id})
        await self._run(_DELETE_CONTACT, {"id": other_id})
        await self.update(keep)

    async def _write_points(self, contact: Contact, *, replace: bool = False) -> None:
        if replace:
            await self._run(_DELETE_POINTS, {"contact_id": contact.id})
        for point in _points(contact):
            await self._run(_INSERT_POINT, point)
