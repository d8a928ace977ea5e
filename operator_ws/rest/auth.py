"""Sessions: ``POST /api/v1/auth/login`` (throttled, docs/api.md), ``POST
/api/v1/auth/logout``, ``GET /api/v1/me``."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from inbox.domain.errors import InvalidInput, Unauthorized
from inbox.domain.views import operator_view
from inbox.ports import PasswordHasher
from inbox.usecases import Core, logout
from inbox.usecases.login_throttle import throttled_login
from operator_ws.hub import OperatorHub
from operator_ws.rest.client_address import Networks, client_address
from operator_ws.rest.common import Caller, authed, error_response, json_body

__all__ = ["AuthRoutes"]


class AuthRoutes:
    """Login hands out a bearer token valid for ``token_ttl``; logout revokes it and closes
    the WebSocket connections of that session."""

    def __init__(
        self,
        core: Core,
        hasher: PasswordHasher,
        hub: OperatorHub,
        token_ttl: timedelta,
        *,
        online_on_login: bool = True,
        trusted_proxies: Networks = (),
    ) -> None:
        self._core = core
        self._trusted_proxies = trusted_proxies
        self._hasher = hasher
        self._hub = hub
        self._ttl = token_ttl
        self._online_on_login = online_on_login

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/api/v1/auth/login", self.login),
            web.post("/api/v1/auth/logout", authed(self._core, self.logout, scope=None)),
            web.get("/api/v1/me", authed(self._core, self.me, scope=None)),
        ]

    async def login(self, request: web.Request) -> web.StreamResponse:
        """``{"login", "password"}`` → ``{"token", "expires_at", "operator",
        "online_on_login"}``; wrong credentials → 401 ``invalid_credentials``; too many
        failures for the login or the client's address → 429 ``too_many_attempts`` with
        ``Retry-After`` (the error middleware), the password unchecked (docs/api.md).

        ``online_on_login`` (INBOX_ONLINE_ON_LOGIN) tells the console to set the operator
        online once its socket is up: presence follows a console that is there, so a login
        through the API alone (scripts, tests) changes nobody's presence."""
        body = await json_body(request)
        login_name, password = body.get("login"), body.get("password")
        if not isinstance(login_name, str) or not isinstance(password, str):
            raise InvalidInput('send {"login": ..., "password": ...} as strings')
        try:
            result = await throttled_login(
                self._core,
                self._hasher,
                login_name,
                password,
                self._ttl,
                address=client_address(
                    request.remote, request.headers.get("X-Forwarded-For"), self._trusted_proxies
                ),
            )
        except Unauthorized as exc:
            return error_response(401, "invalid_credentials", exc.message)
        return web.json_response(
            {
                "token": result.token,
                "expires_at": result.expires_at.isoformat(),
                "operator": operator_view(result.operator),
                "online_on_login": self._online_on_login,
            }
        )

    async def logout(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        await logout(self._core, caller.token)
        if caller.session is not None:  # always: the route takes no API token
            self._hub.revoke(caller.session.token_hash)
        return web.json_response({"status": "ok"})

    async def me(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        return web.json_response(
            {"operator": operator_view(caller.operator), "online_on_login": self._online_on_login}
        )
