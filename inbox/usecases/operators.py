"""Operators: accounts, log-in sessions and presence."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from inbox.domain.api_tokens import TOKEN_PREFIX
from inbox.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from inbox.domain.events import OperatorPresenceChanged
from inbox.domain.ids import OperatorId, new_id
from inbox.domain.operators import Operator, Presence, Role
from inbox.ports import AuthSession, PasswordHasher, Tx
from inbox.usecases.deps import Core, Outcome, run

__all__ = [
    "LoginResult",
    "add_operator",
    "authenticate",
    "hash_token",
    "list_operators",
    "login",
    "logout",
    "set_presence",
    "touch_operators",
    "update_operator",
]


def hash_token(token: str) -> str:
    """Tokens are stored as SHA-256: a leaked table does not let anyone log in."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class LoginResult:
    token: str
    operator: Operator
    expires_at: datetime


async def add_operator(
    core: Core,
    hasher: PasswordHasher,
    *,
    login: str,
    password: str,
    display_name: str = "",
    role: Role = Role.OPERATOR,
    skills: dict[str, int] | None = None,
    capacity: int = 5,
) -> Operator:
    """Create an operator account. Raises :class:`Conflict` for a taken login and
    :class:`InvalidInput` for a bad login, a short password or a bad capacity."""
    login = login.strip()
    if not login or len(login) > 64 or not all(c.isalnum() or c in "._-@" for c in login):
        raise InvalidInput("login must be 1..64 letters, digits or . _ - @")
    if len(password) < 8:
        raise InvalidInput("password must be at least 8 characters")
    if not 0 <= capacity <= 1000:
        raise InvalidInput("capacity must be 0..1000")
    password_hash = await asyncio.to_thread(hasher.hash, password)

    async def work(tx: Tx) -> Outcome[Operator]:
        if await tx.operators.get_by_login(login) is not None:
            raise Conflict(f"the login {login!r} is taken")
        operator = Operator(
            id=OperatorId(new_id()),
            login=login,
            display_name=display_name.strip() or login,
            role=role,
            password_hash=password_hash,
            created_at=core.clock.now(),
            skills=dict(skills or {}),
            capacity=capacity,
        )
        await tx.operators.add(operator)
        # A new member of every queue without a member list: routing counts it in (and
        # supervisors' consoles see it, offline).
        return Outcome(
            operator, [OperatorPresenceChanged(operator.id, operator.presence, operator.created_at)]
        )

    return await run(core, work)


async def login(
    core: Core, hasher: PasswordHasher, login_name: str, password: str, ttl: timedelta
) -> LoginResult:
    """Check the password and open a session. Raises :class:`Unauthorized` for any failure
    (unknown login, wrong password, disabled account) with one indistinguishable message."""

    async def find(tx: Tx) -> Operator | None:
        return await tx.operators.get_by_login(login_name)

    operator = await core.store.read(find)
    # An unknown login is verified against a dummy hash: it costs as long as a wrong
    # password, so response times do not reveal which logins exist.
    stored_hash = operator.password_hash if operator else None
    ok = await asyncio.to_thread(hasher.verify, stored_hash, password)
    if operator is None or not ok or operator.disabled:
        raise Unauthorized("wrong login or password")
    token = secrets.token_urlsafe(32)
    while token.startswith(TOKEN_PREFIX):  # one in 10**9: API tokens own that prefix
        token = secrets.token_urlsafe(32)
    now = core.clock.now()
    session = AuthSession(hash_token(token), operator.id, now, now + ttl)

    async def work(tx: Tx) -> Outcome[None]:
        await tx.sessions.add(session)
        return Outcome(None)

    await run(core, work)
    return LoginResult(token, operator, session.expires_at)


async def authenticate(core: Core, token: str) -> tuple[Operator, AuthSession]:
    """The operator behind a bearer token. Raises :class:`Unauthorized` when the token is
    unknown, expired or revoked, or the account is disabled."""

    async def work(tx: Tx) -> tuple[Operator | None, AuthSession | None]:
        session = await tx.sessions.get(hash_token(token))
        if session is None:
            return None, None
        return await tx.operators.get(session.operator_id), session

    operator, session = await core.store.read(work)
    now = core.clock.now()
    if session is None or operator is None:
        raise Unauthorized("unknown token")
    if session.revoked_at is not None or session.expires_at <= now:
        raise Unauthorized("the token has expired or was revoked")
    if operator.disabled:
        raise Unauthorized("the account is disabled")
    return operator, session


async def logout(core: Core, token: str) -> None:
    """Revoke the token. Idempotent."""

    async def work(tx: Tx) -> Outcome[None]:
        await tx.sessions.revoke(hash_token(token), core.clock.now())
        return Outcome(None)

    await run(core, work)


async def set_presence(
    core: Core,
    operator_id: OperatorId,
    presence: Presence,
    *,
    only_from: Presence | None = None,
) -> Operator:
    """Change presence; publishes :class:`OperatorPresenceChanged` when it really changed.

    With ``only_from``, the change happens only if the operator is in that state, checked
    under the row lock (the grace timer turns ``online`` into ``away``, never ``offline``
    into ``away``, even if the operator switched meanwhile)."""

    async def work(tx: Tx) -> Outcome[Operator]:
        operator = await tx.operators.get_for_update(operator_id)
        if operator is None:
            raise NotFound("no such operator")
        if operator.presence is presence:
            return Outcome(operator)
        if only_from is not None and operator.presence is not only_from:
            return Outcome(operator)
        now = core.clock.now()
        changed = dataclasses.replace(operator, presence=presence, presence_changed_at=now)
        await tx.operators.update(changed)
        return Outcome(changed, [OperatorPresenceChanged(operator.id, presence, now)])

    return await run(core, work)


async def list_operators(core: Core) -> list[Operator]:
    async def work(tx: Tx) -> list[Operator]:
        return await tx.operators.list()

    return await core.store.read(work)


async def touch_operators(core: Core, operator_ids: set[OperatorId]) -> None:
    """Record that these operators' consoles are connected (a heartbeat)."""
    if not operator_ids:
        return

    async def work(tx: Tx) -> Outcome[None]:
        await tx.operators.touch_seen(sorted(operator_ids), core.clock.now())
        return Outcome(None)

    await run(core, work)


async def update_operator(
    core: Core,
    actor: Operator,
    operator: str,
    *,
    skills: dict[str, int] | None = None,
    capacity: int | None = None,
    display_name: str | None = None,
    role: Role | None = None,
    disabled: bool | None = None,
) -> Operator:
    """Change an operator (by id or login). Supervisors and admins change skills, capacity
    and the name; only admins change roles and disable accounts, and nobody disables
    themselves. Raises :class:`Forbidden`, :class:`NotFound` or :class:`InvalidInput`."""
    if actor.role is Role.OPERATOR:
        raise Forbidden("operators are managed by supervisors and admins")
    if (role is not None or disabled is not None) and actor.role is not Role.ADMIN:
        raise Forbidden("only admins change roles and disable accounts")
    if capacity is not None and not 0 <= capacity <= 1000:
        raise InvalidInput("capacity must be 0..1000")
    if display_name is not None and not display_name.strip():
        raise InvalidInput("the name must not be empty")

    async def work(tx: Tx) -> Outcome[Operator]:
        found = await tx.operators.get_by_login(operator)
        if found is None:
            found = await tx.operators.get(OperatorId(operator))
        if found is None:
            raise NotFound(f"no operator {operator!r}")
        current = await tx.operators.get_for_update(found.id)
        assert current is not None
        if disabled and current.id == actor.id:
            raise InvalidInput("you cannot disable your own account")
        changed = dataclasses.replace(
            current,
            skills=dict(skills) if skills is not None else current.skills,
            capacity=capacity if capacity is not None else current.capacity,
            display_name=display_name.strip() if display_name is not None else current.display_name,
            role=role or current.role,
            disabled=disabled if disabled is not None else current.disabled,
        )
        await tx.operators.update(changed)
        # Routing looks again: more capacity or a new skill may let someone be served.
        return Outcome(
            changed,
            [OperatorPresenceChanged(changed.id, changed.presence, core.clock.now())],
        )

    return await run(core, work)
