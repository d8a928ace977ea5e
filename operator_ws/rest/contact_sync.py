"""The shop's contacts API (docs/api.md, "Inbound API"):

* ``PUT /api/v1/contacts`` ``{"external_id"?, "phone"?, "email"?, "name"?, "tags"?,
  "notes"?}``: finds the contact by external id, phone or e-mail and updates it, or
  creates it → 201 (created) or 200 ``{"contact", "created"}``;
* ``GET /api/v1/contacts?phone=|email=|external_id=``: the matching contacts' cards with
  their conversations (``{"contacts": [...]}``, oldest contact first).

Matching and who may call it: ``inbox.usecases.contact_sync``."""

from __future__ import annotations

from aiohttp import web

from inbox.usecases import Core
from inbox.usecases.contact_sync import (
    find_contacts,
    parse_contact_data,
    parse_match,
    upsert_contact,
)
from operator_ws.rest.common import Caller, authed, json_body
from operator_ws.rest.contacts import card_view, contact_view

__all__ = ["ContactSyncRoutes"]


class ContactSyncRoutes:
    def __init__(self, core: Core) -> None:
        self._core = core

    def routes(self) -> list[web.RouteDef]:
        core = self._core
        return [
            web.put("/api/v1/contacts", authed(core, self.upsert, scope="contacts:write")),
            web.get("/api/v1/contacts", authed(core, self.find, scope="contacts:read")),
        ]

    async def upsert(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        data = parse_contact_data(await json_body(request))
        result = await upsert_contact(self._core, caller.operator, data)
        return web.json_response(
            {"contact": contact_view(result.contact), "created": result.created},
            status=201 if result.created else 200,
        )

    async def find(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        match = parse_match(
            {k: request.query.get(k, "") for k in ("external_id", "phone", "email")}
        )
        cards = await find_contacts(self._core, caller.operator, match)
        views = []
        for card in cards:
            view = card_view(card, [])
            del view["orders"]  # orders are the orders API's (scope orders:read)
            views.append(view)
        return web.json_response({"contacts": views})
