"""A conversation's customer: ``GET /api/v1/conversations/{id}/contact`` and
``PUT /api/v1/conversations/{id}/contact/tags``."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from inbox.domain.contacts import Contact
from inbox.domain.ids import ConversationId
from inbox.usecases import Core, conversation_contact, parse_tags, set_contact_tags
from operator_ws.rest.common import Caller, authed, json_body

__all__ = ["ContactRoutes"]


class ContactRoutes:
    def __init__(self, core: Core) -> None:
        self._core = core

    def routes(self) -> list[web.RouteDef]:
        core = self._core
        return [
            web.get("/api/v1/conversations/{id}/contact", authed(core, self.contact)),
            web.put("/api/v1/conversations/{id}/contact/tags", authed(core, self.tags)),
        ]

    async def contact(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        found = await conversation_contact(
            self._core, caller.operator, ConversationId(request.match_info["id"])
        )
        return web.json_response({"contact": _contact_view(found)})

    async def tags(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        """``{"tags": [...]}`` replaces the contact's tags; answers the changed contact."""
        body = await json_body(request)
        changed = await set_contact_tags(
            self._core,
            caller.operator,
            ConversationId(request.match_info["id"]),
            parse_tags(body.get("tags")),
        )
        return web.json_response({"contact": _contact_view(changed)})


def _contact_view(contact: Contact) -> dict[str, Any]:
    """``{"id", "name", "phone", "email", "tags"}``, tags sorted."""
    return {
        "id": contact.id,
        "name": contact.display_name,
        "phone": contact.phone,
        "email": contact.email,
        "tags": sorted(contact.tags),
    }
