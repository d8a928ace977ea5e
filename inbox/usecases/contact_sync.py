"""The shop's contacts API (docs/api.md, "Inbound API"): create or update a contact by
its external id, phone or e-mail, and look contacts up by one of them.

Matching, in this order: the external id (the shop's own customer id), then the phone,
then the e-mail (compared as :func:`~inbox.domain.contacts.phone_key` and ``email_key``:
``8 900 123-45-67`` is ``+7 900 1234567``). A request that names an external id never
matches, by phone or e-mail, a contact carrying another one: two customers of the shop who
share a phone stay two contacts. Several matches take the oldest contact.

Two concurrent upserts of the same new customer may create two contacts (there is no
unique key across phones and e-mails); the console's duplicates and merge join them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from inbox.domain.contacts import ChannelIdentity, Contact, email_key, phone_key
from inbox.domain.errors import Forbidden, InvalidInput
from inbox.domain.ids import ChannelId, ContactId, new_id
from inbox.domain.operators import Operator
from inbox.ports import Tx
from inbox.usecases.contacts import (
    MAX_NAME,
    MAX_NOTES,
    MAX_POINTS,
    ContactCard,
    contact_card,
    parse_tags,
)
from inbox.usecases.deps import Core, Outcome, run

__all__ = [
    "ContactData",
    "ContactMatch",
    "UpsertResult",
    "find_contacts",
    "parse_contact_data",
    "parse_match",
    "upsert_contact",
]

MAX_EXTERNAL_ID = 200
_FIELDS = {"external_id", "phone", "email", "name", "tags", "notes"}


@dataclass(frozen=True, slots=True)
class ContactMatch:
    """What identifies a customer: at least one of the three."""

    external_id: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True, slots=True)
class ContactData:
    """A contact as the shop sends it: how to find it and what to set (``None``: keep)."""

    match: ContactMatch
    name: str | None = None
    tags: frozenset[str] | None = None
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class UpsertResult:
    contact: Contact
    created: bool
    #: The contact's identity on ``on_channel`` when one was asked for.
    identity: ChannelIdentity | None = None


def _text(body: Mapping[str, object], key: str, limit: int) -> str:
    value = body.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{key} must be a string")
    value = " ".join(value.split())
    if len(value) > limit:
        raise InvalidInput(f"{key} is at most {limit} characters")
    return value


def parse_match(body: Mapping[str, object]) -> ContactMatch:
    """``external_id``, ``phone``, ``email`` of ``body``, checked; raises
    :class:`InvalidInput` for a bad one or when none is given."""
    match = ContactMatch(
        external_id=_text(body, "external_id", MAX_EXTERNAL_ID),
        phone=_text(body, "phone", 200),
        email=_text(body, "email", 200),
    )
    if match.phone and not phone_key(match.phone):
        raise InvalidInput(f"not a valid phone: {match.phone[:60]!r}")
    if match.email and not email_key(match.email):
        raise InvalidInput(f"not a valid e-mail: {match.email[:60]!r}")
    if not (match.external_id or match.phone or match.email):
        raise InvalidInput("give at least one of external_id, phone, email")
    return match


def parse_contact_data(body: Mapping[str, object]) -> ContactData:
    """A ``PUT /api/v1/contacts`` body; raises :class:`InvalidInput` (unknown fields
    too, so a typo is not silently ignored)."""
    unknown = set(body) - _FIELDS
    if unknown:
        raise InvalidInput(f"unknown fields: {', '.join(sorted(unknown))}")
    name = _text(body, "name", MAX_NAME) if "name" in body else None
    notes = body.get("notes")
    if notes is not None and (not isinstance(notes, str) or len(notes) > MAX_NOTES):
        raise InvalidInput(f"notes are text of at most {MAX_NOTES} characters")
    return ContactData(
        match=parse_match(body),
        name=name or None,
        tags=parse_tags(body["tags"]) if "tags" in body else None,
        notes=notes.strip() if isinstance(notes, str) else None,
    )


async def _find(tx: Tx, match: ContactMatch) -> Contact | None:
    if match.external_id:
        found = await tx.contacts.find_by_key("external", match.external_id, limit=1)
        if found:
            return found[0]
    for kind, key in (("phone", phone_key(match.phone)), ("email", email_key(match.email))):
        if not key:
            continue
        for contact in await tx.contacts.find_by_key(kind, key):
            if not match.external_id or contact.external_id in ("", match.external_id):
                return contact
    return None


def _with_point(
    first: str, extra: tuple[str, ...], value: str, key: Callable[[str], str], what: str
) -> tuple[str, ...]:
    """The contact's phones (or e-mails) with ``value`` added at the end unless it is
    there already; raises :class:`InvalidInput` past :data:`MAX_POINTS` (nothing is
    dropped silently)."""
    points = (first, *extra) if first else extra
    if not value or any(key(p) == key(value) for p in points):
        return points
    if len(points) >= MAX_POINTS:
        raise InvalidInput(f"the contact has {MAX_POINTS} {what} already; remove one first")
    return (*points, value)


def _changed(contact: Contact, data: ContactData) -> Contact:
    phones = _with_point(contact.phone, contact.extra_phones, data.match.phone, phone_key, "phones")
    emails = _with_point(
        contact.email, contact.extra_emails, data.match.email, email_key, "e-mails"
    )
    return dataclasses.replace(
        contact,
        display_name=data.name or contact.display_name,
        phone=phones[0] if phones else "",
        extra_phones=phones[1:],
        email=emails[0] if emails else "",
        extra_emails=emails[1:],
        external_id=data.match.external_id or contact.external_id,
        tags=data.tags if data.tags is not None else contact.tags,
        notes=data.notes if data.notes is not None else contact.notes,
    )


async def upsert_contact(
    core: Core, actor: Operator, data: ContactData, *, on_channel: ChannelId | None = None
) -> UpsertResult:
    """Find the contact (see the module) and set what ``data`` gives, or create it. With
    ``on_channel`` it also gets an identity there (the API channel's requests are
    ingested as that identity's messages). The actor must see every customer (a
    supervisor, an admin, or an API token's principal)."""
    _require_all(actor)

    async def work(tx: Tx) -> Outcome[UpsertResult]:
        now = core.clock.now()
        found = await _find(tx, data.match)
        if found is None:
            name = data.name or data.match.phone or data.match.email or data.match.external_id
            blank = Contact(id=ContactId(new_id()), display_name=name, created_at=now)
            contact = _changed(blank, data)
            await tx.contacts.add(contact, None)
            created = True
        else:
            locked = await tx.contacts.get_for_update(found.id)
            assert locked is not None
            contact = _changed(locked, data)
            if contact != locked:
                await tx.contacts.update(contact)
            created = False
        identity = None
        if on_channel is not None:
            identity = await tx.contacts.find_identity(on_channel, contact.id)
            if identity is None:
                identity = ChannelIdentity(
                    contact.id, on_channel, contact.id, display_name=contact.display_name
                )
                await tx.contacts.add_identity(identity)
        return Outcome(UpsertResult(contact, created, identity))

    return await run(core, work)


async def find_contacts(core: Core, actor: Operator, match: ContactMatch) -> list[ContactCard]:
    """The cards (with every conversation) of the contacts matching any key given, oldest
    first, at most 20 per key."""

    async def work(tx: Tx) -> list[ContactId]:
        ids: dict[ContactId, None] = {}
        for kind, key in (
            ("external", match.external_id),
            ("phone", phone_key(match.phone)),
            ("email", email_key(match.email)),
        ):
            if key:
                for contact in await tx.contacts.find_by_key(kind, key):
                    ids[contact.id] = None
        return list(ids)

    _require_all(actor)
    return [await contact_card(core, actor, cid) for cid in await core.store.read(work)]


def _require_all(actor: Operator) -> None:
    """Matching by phone or e-mail reaches any customer: supervisors, admins and API
    tokens' principals only."""
    if not actor.role.sees_everything:
        raise Forbidden("only supervisors and admins use the contacts API")
