"""Canned replies: personal and shared (docs/console.md, "Canned replies").

* Everyone lists their own and the shared ones; another operator's private replies are
  never seen (asking for one by id is "not found", not "forbidden").
* A private reply is changed by its owner; a shared one is created and changed by
  supervisors and admins.
* A shortcut is unique per owner and among the shared replies: a second one is a
  :class:`Conflict`. A private ``/price`` may exist beside a shared ``/price``; the list
  gives the operator's own first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from inbox.domain.canned import (
    CannedReply,
    CannedReplyId,
    parse_canned_text,
    parse_shortcut,
    render_canned,
)
from inbox.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from inbox.domain.ids import ConversationId, OperatorId, new_id
from inbox.domain.operators import Operator
from inbox.ports import Tx
from inbox.usecases.access import require_see, viewer_of
from inbox.usecases.deps import Core, Outcome, run

__all__ = [
    "create_canned_reply",
    "delete_canned_reply",
    "list_canned_replies",
    "render_canned_reply",
    "update_canned_reply",
]


async def list_canned_replies(core: Core, actor: Operator) -> list[CannedReply]:
    """The actor's own replies and the shared ones, by shortcut."""

    async def work(tx: Tx) -> list[CannedReply]:
        return await tx.canned_replies.list_for(actor.id)

    return await core.store.read(work)


async def _taken(tx: Tx, owner_id: OperatorId | None, shortcut: str) -> CannedReply | None:
    return await tx.canned_replies.find(owner_id, shortcut)


def _duplicate(shortcut: str, owner_id: OperatorId | None) -> Conflict:
    whose = "a shared reply" if owner_id is None else "one of your replies"
    return Conflict(f"{whose} already has the shortcut {shortcut}")


async def create_canned_reply(
    core: Core, actor: Operator, body: Mapping[str, object]
) -> CannedReply:
    """``{"shortcut", "text", "shared"?}``. Raises :class:`InvalidInput`,
    :class:`Forbidden` (shared, by an operator) or :class:`Conflict` (a taken shortcut)."""
    shared = body.get("shared", False)
    if not isinstance(shared, bool):
        raise InvalidInput("shared must be true or false")
    if shared and not actor.role.sees_everything:
        raise Forbidden("only supervisors and admins may create shared replies")
    shortcut = parse_shortcut(body.get("shortcut"))
    text = parse_canned_text(body.get("text"))
    owner_id = None if shared else actor.id
    now = core.clock.now()
    reply = CannedReply(CannedReplyId(new_id()), shortcut, text, owner_id, now, now)

    async def work(tx: Tx) -> Outcome[CannedReply]:
        # Checked first, so a unique violation (a concurrent twin) re-runs into this.
        if await _taken(tx, owner_id, shortcut) is not None:
            raise _duplicate(shortcut, owner_id)
        await tx.canned_replies.add(reply)
        return Outcome(reply)

    return await run(core, work)


async def _changeable(tx: Tx, actor: Operator, reply_id: CannedReplyId) -> CannedReply:
    reply = await tx.canned_replies.get(reply_id)
    if reply is None or (reply.owner_id is not None and reply.owner_id != actor.id):
        raise NotFound("no such canned reply")
    if reply.shared and not actor.role.sees_everything:
        raise Forbidden("only supervisors and admins may change shared replies")
    return reply


async def update_canned_reply(
    core: Core, actor: Operator, reply_id: CannedReplyId, body: Mapping[str, object]
) -> CannedReply:
    """``{"shortcut"?, "text"?}`` (whether it is shared does not change)."""
    unknown = set(body) - {"shortcut", "text"}
    if unknown:
        raise InvalidInput(f"unknown fields: {', '.join(sorted(unknown))}")
    shortcut = parse_shortcut(body["shortcut"]) if "shortcut" in body else None
    text = parse_canned_text(body["text"]) if "text" in body else None

    async def work(tx: Tx) -> Outcome[CannedReply]:
        reply = await _changeable(tx, actor, reply_id)
        if (
            shortcut is not None
            and shortcut != reply.shortcut
            and await _taken(tx, reply.owner_id, shortcut) is not None
        ):
            raise _duplicate(shortcut, reply.owner_id)
        changed = dataclasses.replace(
            reply,
            shortcut=shortcut or reply.shortcut,
            text=text or reply.text,
            updated_at=core.clock.now(),
        )
        await tx.canned_replies.update(changed)
        return Outcome(changed)

    return await run(core, work)


async def delete_canned_reply(core: Core, actor: Operator, reply_id: CannedReplyId) -> None:
    async def work(tx: Tx) -> Outcome[None]:
        reply = await _changeable(tx, actor, reply_id)
        await tx.canned_replies.delete(reply.id)
        return Outcome(None)

    await run(core, work)


async def render_canned_reply(
    core: Core, actor: Operator, reply_id: CannedReplyId, conversation_id: ConversationId
) -> str:
    """The reply's text for a conversation the actor may see, its variables filled in
    (:func:`~inbox.domain.canned.render_canned`)."""

    viewer = await viewer_of(core, actor)

    async def work(tx: Tx) -> str:
        reply = await tx.canned_replies.get(reply_id)
        if reply is None or (reply.owner_id is not None and reply.owner_id != actor.id):
            raise NotFound("no such canned reply")
        conversation = await tx.conversations.get(conversation_id)
        if conversation is None:
            raise NotFound("no such conversation")
        require_see(viewer, conversation)
        contact = await tx.contacts.get(conversation.contact_id)
        values = {
            "customer.name": contact.display_name if contact else conversation.contact_name,
            "customer.phone": contact.phone if contact else "",
            "customer.email": contact.email if contact else "",
            "operator.name": actor.display_name,
        }
        return render_canned(reply.text, values)

    return await core.store.read(work)
