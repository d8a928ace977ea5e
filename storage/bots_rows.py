"""Row ⇄ record mapping for the bots' tables (scopes, sessions), beside
:mod:`storage.rows` for the core's."""

from __future__ import annotations

from typing import Any

from bots.records import BotSession, Scope, ScopeRecord, SessionState
from inbox.domain.ids import ConversationId
from storage.rows import Row

__all__ = ["scope_from_row", "scope_values", "session_from_row", "session_values"]


def scope_values(record: ScopeRecord) -> dict[str, Any]:
    return {
        "scope": record.scope,
        "hours": dict(record.hours) if record.hours is not None else None,
        "flow": dict(record.flow) if record.flow is not None else None,
        "updated_at": record.updated_at,
    }


def scope_from_row(row: Row) -> ScopeRecord:
    return ScopeRecord(
        scope=Scope(row["scope"]),
        hours=row["hours"],
        flow=row["flow"],
        updated_at=row["updated_at"],
    )


def session_values(session: BotSession) -> dict[str, Any]:
    s = session
    return {
        "conversation_id": s.conversation_id,
        "scope": s.scope,
        "state": str(s.state),
        "step": s.step,
        "collected": dict(s.collected),
        "menu": list(s.menu),
        "handled_seq": s.handled_seq,
        "csat_requested_at": s.csat_requested_at,
        "csat_rating": s.csat_rating,
        "csat_comment": s.csat_comment,
        "csat_at": s.csat_at,
        "updated_at": s.updated_at,
    }


def session_from_row(row: Row) -> BotSession:
    return BotSession(
        conversation_id=ConversationId(row["conversation_id"]),
        scope=Scope(row["scope"]),
        state=SessionState(row["state"]),
        step=row["step"],
        collected=dict(row["collected"] or {}),
        menu=tuple(row["menu"] or ()),
        handled_seq=row["handled_seq"],
        csat_requested_at=row["csat_requested_at"],
        csat_rating=row["csat_rating"],
        csat_comment=row["csat_comment"],
        csat_at=row["csat_at"],
        updated_at=row["updated_at"],
    )
