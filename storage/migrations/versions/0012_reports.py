"""The reports' facts: ``report_facts``, one row per episode (docs/reports.md), filled here
from the data stored before.

Earlier episodes of a conversation were never recorded (a reopen overwrote the resolve
time and the close reason), so the backfill gives each conversation one episode: from its
first customer message to its resolve, if resolved; its first operator reply after that
message; the routing task's queue and SLA; the bot session's rating. The business-hours
first response is not backfilled (NULL), and no backfilled episode counts as
resolved by the bot. New episodes are recorded exactly, as they
happen (``reports.recorder``).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from storage.types import UtcDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000
_BUCKET = 900

_conv = sa.table(
    "conversations",
    sa.column("id", sa.String),
    sa.column("contact_id", sa.String),
    sa.column("channel_id", sa.String),
    sa.column("channel_kind", sa.String),
    sa.column("status", sa.String),
    sa.column("queued_at", UtcDateTime),
    sa.column("resolved_at", UtcDateTime),
    sa.column("close_reason", sa.Text),
    sa.column("assignee_id", sa.String),
)
_msg = sa.table(
    "messages",
    sa.column("conversation_id", sa.String),
    sa.column("created_at", UtcDateTime),
    sa.column("author_kind", sa.String),
    sa.column("author_id", sa.Text),
    sa.column("direction", sa.String),
    sa.column("kind", sa.String),
)
_rt = sa.table(
    "routing_tasks",
    sa.column("conversation_id", sa.String),
    sa.column("queue_id", sa.String),
    sa.column("sla_met", sa.Boolean),
)
_bs = sa.table(
    "bot_sessions",
    sa.column("conversation_id", sa.String),
    sa.column("csat_rating", sa.Integer),
    sa.column("csat_at", UtcDateTime),
)


def _create() -> sa.Table:
    facts = op.create_table(
        "report_facts",
        sa.Column("conversation_id", sa.String(64), nullable=False),
        sa.Column("episode", sa.Integer(), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("contact_id", sa.String(64), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("channel_kind", sa.String(32), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("received_bucket", sa.Integer(), nullable=False),
        sa.Column("new_customer", sa.Boolean(), nullable=False),
        sa.Column("queued_at", UtcDateTime(), nullable=True),
        sa.Column("first_response_at", UtcDateTime(), nullable=True),
        sa.Column("first_response_seconds", sa.Float(), nullable=True),
        sa.Column("first_response_business_seconds", sa.Float(), nullable=True),
        sa.Column("responder_id", sa.String(64), nullable=True),
        sa.Column("operator_id", sa.String(64), nullable=True),
        sa.Column("queue_id", sa.String(64), nullable=True),
        sa.Column("sla_met", sa.Boolean(), nullable=True),
        sa.Column("resolved_at", UtcDateTime(), nullable=True),
        sa.Column("resolution_seconds", sa.Float(), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=False),
        sa.Column("bot_resolved", sa.Boolean(), nullable=False),
        sa.Column("csat_rating", sa.Integer(), nullable=True),
        sa.Column("csat_at", UtcDateTime(), nullable=True),
        sa.Column("next_received_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_report_facts_conversation_id_conversations",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name="fk_report_facts_contact_id_contacts"
        ),
        sa.PrimaryKeyConstraint("conversation_id", "episode", name="pk_report_facts"),
    )
    op.create_index("ix_report_facts_received_at", "report_facts", ["received_at"])
    op.create_index("ix_report_facts_contact_id", "report_facts", ["contact_id"])
    return facts


def _seconds(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds())


def _rows(conn: sa.Connection) -> Iterator[dict[str, Any]]:
    first_in = dict(
        conn.execute(
            sa.select(_msg.c.conversation_id, sa.func.min(_msg.c.created_at))
            .where(_msg.c.author_kind == "customer")
            .group_by(_msg.c.conversation_id)
        ).all()
    )
    replies: dict[str, tuple[datetime, str | None]] = {}
    for cid, at, author in conn.execute(
        sa.select(_msg.c.conversation_id, _msg.c.created_at, _msg.c.author_id).where(
            _msg.c.author_kind == "operator",
            _msg.c.direction == "outbound",
            _msg.c.kind == "message",
        )
    ):
        received = first_in.get(cid)
        if received is None or at < received:
            continue
        known = replies.get(cid)
        if known is None or at < known[0]:
            replies[cid] = (at, author)
    tasks = {cid: (q, met) for cid, q, met in conn.execute(sa.select(_rt))}
    ratings = {cid: (r, at) for cid, r, at in conn.execute(sa.select(_bs)) if r is not None}
    convs = sorted(
        (row for row in conn.execute(sa.select(_conv)).mappings() if row["id"] in first_in),
        key=lambda row: (first_in[row["id"]], row["id"]),
    )
    seen: set[str] = set()
    for c in convs:
        cid, received = c["id"], first_in[c["id"]]
        reply = replies.get(cid)
        queued = c["queued_at"]
        since = queued if queued is not None and (reply is None or queued <= reply[0]) else received
        resolved = c["resolved_at"] if c["status"] == "resolved" else None
        queue_id, sla_met = tasks.get(cid, (None, None))
        rating, rated_at = ratings.get(cid, (None, None))
        yield {
            "conversation_id": cid,
            "episode": 1,
            "current": True,
            "contact_id": c["contact_id"],
            "channel_id": c["channel_id"],
            "channel_kind": c["channel_kind"],
            "received_at": received,
            "received_bucket": int(received.timestamp()) // _BUCKET,
            "new_customer": c["contact_id"] not in seen,
            "queued_at": queued if queued is not None and queued >= received else None,
            "first_response_at": reply[0] if reply else None,
            "first_response_seconds": _seconds(since, reply[0]) if reply else None,
            "first_response_business_seconds": None,
            "responder_id": reply[1] if reply else None,
            "operator_id": c["assignee_id"] or (reply[1] if reply else None),
            "queue_id": queue_id,
            "sla_met": sla_met,
            "resolved_at": resolved,
            "resolution_seconds": _seconds(received, resolved) if resolved else None,
            "close_reason": c["close_reason"] or "",
            "bot_resolved": False,
            "csat_rating": rating,
            "csat_at": rated_at,
            "next_received_at": None,
        }
        seen.add(c["contact_id"])


def upgrade() -> None:
    facts = _create()
    conn = op.get_bind()
    batch: list[dict[str, Any]] = []
    for row in _rows(conn):
        batch.append(row)
        if len(batch) >= BATCH:
            conn.execute(sa.insert(facts), batch)
            batch = []
    if batch:
        conn.execute(sa.insert(facts), batch)


def downgrade() -> None:
    op.drop_index("ix_report_facts_contact_id", table_name="report_facts")
    op.drop_index("ix_report_facts_received_at", table_name="report_facts")
    op.drop_table("report_facts")
