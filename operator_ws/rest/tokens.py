"""API tokens for admins (docs/api.md, "Authentication"):

* ``GET /api/v1/tokens``: every token, revoked ones too, without secrets;
* ``POST /api/v1/tokens`` ``{"name", "scopes": [...]}`` → 201 ``{"id", "token", ...}``:
  the token is in this answer only;
* ``DELETE /api/v1/tokens/{id}``: revoke; answers the revoked token.

Admins' sessions only: no API token manages tokens (``scope=None``)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from inbox.domain.api_tokens import ApiToken
from inbox.domain.errors import InvalidInput
from inbox.usecases import Core
from inbox.usecases.api_tokens import create_api_token, list_api_tokens, revoke_api_token
from operator_ws.rest.common import Caller, authed, json_body

__all__ = ["TokenRoutes", "token_view"]


def token_view(token: ApiToken) -> dict[str, Any]:
    """A token without its secret (nor its hash)."""
    return {
        "id": token.id,
        "name": token.name,
        "scopes": sorted(token.scopes),
        "created_at": token.created_at.isoformat(),
        "created_by": token.created_by,
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
        "active": token.active,
    }


class TokenRoutes:
    def __init__(self, core: Core) -> None:
        self._core = core

    def routes(self) -> list[web.RouteDef]:
        core = self._core
        return [
            web.get("/api/v1/tokens", authed(core, self.list, scope=None)),
            web.post("/api/v1/tokens", authed(core, self.create, scope=None)),
            web.delete("/api/v1/tokens/{id}", authed(core, self.revoke, scope=None)),
        ]

    async def list(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        found = await list_api_tokens(self._core, caller.operator)
        return web.json_response({"tokens": [token_view(t) for t in found]})

    async def create(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        body = await json_body(request)
        name, scopes = body.get("name"), body.get("scopes")
        if not isinstance(name, str):
            raise InvalidInput('send {"name": ..., "scopes": [...]}: name is a string')
        if not isinstance(scopes, list):
            raise InvalidInput('scopes must be a list, e.g. ["orders:write"]')
        token, secret = await create_api_token(self._core, caller.operator, name, scopes)
        return web.json_response({**token_view(token), "token": secret}, status=201)

    async def revoke(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        token = await revoke_api_token(self._core, caller.operator, request.match_info["id"])
        return web.json_response({"token": token_view(token)})
