"""Customers (docs/console.md, "The customer card"):

* ``GET /api/v1/contacts/{id}``: the card (details, channel identities, every
  conversation with its outcome, orders, new or returning, first and last contact);
* ``PATCH /api/v1/contacts/{id}`` ``{"name"?, "phones"?, "emails"?, "tags"?, "notes"?}``:
  answers the changed card;
* ``GET /api/v1/contacts/{id}/duplicates``: contacts sharing a phone or an e-mail;
* ``POST /api/v1/contacts/{id}/merge`` ``{"other_id"}``: supervisors and admins;
* ``GET /api/v1/conversations/{id}/contact`` and ``PUT .../contact/tags`` (a
  conversation's customer, as before).

Who may do what is checked by the use cases (``inbox.usecases.contacts``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from inbox.domain.contacts import Contact
from inbox.domain.conversations import Conversation
from inbox.domain.errors import InvalidInput
from inbox.domain.ids import ContactId, ConversationId
from inbox.domain.operators import Operator
from inbox.usecases import (
    ContactCard,
    Core,
    contact_card,
    contact_duplicates,
    conversation_contact,
    edit_contact,
    merge_contacts,
    parse_tags,
    set_contact_tags,
)
from operator_ws.rest.common import Caller, authed, json_body
from payments.service import PaymentService
from payments.views import order_view

__all__ = ["ContactRoutes", "card_view", "contact_view"]


class ContactRoutes:
    def __init__(self, core: Core, payments: PaymentService) -> None:
        self._core = core
        self._payments = payments

    def routes(self) -> list[web.RouteDef]:
        core = self._core
        return [
            web.get(
                "/api/v1/conversations/{id}/contact",
                authed(core, self.contact, scope="contacts:read"),
            ),
            web.put(
                "/api/v1/conversations/{id}/contact/tags",
                authed(core, self.tags, scope="contacts:write"),
            ),
            web.get("/api/v1/contacts/{id}", authed(core, self.card, scope="contacts:read")),
            web.patch("/api/v1/contacts/{id}", authed(core, self.edit, scope="contacts:write")),
            web.get(
                "/api/v1/contacts/{id}/duplicates",
                authed(core, self.duplicates, scope="contacts:read"),
            ),
            web.post("/api/v1/contacts/{id}/merge", authed(core, self.merge, scope=None)),
        ]

    async def contact(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        found = await conversation_contact(
            self._core, caller.operator, ConversationId(request.match_info["id"])
        )
        return web.json_response({"contact": contact_view(found)})

    async def tags(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        """``{"tags": [...]}`` replaces the contact's tags; answers the changed contact."""
        body = await json_body(request)
        changed = await set_contact_tags(
            self._core,
            caller.operator,
            ConversationId(request.match_info["id"]),
            parse_tags(body.get("tags")),
        )
        return web.json_response({"contact": contact_view(changed)})

    async def card(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        return await self._card(caller.operator, ContactId(request.match_info["id"]))

    async def edit(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        body = await json_body(request)
        contact_id = ContactId(request.match_info["id"])
        await edit_contact(self._core, caller.operator, contact_id, body)
        return await self._card(caller.operator, contact_id)

    async def duplicates(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        contact, found = await contact_duplicates(
            self._core, caller.operator, ContactId(request.match_info["id"])
        )
        return web.json_response(
            {
                "contact_id": contact.id,
                "duplicates": [
                    {
                        "contact": contact_view(d.contact),
                        "shared": {
                            "phones": list(d.shared_phones),
                            "emails": list(d.shared_emails),
                        },
                    }
                    for d in found
                ],
            }
        )

    async def merge(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        body = await json_body(request)
        other_id = body.get("other_id")
        if not isinstance(other_id, str) or not other_id:
            raise InvalidInput("other_id is required: the contact to merge into this one")
        contact_id = ContactId(request.match_info["id"])
        await merge_contacts(self._core, caller.operator, contact_id, ContactId(other_id))
        return await self._card(caller.operator, contact_id)

    async def _card(self, actor: Operator, contact_id: ContactId) -> web.StreamResponse:
        card = await contact_card(self._core, actor, contact_id)
        orders = await self._payments.contact_orders(contact_id)
        return web.json_response({"contact": card_view(card, [order_view(o) for o in orders])})


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def contact_view(contact: Contact) -> dict[str, Any]:
    """``{"id", "name", "phone", "email", "phones", "emails", "tags", "notes",
    "external_id"}``: ``phone`` and ``email`` are the first of their lists (or ``""``); tags
    sorted; ``external_id`` is the shop's id of the customer or null (docs/api.md)."""
    return {
        "id": contact.id,
        "name": contact.display_name,
        "phone": contact.phone,
        "email": contact.email,
        "phones": list(contact.phones),
        "emails": list(contact.emails),
        "tags": sorted(contact.tags),
        "notes": contact.notes,
        "external_id": contact.external_id or None,
    }


def _outcome_view(conversation: Conversation) -> dict[str, Any]:
    c = conversation
    return {
        "id": c.id,
        "channel_id": c.channel_id,
        "channel_kind": c.channel_kind,
        "status": str(c.status),
        "close_reason": c.close_reason or None,
        "assignee_id": c.assignee_id,
        "created_at": _iso(c.created_at),
        "last_message_at": _iso(c.last_message_at),
        "resolved_at": _iso(c.resolved_at),
    }


def card_view(card: ContactCard, orders: list[dict[str, Any]]) -> dict[str, Any]:
    """The contact's view plus ``identities``, ``conversations`` (outcomes, newest
    first), ``orders`` (newest first), ``returning``, ``conversation_count``,
    ``first_contact_at``, ``last_contact_at``, ``created_at`` and ``may_edit``."""
    return {
        **contact_view(card.contact),
        "created_at": _iso(card.contact.created_at),
        "identities": [
            {
                "channel_id": v.identity.channel_id,
                "channel_kind": v.channel_kind,
                "external_user_id": v.identity.external_user_id,
                "display_name": v.identity.display_name,
                "username": v.identity.username,
            }
            for v in card.identities
        ],
        "conversations": [_outcome_view(c) for c in card.conversations],
        "conversation_count": len(card.conversations),
        "returning": card.returning,
        "first_contact_at": _iso(card.first_contact_at),
        "last_contact_at": _iso(card.last_contact_at),
        "orders": orders,
        "may_edit": card.may_edit,
    }
