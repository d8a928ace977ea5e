"""Operators: ``GET /api/v1/operators``, ``POST /api/v1/operators`` (admins: login,
password, name, role, skills, capacity) and ``PATCH /api/v1/operators/{id}``."""

from __future__ import annotations

from aiohttp import web

from inbox.domain.errors import Forbidden, InvalidInput, NotFound
from inbox.domain.operators import Role, validate_skills
from inbox.domain.views import operator_view
from inbox.ports import PasswordHasher
from inbox.usecases import Core, add_operator, list_operators, update_operator
from operator_ws.rest.common import Caller, authed, json_body

__all__ = ["OperatorRoutes"]

_UPDATABLE = frozenset({"skills", "capacity", "name", "role", "disabled"})


class OperatorRoutes:
    def __init__(self, core: Core, hasher: PasswordHasher | None = None) -> None:
        self._core = core
        self._hasher = hasher

    def routes(self) -> list[web.RouteDef]:
        core = self._core
        return [
            web.get("/api/v1/operators", authed(core, self.operators, scope=None)),
            web.patch("/api/v1/operators/{id}", authed(core, self.update, scope=None)),
            web.post("/api/v1/operators", authed(core, self.add, scope=None)),
        ]

    async def add(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        """Admins only; the same checks as ``inbox operator add`` (a taken login → 409)."""
        if caller.operator.role is not Role.ADMIN:
            raise Forbidden("operators are added by admins")
        if self._hasher is None:
            raise NotFound("operators are added with the command line on this server")
        body = await json_body(request)
        unknown = sorted(set(body) - {"login", "password", "name", "role", "skills", "capacity"})
        if unknown:
            raise InvalidInput(f"unknown field {unknown[0]!r}")
        login, password = body.get("login"), body.get("password")
        name, capacity = body.get("name", ""), body.get("capacity", 5)
        if not isinstance(login, str) or not isinstance(password, str):
            raise InvalidInput("login and password are strings")
        if not isinstance(name, str):
            raise InvalidInput("'name' must be a string")
        if isinstance(capacity, bool) or not isinstance(capacity, int):
            raise InvalidInput("'capacity' must be a whole number")
        skills = body.get("skills") or {}
        if not isinstance(skills, dict):
            raise InvalidInput("'skills' maps names to whole-number levels")
        try:
            role = Role(body.get("role", "operator"))
        except ValueError as exc:
            raise InvalidInput("'role' must be operator, supervisor or admin") from exc
        created = await add_operator(
            self._core,
            self._hasher,
            login=login,
            password=password,
            display_name=name,
            role=role,
            skills=validate_skills(skills),
            capacity=capacity,
        )
        return web.json_response({"operator": operator_view(created)}, status=201)

    async def operators(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        everyone = await list_operators(self._core)
        return web.json_response({"operators": [operator_view(o) for o in everyone]})

    async def update(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        """Any of ``skills``, ``capacity``, ``name``, ``role``, ``disabled``; an unknown
        field or a wrong type → 400 ``invalid_input``. Who may change what is the use
        case's decision."""
        body = await json_body(request)
        unknown = sorted(set(body) - _UPDATABLE)
        if unknown:
            raise InvalidInput(f"unknown field {unknown[0]!r}")
        skills = body.get("skills")
        if skills is not None:
            if not isinstance(skills, dict):
                raise InvalidInput("'skills' maps names to whole-number levels")
            skills = validate_skills(skills)
        capacity = body.get("capacity")
        if capacity is not None and (isinstance(capacity, bool) or not isinstance(capacity, int)):
            raise InvalidInput("'capacity' must be a whole number")
        name, role, disabled = body.get("name"), body.get("role"), body.get("disabled")
        if name is not None and not isinstance(name, str):
            raise InvalidInput("'name' must be a string")
        if disabled is not None and not isinstance(disabled, bool):
            raise InvalidInput("'disabled' must be true or false")
        try:
            new_role = Role(role) if role is not None else None
        except ValueError as exc:
            raise InvalidInput("'role' must be operator, supervisor or admin") from exc
        changed = await update_operator(
            self._core,
            caller.operator,
            request.match_info["id"],
            skills=skills,
            capacity=capacity,
            display_name=name,
            role=new_role,
            disabled=disabled,
        )
        return web.json_response({"operator": operator_view(changed)})
