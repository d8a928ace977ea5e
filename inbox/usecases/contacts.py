"""Contacts as operators see and label them."""

from __future__ import annotations

import dataclasses

from inbox.domain.contacts import Contact
from inbox.domain.errors import InvalidInput, NotFound
from inbox.domain.ids import ConversationId
from inbox.domain.operators import Operator
from inbox.ports import Tx
from inbox.usecases.access import require_act, require_see
from inbox.usecases.deps import Core, Outcome, run

__all__ = ["MAX_TAGS", "conversation_contact", "parse_tags", "set_contact_tags"]

MAX_TAGS = 20
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


async def _contact_of(tx: Tx, conversation_id: ConversationId, actor: Operator) -> Contact:
    conversation = await tx.conversations.get(conversation_id)
    if conversation is None:
        raise NotFound("no such conversation")
    require_see(actor, conversation)
    contact = await tx.contacts.get(conversation.contact_id)
    if contact is None:
        raise NotFound("no such contact")
    return contact


async def conversation_contact(
    core: Core, actor: Operator, conversation_id: ConversationId
) -> Contact:
    """The customer of a conversation the actor may see."""

    async def work(tx: Tx) -> Contact:
        return await _contact_of(tx, conversation_id, actor)

    return await core.store.read(work)


async def set_contact_tags(
    core: Core, actor: Operator, conversation_id: ConversationId, tags: frozenset[str]
) -> Contact:
    """Replace the tags of the conversation's customer: its assignee or a supervisor.
    Priority rules read them when the customer next enters a queue (a VIP goes first)."""

    async def work(tx: Tx) -> Outcome[Contact]:
        conversation = await tx.conversations.get_for_update(conversation_id)
        if conversation is None:
            raise NotFound("no such conversation")
        require_act(actor, conversation)
        contact = await _contact_of(tx, conversation_id, actor)
        await tx.contacts.set_tags(contact.id, tags)
        return Outcome(dataclasses.replace(contact, tags=tags))

    return await run(core, work)
