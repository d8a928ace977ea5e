"""Outgoing webhooks: subscriptions, the durable delivery queue and its attempts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, bindparam, delete, func, insert, or_, select, update

from storage.repositories.base import LeaseColumns, SqlRepo
from storage.rows import Row
from storage.tables_webhooks import webhook_attempts, webhook_deliveries, webhooks
from webhooks.records import (
    Attempt,
    Delivery,
    DeliveryId,
    DeliveryState,
    DueDelivery,
    Webhook,
    WebhookId,
)

__all__ = ["SqlWebhooksRepo"]

_w, _d, _a = webhooks, webhook_deliveries, webhook_attempts
_GET = select(_w).where(_w.c.id == bindparam("id"))
_GET_FOR_UPDATE = _GET.with_for_update()
_LIST = select(_w).order_by(_w.c.created_at.asc(), _w.c.id.asc())
_UPDATE = update(_w).where(_w.c.id == bindparam("b_id"))
_FINISH = update(_d).where(_d.c.id == bindparam("b_id"), _d.c.lease_owner == bindparam("b_owner"))
_PENDING = select(func.count()).select_from(_d).where(_d.c.state == str(DeliveryState.PENDING))


def _webhook_values(w: Webhook) -> dict[str, Any]:
    return {
        "id": w.id,
        "url": w.url,
        "events": list(w.events),
        "secret": w.secret,
        "enabled": w.enabled,
        "disabled_reason": w.disabled_reason,
        "consecutive_failures": w.consecutive_failures,
        "failing_since": w.failing_since,
        "created_at": w.created_at,
        "updated_at": w.updated_at,
    }


def _webhook(row: Row) -> Webhook:
    return Webhook(
        id=WebhookId(row["id"]),
        url=row["url"],
        events=tuple(row["events"] or ()),
        secret=row["secret"],
        enabled=bool(row["enabled"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        consecutive_failures=row["consecutive_failures"],
        failing_since=row["failing_since"],
        disabled_reason=row["disabled_reason"],
    )


def _delivery_values(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "webhook_id": d.webhook_id,
        "event_id": d.event_id,
        "event": d.event,
        "body": d.body,
        "state": str(d.state),
        "attempts": d.attempts,
        "last_status": d.last_status,
        "last_error": d.last_error,
        "next_attempt_at": d.next_attempt_at,
        "delivered_at": d.delivered_at,
        "created_at": d.created_at,
    }


def _delivery(row: Row) -> Delivery:
    return Delivery(
        id=DeliveryId(row["id"]),
        webhook_id=WebhookId(row["webhook_id"]),
        event_id=row["event_id"],
        event=row["event"],
        body=row["body"],
        created_at=row["created_at"],
        next_attempt_at=row["next_attempt_at"],
        state=DeliveryState(row["state"]),
        attempts=row["attempts"],
        last_status=row["last_status"],
        last_error=row["last_error"],
        delivered_at=row["delivered_at"],
    )


_LEASES = LeaseColumns(_d)


class SqlWebhooksRepo(SqlRepo):
    """Implements :class:`webhooks.ports.WebhooksRepo`."""

    async def add_webhook(self, webhook: Webhook) -> None:
        await self._run(insert(_w), _webhook_values(webhook))

    async def get_webhook(
        self, webhook_id: WebhookId, *, for_update: bool = False
    ) -> Webhook | None:
        stmt = self._locked(_GET, _GET_FOR_UPDATE) if for_update else _GET
        row = await self._first(stmt, {"id": webhook_id})
        return None if row is None else _webhook(row)

    async def list_webhooks(self) -> list[Webhook]:
        return [_webhook(r) for r in await self._all(_LIST)]

    async def update_webhook(self, webhook: Webhook) -> None:
        values = _webhook_values(webhook)
        values["b_id"] = values.pop("id")
        del values["created_at"]
        await self._run(_UPDATE, values)

    async def delete_webhook(self, webhook_id: WebhookId) -> None:
        ids = select(_d.c.id).where(_d.c.webhook_id == webhook_id).scalar_subquery()
        await self._run(delete(_a).where(_a.c.delivery_id.in_(ids)))
        await self._run(delete(_d).where(_d.c.webhook_id == webhook_id))
        await self._run(delete(_w).where(_w.c.id == webhook_id))

    async def add_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        if deliveries:
            await self._run(insert(_d), [_delivery_values(d) for d in deliveries])  # type: ignore[arg-type]

    async def claim_due(
        self, now: datetime, *, limit: int, lease_until: datetime, owner: str
    ) -> list[DueDelivery]:
        """On PostgreSQL the candidates are locked ``FOR UPDATE SKIP LOCKED``: a concurrent
        claimer passes over the rows being claimed right now and takes the next ones."""
        if limit <= 0:
            return []
        stmt = (
            select(_d, _w.c.url, _w.c.secret)
            .join(_w, _w.c.id == _d.c.webhook_id)
            .where(
                _d.c.state == str(DeliveryState.PENDING),
                _d.c.next_attempt_at <= now,
                or_(_d.c.lease_until.is_(None), _d.c.lease_until <= now),
                _w.c.enabled.is_(True),
            )
            .order_by(_d.c.next_attempt_at.asc(), _d.c.created_at.asc(), _d.c.id.asc())
            .limit(limit)
        )
        if self._is_postgres:
            stmt = stmt.with_for_update(of=_d, skip_locked=True)
        rows = await self._all(stmt)
        if not rows:
            return []
        await self._run(
            update(_d)
            .where(_d.c.id.in_([r["id"] for r in rows]))
            .values(lease_owner=owner, lease_until=lease_until)
        )
        return [DueDelivery(_delivery(r), r["url"], r["secret"]) for r in rows]

    async def finish_attempt(self, delivery: Delivery, attempt: Attempt, owner: str) -> bool:
        values = _delivery_values(delivery)
        for fixed in ("id", "webhook_id", "event_id", "event", "body", "created_at"):
            del values[fixed]
        values.update(b_id=delivery.id, b_owner=owner, lease_owner=None, lease_until=None)
        self._writes.count += 1  # as in SqlRepo._run, which has no result to give back
        result = await self._conn.execute(_FINISH, values)
        if int(cast(CursorResult[Any], result).rowcount) != 1:
            return False
        await self._run(
            insert(_a),
            {
                "delivery_id": attempt.delivery_id,
                "number": attempt.number,
                "at": attempt.at,
                "status": attempt.status,
                "error": attempt.error,
                "duration_ms": attempt.duration_ms,
            },
        )
        return True

    async def list_deliveries(self, webhook_id: WebhookId, *, limit: int) -> list[Delivery]:
        stmt = (
            select(_d)
            .where(_d.c.webhook_id == webhook_id)
            .order_by(_d.c.created_at.desc(), _d.c.id.desc())
            .limit(limit)
        )
        return [_delivery(r) for r in await self._all(stmt)]

    async def list_attempts(
        self, delivery_ids: Sequence[DeliveryId]
    ) -> Mapping[DeliveryId, list[Attempt]]:
        if not delivery_ids:
            return {}
        stmt = (
            select(_a)
            .where(_a.c.delivery_id.in_(list(delivery_ids)))
            .order_by(_a.c.delivery_id, _a.c.number.asc())
        )
        found: dict[DeliveryId, list[Attempt]] = {}
        for r in await self._all(stmt):
            delivery_id = DeliveryId(r["delivery_id"])
            found.setdefault(delivery_id, []).append(
                Attempt(
                    delivery_id, r["number"], r["at"], r["status"], r["error"], r["duration_ms"]
                )
            )
        return found

    async def pending_count(self) -> int:
        return int(await self._scalar(_PENDING))

    async def lease_owners(self, now: datetime) -> list[str]:
        return await self._lease_holders(_LEASES, now)

    async def release_owners(self, owners: Sequence[str]) -> int:
        return await self._release_leases(_LEASES, owners)
