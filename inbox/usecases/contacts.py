"""Contacts as operators see, edit, label and merge them (docs/console.md, "The customer
card").

Who may do what, checked here for every call:

* see a contact's card (and its duplicates): supervisors and admins any; an operator a
  contact with a conversation they may see;
* edit it (name, phones, e-mails, tags, notes): supervisors and admins any; an operator
  a contact with a conversation they can act on (assigned to them);
* merge two: supervisors and admins only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from inbox.domain.contacts import ChannelIdentity, Contact, email_key, phone_key
from inbox.domain.conversations import Conversation
from inbox.domain.errors import Forbidden, InvalidInput, NotFound
from inbox.domain.events import ConversationChanged, Event
from inbox.domain.ids import ChannelId, ContactId, ConversationId
from inbox.domain.operators import Operator
from inbox.ports import Tx
from inbox.usecases.access import Viewer, can_act, can_see, require_act, require_see, viewer_of
from inbox.usecases.deps import Core, Outcome, run

__all__ = [
    "MAX_TAGS",
    "ContactCard",
    "ContactIdentityView",
    "Duplicate",
    "contact_card",
    "contact_duplicates",
    "conversation_contact",
    "edit_contact",
    "merge_contacts",
    "merged_contact",
    "parse_contact_changes",
    "parse_tags",
    "set_contact_tags",
]

MAX_TAGS = 20
MAX_POINTS = 10
MAX_NAME = 200
MAX_NOTES = 10_000
_TAG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-:.")


def parse_tags(raw: object) -> frozenset[str]:
    """A list of tags: lower-cased, 1..32 of ``a-z 0-9 _ - : .`` each, at most
    :data:`MAX_TAGS`. Raises :class:`InvalidInput`."""
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        raise InvalidInput("tags must be a list of strings")
    tags = frozenset(str(t).strip().lower() for t in raw)
    for tag in tags:
        if not 1 <= len(tag) <= 32 or not set(tag) <= _TAG_CHARS:
            raise InvalidInput(f"bad tag {tag[:40]!r}: 1..32 of a-z 0-9 _ - : .")
    if len(tags) > MAX_TAGS:
        raise InvalidInput(f"at most {MAX_TAGS} tags")
    return tags


# --------------------------------------------------------------------------- the card


@dataclass(frozen=True, slots=True)
class ContactIdentityView:
    """A channel identity with its channel's kind (the card shows "Telegram: @ann")."""

    identity: ChannelIdentity
    channel_kind: str


@dataclass(frozen=True, slots=True)
class ContactCard:
    """Everything the core knows about a customer; features add theirs (orders) beside.

    ``conversations`` are every conversation of the contact on every channel, newest
    first, as outcomes (status, close reason, last message time): a plain operator who
    may open one of them sees that the others exist, not what was said in them.
    """

    contact: Contact
    identities: tuple[ContactIdentityView, ...]
    conversations: tuple[Conversation, ...]
    may_edit: bool

    @property
    def returning(self) -> bool:
        """More than one conversation: a returning customer."""
        return len(self.conversations) > 1

    @property
    def first_contact_at(self) -> datetime:
        times = [c.created_at for c in self.conversations]
        return min(times) if times else self.contact.created_at

    @property
    def last_contact_at(self) -> datetime:
        times = [c.last_message_at or c.created_at for c in self.conversations]
        return max(times) if times else self.contact.created_at


async def _load(tx: Tx, contact_id: ContactId, *, lock: bool = False) -> Contact:
    contact = await (tx.contacts.get_for_update if lock else tx.contacts.get)(contact_id)
    if contact is None:
        raise NotFound("no such contact")
    return contact


def _require_card(viewer: Viewer, conversations: Sequence[Conversation]) -> None:
    if viewer.visibility.sees_all or any(can_see(viewer, c) for c in conversations):
        return
    raise Forbidden("you may not see this customer: none of their conversations is yours")


def _may_edit(actor: Operator, conversations: Sequence[Conversation]) -> bool:
    return actor.role.sees_everything or any(can_act(actor, c) for c in conversations)


async def contact_card(core: Core, actor: Operator, contact_id: ContactId) -> ContactCard:
    """The customer card. Raises :class:`NotFound` or :class:`Forbidden`."""

    viewer = await viewer_of(core, actor)

    async def work(tx: Tx) -> ContactCard:
        contact = await _load(tx, contact_id)
        conversations = await tx.contacts.list_conversations(contact_id)
        _require_card(viewer, conversations)
        kinds: dict[ChannelId, str] = {}
        views = []
        for identity in await tx.contacts.list_identities(contact_id):
            if identity.channel_id not in kinds:
                channel = await tx.channels.get(identity.channel_id)
                kinds[identity.channel_id] = str(channel.kind) if channel else ""
            views.append(ContactIdentityView(identity, kinds[identity.channel_id]))
        return ContactCard(
            contact, tuple(views), tuple(conversations), _may_edit(actor, conversations)
        )

    return await core.store.read(work)


# --------------------------------------------------------------------------- editing


def _points(raw: object, what: str, key: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise InvalidInput(f"{what} must be a list of strings")
    found: list[str] = []
    keys: set[str] = set()
    for item in raw:
        value = " ".join(str(item).split())
        if not value:
            continue
        if len(value) > 200 or not key(value):
            raise InvalidInput(f"not a valid {what[:-1]}: {value[:60]!r}")
        if key(value) not in keys:
            keys.add(key(value))
            found.append(value)
    if len(found) > MAX_POINTS:
        raise InvalidInput(f"at most {MAX_POINTS} {what}")
    return tuple(found)


def parse_contact_changes(contact: Contact, body: Mapping[str, object]) -> Contact:
    """``contact`` with the fields a ``PATCH`` body gives: ``name``, ``phones``,
    ``emails`` (lists, the first is the main one), ``tags``, ``notes``; other keys are
    refused. Raises :class:`InvalidInput`."""
    unknown = set(body) - {"name", "phones", "emails", "tags", "notes"}
    if unknown:
        raise InvalidInput(f"unknown fields: {', '.join(sorted(unknown))}")
    changed = contact
    if "name" in body:
        name = body["name"]
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= MAX_NAME:
            raise InvalidInput(f"name is 1..{MAX_NAME} characters")
        changed = dataclasses.replace(changed, display_name=name.strip())
    if "phones" in body:
        phones = _points(body["phones"], "phones", phone_key)
        changed = dataclasses.replace(
            changed, phone=phones[0] if phones else "", extra_phones=phones[1:]
        )
    if "emails" in body:
        emails = _points(body["emails"], "emails", email_key)
        changed = dataclasses.replace(
            changed, email=emails[0] if emails else "", extra_emails=emails[1:]
        )
    if "tags" in body:
        changed = dataclasses.replace(changed, tags=parse_tags(body["tags"]))
    if "notes" in body:
        notes = body["notes"]
        if not isinstance(notes, str) or len(notes) > MAX_NOTES:
            raise InvalidInput(f"notes are text of at most {MAX_NOTES} characters")
        changed = dataclasses.replace(changed, notes=notes.strip())
    return changed


def _renamed(conversations: Sequence[Conversation], contact: Contact) -> list[Event]:
    """Lists show the contact's name: tell consoles about the conversations that got
    a new one (or moved to this contact)."""
    return [
        ConversationChanged(
            dataclasses.replace(c, contact_id=contact.id, contact_name=contact.display_name),
            "updated",
            c.assignee_id,
            c.status,
        )
        for c in conversations
        if c.contact_name != contact.display_name or c.contact_id != contact.id
    ]


async def edit_contact(
    core: Core, actor: Operator, contact_id: ContactId, body: Mapping[str, object]
) -> Contact:
    """Change the fields ``body`` gives (:func:`parse_contact_changes`). Raises
    :class:`NotFound`, :class:`Forbidden` or :class:`InvalidInput`."""

    viewer = await viewer_of(core, actor)

    async def work(tx: Tx) -> Outcome[Contact]:
        contact = await _load(tx, contact_id, lock=True)
        conversations = await tx.contacts.list_conversations(contact_id)
        _require_card(viewer, conversations)
        if not _may_edit(actor, conversations):
            raise Forbidden("only the operator of one of the customer's conversations may edit it")
        changed = parse_contact_changes(contact, body)
        if changed == contact:
            return Outcome(contact)
        await tx.contacts.update(changed)
        return Outcome(changed, _renamed(conversations, changed))

    return await run(core, work)


# --------------------------------------------------------------------------- duplicates


@dataclass(frozen=True, slots=True)
class Duplicate:
    """Another contact that shares ``phones``/``emails`` (as the other one writes them)
    with the one asked about: a suggestion to merge."""

    contact: Contact
    shared_phones: tuple[str, ...]
    shared_emails: tuple[str, ...]


async def contact_duplicates(
    core: Core, actor: Operator, contact_id: ContactId
) -> tuple[Contact, list[Duplicate]]:
    """The contact and the others sharing a phone or e-mail with it (on any channel),
    oldest first. Who may see the card may ask."""

    viewer = await viewer_of(core, actor)

    async def work(tx: Tx) -> tuple[Contact, list[Duplicate]]:
        contact = await _load(tx, contact_id)
        _require_card(viewer, await tx.contacts.list_conversations(contact_id))
        phones = {phone_key(p) for p in contact.phones}
        emails = {email_key(e) for e in contact.emails}
        return contact, [
            Duplicate(
                other,
                tuple(p for p in other.phones if phone_key(p) in phones),
                tuple(e for e in other.emails if email_key(e) in emails),
            )
            for other in await tx.contacts.find_sharing(contact_id)
        ]

    return await core.store.read(work)


# --------------------------------------------------------------------------- merging


def _union(first: Sequence[str], second: Sequence[str], key: Any) -> tuple[str, ...]:
    seen: set[str] = set()
    out: list[str] = []
    for value in (*first, *second):
        k = key(value) or value
        if k not in seen:
            seen.add(k)
            out.append(value)
    return tuple(out)


def merged_contact(keep: Contact, other: Contact) -> Contact:
    """``keep`` with ``other``'s phones, e-mails and tags added (``keep``'s first stay
    first), its notes appended, its name and its external id when ``keep`` has none."""
    phones = _union(keep.phones, other.phones, phone_key)
    emails = _union(keep.emails, other.emails, email_key)
    notes = "\n\n".join(n for n in dict.fromkeys((keep.notes, other.notes)) if n)
    return dataclasses.replace(
        keep,
        display_name=keep.display_name or other.display_name,
        phone=phones[0] if phones else "",
        extra_phones=phones[1:],
        email=emails[0] if emails else "",
        extra_emails=emails[1:],
        tags=keep.tags | other.tags,
        notes=notes,
        external_id=keep.external_id or other.external_id,
        created_at=min(keep.created_at, other.created_at),
    )


async def merge_contacts(
    core: Core, actor: Operator, contact_id: ContactId, other_id: ContactId
) -> Contact:
    """Merge ``other_id`` into ``contact_id`` in one transaction, keeping all history:
    its channel identities, conversations and orders move over, phones, e-mails and tags
    are united, and the other contact is deleted. Supervisors and admins only. Raises
    :class:`Forbidden`, :class:`NotFound` or :class:`InvalidInput` (itself)."""
    if not actor.role.sees_everything:
        raise Forbidden("only supervisors and admins may merge contacts")
    if contact_id == other_id:
        raise InvalidInput("a contact cannot be merged with itself: give another other_id")

    async def work(tx: Tx) -> Outcome[Contact]:
        # Lock order: by id, the same in every merge, so two crossing merges cannot deadlock.
        for cid in sorted((contact_id, other_id)):
            await _load(tx, cid, lock=True)
        keep, other = await _load(tx, contact_id), await _load(tx, other_id)
        conversations = [
            *await tx.contacts.list_conversations(contact_id),
            *await tx.contacts.list_conversations(other_id),
        ]
        merged = merged_contact(keep, other)
        await tx.contacts.merge(merged, other_id)
        return Outcome(merged, _renamed(conversations, merged))

    return await run(core, work)


# --------------------------------------------------------------------------- by conversation


async def _contact_of(tx: Tx, conversation_id: ConversationId, viewer: Viewer) -> Contact:
    conversation = await tx.conversations.get(conversation_id)
    if conversation is None:
        raise NotFound("no such conversation")
    require_see(viewer, conversation)
    contact = await tx.contacts.get(conversation.contact_id)
    if contact is None:
        raise NotFound("no such contact")
    return contact


async def conversation_contact(
    core: Core, actor: Operator, conversation_id: ConversationId
) -> Contact:
    """The customer of a conversation the actor may see."""

    viewer = await viewer_of(core, actor)

    async def work(tx: Tx) -> Contact:
        return await _contact_of(tx, conversation_id, viewer)

    return await core.store.read(work)


async def set_contact_tags(
    core: Core, actor: Operator, conversation_id: ConversationId, tags: frozenset[str]
) -> Contact:
    """Replace the tags of the conversation's customer: its assignee or a supervisor.
    Priority rules read them when the customer next enters a queue (a VIP goes first)."""

    viewer = await viewer_of(core, actor)

    async def work(tx: Tx) -> Outcome[Contact]:
        conversation = await tx.conversations.get_for_update(conversation_id)
        if conversation is None:
            raise NotFound("no such conversation")
        require_act(actor, conversation)
        contact = await _contact_of(tx, conversation_id, viewer)
        await tx.contacts.set_tags(contact.id, tags)
        return Outcome(dataclasses.replace(contact, tags=tags))

    return await run(core, work)
