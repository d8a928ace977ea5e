"""What the payments feature stores: payment providers, orders with their lines, status
history and payment, and the provider notifications already handled.

Money is integer minor units (kopecks, cents) everywhere inside; JSON carries decimal
strings (:mod:`payments.money`). Times are timezone-aware UTC.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import NewType

from inbox.domain.errors import InvalidTransition
from inbox.domain.ids import ContactId, ConversationId

__all__ = [
    "ALLOWED_ORDER_TRANSITIONS",
    "Order",
    "OrderId",
    "OrderLine",
    "OrderStatus",
    "Payment",
    "PaymentStatus",
    "ProviderId",
    "ProviderRecord",
]

OrderId = NewType("OrderId", str)
ProviderId = NewType("ProviderId", str)


class OrderStatus(StrEnum):
    DRAFT = "draft"
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


_O = OrderStatus
#: draft → awaiting payment → paid → (shipped → delivered) | cancelled | refunded.
ALLOWED_ORDER_TRANSITIONS: frozenset[tuple[OrderStatus, OrderStatus]] = frozenset(
    {
        (_O.DRAFT, _O.AWAITING_PAYMENT),
        (_O.DRAFT, _O.CANCELLED),
        (_O.AWAITING_PAYMENT, _O.PAID),
        (_O.AWAITING_PAYMENT, _O.CANCELLED),
        (_O.AWAITING_PAYMENT, _O.DRAFT),  # back to editing (the link is dropped)
        (_O.PAID, _O.SHIPPED),
        (_O.PAID, _O.DELIVERED),
        (_O.PAID, _O.REFUNDED),
        (_O.SHIPPED, _O.DELIVERED),
        (_O.SHIPPED, _O.REFUNDED),
        (_O.DELIVERED, _O.REFUNDED),
    }
)


class PaymentStatus(StrEnum):
    #: The idempotence key is stored; the provider has not answered yet (or we crashed).
    CREATING = "creating"
    PENDING = "pending"
    WAITING_FOR_CAPTURE = "waiting_for_capture"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"
    REFUNDED = "refunded"


@dataclass(frozen=True, slots=True)
class OrderLine:
    name: str
    quantity: int
    unit_price_minor: int
    sku: str = ""

    @property
    def total_minor(self) -> int:
        return self.quantity * self.unit_price_minor


@dataclass(frozen=True, slots=True)
class Payment:
    """The order's current payment attempt. ``idempotence_key`` is stored before the
    provider is called, so a retry after a crash asks for the same payment again."""

    provider_id: ProviderId
    idempotence_key: str
    status: PaymentStatus
    created_at: datetime
    payment_id: str = ""
    url: str = ""


@dataclass(frozen=True, slots=True)
class Order:
    id: OrderId
    number: int
    conversation_id: ConversationId
    contact_id: ContactId
    currency: str
    lines: tuple[OrderLine, ...]
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    #: When it entered each status (``{"draft": ..., "paid": ...}``).
    status_times: Mapping[str, datetime] = field(default_factory=dict)
    external_id: str | None = None
    tracking_number: str = ""
    manager_id: str | None = None
    payment: Payment | None = None

    @property
    def total_minor(self) -> int:
        return sum(line.total_minor for line in self.lines)

    def moved_to(self, status: OrderStatus, now: datetime) -> Order:
        """The order after a legal status change; :class:`InvalidTransition` otherwise."""
        if (self.status, status) not in ALLOWED_ORDER_TRANSITIONS:
            raise InvalidTransition(f"a {self.status} order cannot become {status}")
        times = {**self.status_times, str(status): now}
        return dataclasses.replace(self, status=status, status_times=times, updated_at=now)


@dataclass(frozen=True, slots=True)
class ProviderRecord:
    """A configured payment provider: ``kind`` is ``sandbox``, ``yookassa`` or ``stripe``;
    ``options`` hold its credentials (never shown) and settings."""

    id: ProviderId
    kind: str
    name: str
    created_at: datetime
    options: Mapping[str, str] = field(default_factory=dict)
