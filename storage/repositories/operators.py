"""Operators, channels and operators' auth sessions: small tables, plain CRUD."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update

from inbox.domain.channels import Channel
from inbox.domain.ids import ChannelId, OperatorId
from inbox.domain.operators import Operator
from inbox.ports import AuthSession
from storage.repositories.base import SqlRepo
from storage.rows import (
    channel_from_row,
    channel_values,
    operator_from_row,
    operator_values,
    session_from_row,
    session_values,
)
from storage.tables import auth_sessions, channels, operators

__all__ = ["SqlAuthSessionRepo", "SqlChannelRepo", "SqlOperatorRepo"]

_OPERATOR = select(operators).where(operators.c.id == bindparam("id"))
_OPERATOR_FOR_UPDATE = _OPERATOR.with_for_update()
_OPERATOR_BY_LOGIN = select(operators).where(operators.c.login == bindparam("login"))
_INSERT_OPERATOR = insert(operators)
_UPDATE_OPERATOR = update(operators).where(operators.c.id == bindparam("b_id"))
_TOUCH_SEEN = update(operators).where(operators.c.id.in_(bindparam("b_ids", expanding=True)))

_CHANNEL = select(channels).where(channels.c.id == bindparam("id"))
_INSERT_CHANNEL = insert(channels)
_UPDATE_CHANNEL = update(channels).where(channels.c.id == bindparam("b_id"))

_SESSION = select(auth_sessions).where(auth_sessions.c.token_hash == bindparam("token_hash"))
_INSERT_SESSION = insert(auth_sessions)
_REVOKE_SESSION = update(auth_sessions).where(
    auth_sessions.c.token_hash == bindparam("b_token_hash"), auth_sessions.c.revoked_at.is_(None)
)


class SqlOperatorRepo(SqlRepo):
    """Implements :class:`inbox.ports.OperatorRepo`."""

    async def get(self, operator_id: OperatorId) -> Operator | None:
        row = await self._first(_OPERATOR, {"id": operator_id})
        return operator_from_row(row) if row is not None else None

    async def get_for_update(self, operator_id: OperatorId) -> Operator | None:
        stmt = self._locked(_OPERATOR, _OPERATOR_FOR_UPDATE)
        row = await self._first(stmt, {"id": operator_id})
        return operator_from_row(row) if row is not None else None

    async def get_by_login(self, login: str) -> Operator | None:
        row = await self._first(_OPERATOR_BY_LOGIN, {"login": login})
        return operator_from_row(row) if row is not None else None

    async def add(self, operator: Operator) -> None:
        await self._run(_INSERT_OPERATOR, operator_values(operator))

    async def update(self, operator: Operator) -> None:
        """Overwrites every column but the id. A missing row is left missing (no error)."""
        values: dict[str, Any] = operator_values(operator)
        values["b_id"] = values.pop("id")
        await self._run(_UPDATE_OPERATOR, values)

    async def list(self) -> list[Operator]:
        stmt = select(operators).order_by(operators.c.login.asc())
        return [operator_from_row(r) for r in await self._all(stmt)]

    async def touch_seen(self, operator_ids: Sequence[OperatorId], at: datetime) -> None:
        """One UPDATE for all of them; nothing at all for none."""
        if not operator_ids:
            return
        await self._run(_TOUCH_SEEN, {"b_ids": list(operator_ids), "last_seen_at": at})


class SqlChannelRepo(SqlRepo):
    """Implements :class:`inbox.ports.ChannelRepo`."""

    async def get(self, channel_id: ChannelId) -> Channel | None:
        row = await self._first(_CHANNEL, {"id": channel_id})
        return channel_from_row(row) if row is not None else None

    async def add(self, channel: Channel) -> None:
        await self._run(_INSERT_CHANNEL, channel_values(channel))

    async def update(self, channel: Channel) -> None:
        """Overwrites every column but the id. A missing row is left missing (no error)."""
        values: dict[str, Any] = channel_values(channel)
        values["b_id"] = values.pop("id")
        await self._run(_UPDATE_CHANNEL, values)

    async def delete(self, channel_id: ChannelId) -> None:
        await self._run(delete(channels).where(channels.c.id == channel_id))

    async def list(self) -> list[Channel]:
        stmt = select(channels).order_by(channels.c.created_at.asc(), channels.c.id.asc())
        return [channel_from_row(r) for r in await self._all(stmt)]


class SqlAuthSessionRepo(SqlRepo):
    """Implements :class:`inbox.ports.AuthSessionRepo`."""

    async def add(self, session: AuthSession) -> None:
        await self._run(_INSERT_SESSION, session_values(session))

    async def get(self, token_hash: str) -> AuthSession | None:
        row = await self._first(_SESSION, {"token_hash": token_hash})
        return session_from_row(row) if row is not None else None

    async def revoke(self, token_hash: str, at: datetime) -> None:
        """Idempotent: a session revoked earlier keeps its first revocation time."""
        await self._run(_REVOKE_SESSION, {"b_token_hash": token_hash, "revoked_at": at})
