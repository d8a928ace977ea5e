"""API tokens: created by an admin (or the command line), listed, revoked, and checked for
every machine request (docs/api.md, "Authentication")."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterable

from inbox.domain.api_tokens import (
    TOKEN_PREFIX,
    ApiToken,
    ApiTokenId,
    parse_scopes,
    validate_name,
)
from inbox.domain.errors import Forbidden, NotFound, Unauthorized
from inbox.domain.ids import new_id
from inbox.domain.operators import Operator, Role
from inbox.ports import Tx
from inbox.usecases.deps import Core, Outcome, run
from inbox.usecases.operators import hash_token

__all__ = [
    "authenticate_api_token",
    "create_api_token",
    "list_api_tokens",
    "revoke_api_token",
]


def _require_admin(actor: Operator) -> None:
    """Admins only (the command line acts as one); never a machine principal either: the
    token routes take no API token at all (``scope=None``)."""
    if actor.role is not Role.ADMIN:
        raise Forbidden("only admins manage API tokens")


async def create_api_token(
    core: Core, actor: Operator, name: str, scopes: str | Iterable[object]
) -> tuple[ApiToken, str]:
    """A new token and its secret, which is not stored and cannot be shown again.
    Raises :class:`Forbidden` (not an admin) or :class:`InvalidInput` (a bad name, an
    unknown scope, none)."""
    _require_admin(actor)
    checked_name, checked_scopes = validate_name(name), parse_scopes(scopes)
    # 32 random bytes (256 bits): nobody guesses one, so a fast hash protects it enough.
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        id=ApiTokenId(new_id()),
        name=checked_name,
        scopes=checked_scopes,
        token_hash=hash_token(secret),
        created_at=core.clock.now(),
        created_by=actor.login,
    )

    async def work(tx: Tx) -> Outcome[None]:
        await tx.api_tokens.add(token)
        return Outcome(None)

    await run(core, work)
    return token, secret


async def list_api_tokens(core: Core, actor: Operator) -> list[ApiToken]:
    _require_admin(actor)

    async def work(tx: Tx) -> list[ApiToken]:
        return await tx.api_tokens.list()

    return await core.store.read(work)


async def revoke_api_token(core: Core, actor: Operator, token_id: str) -> ApiToken:
    """Revoke; idempotent (a revoked token answers as it was revoked). Raises
    :class:`NotFound` or :class:`Forbidden`."""
    _require_admin(actor)

    async def work(tx: Tx) -> Outcome[ApiToken]:
        found = await tx.api_tokens.get(ApiTokenId(token_id))
        if found is None:
            raise NotFound(f"no API token {token_id[:64]!r}")
        if found.revoked_at is None:
            now = core.clock.now()
            await tx.api_tokens.revoke(found.id, now)
            found = dataclasses.replace(found, revoked_at=now)
        return Outcome(found)

    return await run(core, work)


async def authenticate_api_token(core: Core, secret: str) -> ApiToken:
    """The token behind ``secret``; raises :class:`Unauthorized` for an unknown or
    revoked one. One read per request; ``last_used_at`` is written only when it is older
    than ``TOUCH_EVERY`` (so at most one write per token every few minutes)."""

    async def find(tx: Tx) -> ApiToken | None:
        return await tx.api_tokens.get_by_hash(hash_token(secret))

    found = await core.store.read(find)
    if found is None:
        raise Unauthorized("unknown API token")
    if found.revoked_at is not None:
        raise Unauthorized("the API token was revoked")
    now = core.clock.now()
    if not found.needs_touch(now):
        return found
    token_id = found.id

    async def touch(tx: Tx) -> Outcome[None]:
        await tx.api_tokens.touch(token_id, now)
        return Outcome(None)

    await run(core, touch)
    return dataclasses.replace(found, last_used_at=now)
