"""Row ⇄ record mapping for the payments tables, beside :mod:`storage.rows` for the core's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from inbox.domain.ids import ContactId, ConversationId
from payments.records import (
    Order,
    OrderId,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentStatus,
    ProviderId,
    ProviderRecord,
)
from storage.rows import Row

__all__ = ["order_from_row", "order_values", "provider_from_row", "provider_values"]


def provider_values(p: ProviderRecord) -> dict[str, Any]:
    return {
        "id": p.id,
        "kind": p.kind,
        "name": p.name,
        "options": dict(p.options),
        "created_at": p.created_at,
    }


def provider_from_row(row: Row) -> ProviderRecord:
    return ProviderRecord(
        id=ProviderId(row["id"]),
        kind=row["kind"],
        name=row["name"],
        created_at=row["created_at"],
        options=dict(row["options"] or {}),
    )


def _payment_json(p: Payment | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {
        "provider_id": p.provider_id,
        "idempotence_key": p.idempotence_key,
        "status": str(p.status),
        "created_at": p.created_at.isoformat(),
        "payment_id": p.payment_id,
        "url": p.url,
    }


def _payment(doc: Any) -> Payment | None:
    if not doc:
        return None
    return Payment(
        provider_id=ProviderId(doc["provider_id"]),
        idempotence_key=doc["idempotence_key"],
        status=PaymentStatus(doc["status"]),
        created_at=datetime.fromisoformat(doc["created_at"]),
        payment_id=doc.get("payment_id", ""),
        url=doc.get("url", ""),
    )


def order_values(o: Order) -> dict[str, Any]:
    return {
        "id": o.id,
        "number": o.number,
        "conversation_id": o.conversation_id,
        "contact_id": o.contact_id,
        "currency": o.currency,
        "lines": [
            {
                "name": line.name,
                "quantity": line.quantity,
                "unit_price_minor": line.unit_price_minor,
                "sku": line.sku,
            }
            for line in o.lines
        ],
        "total_minor": o.total_minor,
        "status": str(o.status),
        "status_times": {k: v.isoformat() for k, v in o.status_times.items()},
        "external_id": o.external_id,
        "tracking_number": o.tracking_number,
        "manager_id": o.manager_id,
        "payment": _payment_json(o.payment),
        "payment_provider_id": o.payment.provider_id if o.payment else None,
        "payment_id": (o.payment.payment_id or None) if o.payment else None,
        "created_at": o.created_at,
        "updated_at": o.updated_at,
    }


def order_from_row(row: Row) -> Order:
    return Order(
        id=OrderId(row["id"]),
        number=row["number"],
        conversation_id=ConversationId(row["conversation_id"]),
        contact_id=ContactId(row["contact_id"]),
        currency=row["currency"],
        lines=tuple(
            OrderLine(
                name=line["name"],
                quantity=int(line["quantity"]),
                unit_price_minor=int(line["unit_price_minor"]),
                sku=line.get("sku", ""),
            )
            for line in row["lines"] or ()
        ),
        status=OrderStatus(row["status"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        status_times={k: datetime.fromisoformat(v) for k, v in (row["status_times"] or {}).items()},
        external_id=row["external_id"],
        tracking_number=row["tracking_number"],
        manager_id=row["manager_id"],
        payment=_payment(row["payment"]),
    )
