"""Bots: each scope's hours and flow, and the bot's session per conversation."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from bots.records import BotSession, Scope, ScopeRecord
from inbox.domain.ids import ConversationId
from storage.bots_rows import scope_from_row, scope_values, session_from_row, session_values
from storage.repositories.base import SqlRepo
from storage.tables import bot_scopes, bot_sessions

__all__ = ["SqlBotsRepo"]

_sc = bot_scopes
_se = bot_sessions

_SCOPES = select(_sc).order_by(_sc.c.scope.asc())
_SCOPE = select(_sc).where(_sc.c.scope == bindparam("scope"))
_SESSION = select(_se).where(_se.c.conversation_id == bindparam("conversation_id"))
_SESSION_FOR_UPDATE = _SESSION.with_for_update()
_SESSIONS = select(_se).where(_se.c.conversation_id.in_(bindparam("ids", expanding=True)))


def _upsert(dialect_insert: Any, table: Any, key: Any) -> Any:
    """``INSERT ... ON CONFLICT (key) DO UPDATE`` of every other column."""
    stmt = dialect_insert(table)
    return stmt.on_conflict_do_update(
        index_elements=[key],
        set_={c.name: stmt.excluded[c.name] for c in table.columns if not c.primary_key},
    )


_PUT_SCOPE = {
    "postgresql": _upsert(postgresql.insert, _sc, _sc.c.scope),
    "sqlite": _upsert(sqlite.insert, _sc, _sc.c.scope),
}
_PUT_SESSION = {
    "postgresql": _upsert(postgresql.insert, _se, _se.c.conversation_id),
    "sqlite": _upsert(sqlite.insert, _se, _se.c.conversation_id),
}


class SqlBotsRepo(SqlRepo):
    """Implements :class:`bots.ports.BotsRepo`."""

    async def get_scope(self, scope: Scope) -> ScopeRecord | None:
        row = await self._first(_SCOPE, {"scope": scope})
        return scope_from_row(row) if row is not None else None

    async def list_scopes(self) -> list[ScopeRecord]:
        return [scope_from_row(r) for r in await self._all(_SCOPES)]

    async def put_scope(self, record: ScopeRecord) -> None:
        await self._run(_PUT_SCOPE[self._conn.dialect.name], scope_values(record))

    async def get_session(
        self, conversation_id: ConversationId, *, for_update: bool = False
    ) -> BotSession | None:
        stmt = self._locked(_SESSION, _SESSION_FOR_UPDATE) if for_update else _SESSION
        row = await self._first(stmt, {"conversation_id": conversation_id})
        return session_from_row(row) if row is not None else None

    async def put_session(self, session: BotSession) -> None:
        await self._run(_PUT_SESSION[self._conn.dialect.name], session_values(session))

    async def list_sessions(self, conversation_ids: list[ConversationId]) -> list[BotSession]:
        if not conversation_ids:
            return []
        rows = await self._all(_SESSIONS, {"ids": list(conversation_ids)})
        return [session_from_row(r) for r in rows]
