"""Close reasons and resolving over REST (docs/console.md, "Close reasons"):

* ``GET /api/v1/close-reasons`` → ``{"reasons": [...]}`` (every operator);
* ``PUT /api/v1/close-reasons`` ``{"reasons": [...]}`` (admins; never empty);
* ``POST /api/v1/conversations/{id}/resolve`` ``{"reason"?}`` → ``{"conversation"}``, as
  the WebSocket command ``conversation.resolve`` does.
"""

from __future__ import annotations

from aiohttp import web

from inbox.domain.errors import InvalidInput
from inbox.domain.ids import ConversationId
from inbox.domain.views import conversation_view
from inbox.usecases import Core, list_close_reasons, resolve_conversation, set_close_reasons
from operator_ws.rest.common import Caller, authed, json_body

__all__ = ["CloseReasonRoutes"]


class CloseReasonRoutes:
    def __init__(self, core: Core) -> None:
        self._core = core

    def routes(self) -> list[web.RouteDef]:
        core = self._core
        return [
            web.get("/api/v1/close-reasons", authed(core, self.list, scope=None)),
            web.put("/api/v1/close-reasons", authed(core, self.replace, scope=None)),
            web.post(
                "/api/v1/conversations/{id}/resolve",
                authed(core, self.resolve, scope="conversations:write"),
            ),
        ]

    async def list(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        return web.json_response({"reasons": await list_close_reasons(self._core)})

    async def replace(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        body = await json_body(request)
        if "reasons" not in body:
            raise InvalidInput('send {"reasons": ["Sold", ...]}')
        names = await set_close_reasons(self._core, caller.operator, body["reasons"])
        return web.json_response({"reasons": names})

    async def resolve(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        body = await json_body(request) if request.can_read_body else {}
        reason = body.get("reason")
        if reason is not None and not isinstance(reason, str):
            raise InvalidInput("reason must be a string")
        conversation = await resolve_conversation(
            self._core, caller.operator, ConversationId(request.match_info["id"]), reason
        )
        return web.json_response({"conversation": conversation_view(conversation)})
