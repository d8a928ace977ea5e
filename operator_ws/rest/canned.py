"""Canned replies (docs/console.md, "Canned replies"):

* ``GET /api/v1/canned-replies`` → ``{"replies": [...]}``: the caller's own and the
  shared ones;
* ``POST /api/v1/canned-replies`` ``{"shortcut", "text", "shared"?}`` → 201;
* ``PATCH /api/v1/canned-replies/{id}`` ``{"shortcut"?, "text"?}``;
* ``DELETE /api/v1/canned-replies/{id}`` → ``{"deleted": id}``;
* ``POST /api/v1/canned-replies/{id}/render`` ``{"conversation_id"}`` → ``{"text"}``,
  the variables filled in for that conversation.

A taken shortcut is a 409 ``conflict``. Permissions: ``inbox.usecases.canned``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from inbox.domain.canned import VARIABLES, CannedReply, CannedReplyId
from inbox.domain.errors import InvalidInput
from inbox.domain.ids import ConversationId
from inbox.usecases import (
    Core,
    create_canned_reply,
    delete_canned_reply,
    list_canned_replies,
    render_canned_reply,
    update_canned_reply,
)
from operator_ws.rest.common import Caller, authed, json_body

__all__ = ["CannedReplyRoutes", "canned_view"]


class CannedReplyRoutes:
    def __init__(self, core: Core) -> None:
        self._core = core

    def routes(self) -> list[web.RouteDef]:
        core = self._core
        return [
            web.get("/api/v1/canned-replies", authed(core, self.list, scope=None)),
            web.post("/api/v1/canned-replies", authed(core, self.create, scope=None)),
            web.patch("/api/v1/canned-replies/{id}", authed(core, self.update, scope=None)),
            web.delete("/api/v1/canned-replies/{id}", authed(core, self.delete, scope=None)),
            web.post("/api/v1/canned-replies/{id}/render", authed(core, self.render, scope=None)),
        ]

    async def list(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        replies = await list_canned_replies(self._core, caller.operator)
        return web.json_response(
            {"replies": [canned_view(r) for r in replies], "variables": list(VARIABLES)}
        )

    async def create(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        reply = await create_canned_reply(self._core, caller.operator, await json_body(request))
        return web.json_response({"reply": canned_view(reply)}, status=201)

    async def update(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        reply = await update_canned_reply(
            self._core,
            caller.operator,
            CannedReplyId(request.match_info["id"]),
            await json_body(request),
        )
        return web.json_response({"reply": canned_view(reply)})

    async def delete(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        reply_id = CannedReplyId(request.match_info["id"])
        await delete_canned_reply(self._core, caller.operator, reply_id)
        return web.json_response({"deleted": reply_id})

    async def render(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        body = await json_body(request)
        conversation_id = body.get("conversation_id")
        if not isinstance(conversation_id, str) or not conversation_id:
            raise InvalidInput("conversation_id is required")
        text = await render_canned_reply(
            self._core,
            caller.operator,
            CannedReplyId(request.match_info["id"]),
            ConversationId(conversation_id),
        )
        return web.json_response({"text": text})


def canned_view(reply: CannedReply) -> dict[str, Any]:
    return {
        "id": reply.id,
        "shortcut": reply.shortcut,
        "text": reply.text,
        "shared": reply.shared,
        "owner_id": reply.owner_id,
        "created_at": reply.created_at.isoformat(),
        "updated_at": reply.updated_at.isoformat(),
    }
