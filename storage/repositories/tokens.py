"""API tokens and login-failure counters (docs/api.md): small tables, plain statements."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update

from inbox.domain.api_tokens import ApiToken, ApiTokenId, TokenScope
from inbox.domain.throttle import FailureCount
from storage.repositories.base import SqlRepo
from storage.rows import Row
from storage.tables_integrations import api_tokens, login_failures

__all__ = ["SqlApiTokenRepo", "SqlLoginFailureRepo"]

_t = api_tokens
_BY_ID = select(_t).where(_t.c.id == bindparam("id"))
_BY_HASH = select(_t).where(_t.c.token_hash == bindparam("token_hash"))
_LIST = select(_t).order_by(_t.c.created_at, _t.c.id)
_INSERT = insert(_t)
_REVOKE = update(_t).where(_t.c.id == bindparam("b_id"), _t.c.revoked_at.is_(None))
_TOUCH = update(_t).where(_t.c.id == bindparam("b_id"))

_f = login_failures
_FAILURES = select(_f).where(_f.c.key.in_(bindparam("keys", expanding=True)))
_SET_FAILURES = update(_f).where(_f.c.key == bindparam("b_key"))
_INSERT_FAILURES = insert(_f)
_CLEAR = delete(_f).where(_f.c.key == bindparam("key"))


def _values(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "token_hash": token.token_hash,
        "scopes": sorted(token.scopes),
        "created_at": token.created_at,
        "created_by": token.created_by,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
    }


def _token(row: Row) -> ApiToken:
    return ApiToken(
        id=ApiTokenId(row["id"]),
        name=row["name"],
        scopes=frozenset(TokenScope(s) for s in row["scopes"]),
        token_hash=row["token_hash"],
        created_at=row["created_at"],
        created_by=row["created_by"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
    )


class SqlApiTokenRepo(SqlRepo):
    """Implements :class:`inbox.ports.ApiTokenRepo`."""

    async def add(self, token: ApiToken) -> None:
        await self._run(_INSERT, _values(token))

    async def get(self, token_id: ApiTokenId) -> ApiToken | None:
        row = await self._first(_BY_ID, {"id": token_id})
        return _token(row) if row is not None else None

    async def get_by_hash(self, token_hash: str) -> ApiToken | None:
        row = await self._first(_BY_HASH, {"token_hash": token_hash})
        return _token(row) if row is not None else None

    async def list(self) -> list[ApiToken]:
        return [_token(r) for r in await self._all(_LIST)]

    async def revoke(self, token_id: ApiTokenId, at: datetime) -> None:
        await self._run(_REVOKE, {"b_id": token_id, "revoked_at": at})

    async def touch(self, token_id: ApiTokenId, at: datetime) -> None:
        await self._run(_TOUCH, {"b_id": token_id, "last_used_at": at})


class SqlLoginFailureRepo(SqlRepo):
    """Implements :class:`inbox.ports.LoginFailureRepo`. Two processes counting the same
    key at once may lose one increment (read, then write): the counter throttles, it is no
    ledger, and one lost failure only delays the delay by one attempt."""

    async def get(self, keys: Sequence[str]) -> list[FailureCount]:
        rows = await self._all(_FAILURES, {"keys": list(keys)})
        return [FailureCount(r["key"], r["failures"], r["last_failed_at"]) for r in rows]

    async def record(self, key: str, failures: int, at: datetime) -> None:
        found = await self._first(select(_f.c.key).where(_f.c.key == key))
        if found is None:
            await self._run(
                _INSERT_FAILURES, {"key": key, "failures": failures, "last_failed_at": at}
            )
        else:
            await self._run(
                _SET_FAILURES, {"b_key": key, "failures": failures, "last_failed_at": at}
            )

    async def clear(self, key: str) -> None:
        await self._run(_CLEAR, {"key": key})
