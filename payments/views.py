"""The JSON shapes of orders and providers (CONTRACT.md, "Orders and payments"): money is
a decimal string, never a number."""

from __future__ import annotations

from typing import Any

from payments.money import to_string
from payments.records import Order, ProviderRecord

__all__ = ["order_view", "provider_view"]


def order_view(order: Order, *, public_url: str = "") -> dict[str, Any]:
    c = order.currency
    payment = order.payment
    return {
        "id": order.id,
        "number": order.number,
        "conversation_id": order.conversation_id,
        "contact_id": order.contact_id,
        "status": str(order.status),
        "currency": c,
        "lines": [
            {
                "name": line.name,
                "sku": line.sku or None,
                "quantity": line.quantity,
                "unit_price": to_string(line.unit_price_minor, c),
                "total": to_string(line.total_minor, c),
            }
            for line in order.lines
        ],
        "total": to_string(order.total_minor, c),
        "external_id": order.external_id,
        "tracking_number": order.tracking_number or None,
        "manager_id": order.manager_id,
        "status_times": {k: v.isoformat() for k, v in order.status_times.items()},
        "payment": None
        if payment is None
        else {
            "provider_id": payment.provider_id,
            "status": str(payment.status),
            "url": payment.url or None,
            "payment_id": payment.payment_id or None,
            "created_at": payment.created_at.isoformat(),
        },
        "created_at": order.created_at.isoformat(),
        "updated_at": order.updated_at.isoformat(),
    }


def provider_view(
    provider: ProviderRecord, secrets: frozenset[str], public_url: str
) -> dict[str, Any]:
    base = public_url.rstrip("/")
    return {
        "id": provider.id,
        "kind": provider.kind,
        "name": provider.name,
        "options": {k: ("***" if k in secrets else v) for k, v in provider.options.items()},
        "webhook_url": f"{base}/webhooks/payments/{provider.kind}/{provider.id}",
        "created_at": provider.created_at.isoformat(),
    }
