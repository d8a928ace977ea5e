"""Reading and checking what a manager (or a shop system) sends about an order: lines,
currency, the external id, a status change. Pure: no I/O; raises :class:`InvalidInput`
with a message that names the bad field."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from inbox.domain.errors import InvalidInput
from payments.money import MAX_AMOUNT_MINOR, check_currency, parse_amount
from payments.records import OrderLine, OrderStatus

__all__ = [
    "MAX_LINES",
    "STATUS_CHANGES",
    "parse_external_id",
    "parse_lines",
    "parse_status",
]

MAX_LINES = 100
MAX_NAME = 200
MAX_QUANTITY = 100_000
#: The statuses a PATCH may ask for; ``paid`` and ``refunded`` come from the provider.
STATUS_CHANGES = frozenset(
    {OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.CANCELLED, OrderStatus.DRAFT}
)


def parse_lines(value: object, currency: str) -> tuple[OrderLine, ...]:
    """``[{"name", "quantity", "unit_price": "1725.00", "sku"?}]`` → lines."""
    check_currency(currency)
    if not isinstance(value, Sequence) or isinstance(value, str | bytes) or not value:
        raise InvalidInput("lines must be a non-empty list")
    if len(value) > MAX_LINES:
        raise InvalidInput(f"an order has at most {MAX_LINES} lines")
    lines: list[OrderLine] = []
    for i, raw in enumerate(value):
        if not isinstance(raw, Mapping):
            raise InvalidInput(f"lines[{i}] must be an object")
        unknown = sorted(set(raw) - {"name", "quantity", "unit_price", "sku"})
        if unknown:
            raise InvalidInput(f"lines[{i}]: unknown field(s) {', '.join(unknown)}")
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
            raise InvalidInput(f"lines[{i}].name must be 1..{MAX_NAME} characters")
        quantity = raw.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise InvalidInput(f"lines[{i}].quantity must be a whole number")
        if not 1 <= quantity <= MAX_QUANTITY:
            raise InvalidInput(f"lines[{i}].quantity must be 1..{MAX_QUANTITY}")
        price = parse_amount(raw.get("unit_price"), currency, field=f"lines[{i}].unit_price")
        sku = raw.get("sku") or ""
        if not isinstance(sku, str) or len(sku) > 100:
            raise InvalidInput(f"lines[{i}].sku must be a string of at most 100 characters")
        lines.append(OrderLine(name.strip(), quantity, price, sku.strip()))
    if sum(line.total_minor for line in lines) > MAX_AMOUNT_MINOR:
        raise InvalidInput("the order's total is too large")
    return tuple(lines)


def parse_external_id(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= 100:
        raise InvalidInput("external_id must be 1..100 characters")
    return value.strip()


def parse_status(value: object) -> OrderStatus:
    try:
        status = OrderStatus(str(value))
    except ValueError as exc:
        raise InvalidInput(f"unknown order status {value!r}") from exc
    if status not in STATUS_CHANGES:
        allowed = ", ".join(sorted(STATUS_CHANGES))
        raise InvalidInput(
            f"status may be set to {allowed}; paid and refunded come from the payment"
        )
    return status


def only_fields(body: Mapping[str, Any], allowed: set[str], what: str) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidInput(f"unknown field(s) for {what}: {', '.join(unknown)}")
