"""The payments feature's ports: its repository and unit of work (extending the core's),
and the gateway every payment provider implements.

A gateway turns an order into a payment at the provider and tells the service what a
notification says. ``create_payment`` is called outside any transaction (it is network);
the idempotence key it gets was committed before, so after a crash the same call asks the
provider for the same payment instead of a second one.
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from inbox.domain.ids import ContactId, ConversationId
from inbox.ports import Tx
from payments.records import (
    Order,
    OrderId,
    OrderLine,
    PaymentStatus,
    ProviderId,
    ProviderRecord,
)

__all__ = [
    "Notice",
    "NotificationRequest",
    "PaymentGateway",
    "PaymentRequest",
    "PaymentsRepo",
    "PaymentsStore",
    "PaymentsTx",
    "ProviderPayment",
]

T = TypeVar("T")


class PaymentsRepo(Protocol):
    async def add_provider(self, provider: ProviderRecord) -> None: ...

    async def get_provider(self, provider_id: ProviderId) -> ProviderRecord | None: ...

    async def list_providers(self) -> builtins.list[ProviderRecord]: ...

    async def next_order_number(self) -> int:
        """One more than the highest order number (the first is 1001). Two transactions
        may get the same number: the unique constraint makes the second retry."""

    async def add_order(self, order: Order) -> None:
        """Insert; a taken number or external id raises the store's integrity error."""

    async def update_order(self, order: Order) -> None: ...

    async def get_order(self, order_id: OrderId, *, for_update: bool = False) -> Order | None: ...

    async def get_order_by_number(self, number: int) -> Order | None: ...

    async def get_order_by_payment(
        self, provider_id: ProviderId, payment_id: str, *, for_update: bool = False
    ) -> Order | None: ...

    async def list_orders(
        self,
        conversation_id: ConversationId | None = None,
        *,
        contact_id: ContactId | None = None,
        limit: int = 200,
    ) -> builtins.list[Order]:
        """Newest first; of one conversation and/or one contact when given."""

    async def has_unpaid(self, contact_id: ContactId) -> bool:
        """Whether the contact has an order awaiting payment."""

    async def remember_notice(self, provider_id: ProviderId, key: str) -> bool:
        """Record that a notification was acted on; False when it already was."""


class PaymentsTx(Tx, Protocol):
    @property
    def payments(self) -> PaymentsRepo: ...


class PaymentsStore(Protocol):
    async def transact(self, work: Callable[[PaymentsTx], Awaitable[T]]) -> T: ...

    async def read(self, work: Callable[[PaymentsTx], Awaitable[T]]) -> T: ...


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """What a provider needs to create a payment for an order."""

    order_id: OrderId
    order_number: int
    amount_minor: int
    currency: str
    lines: tuple[OrderLine, ...]
    description: str
    idempotence_key: str
    return_url: str
    customer_email: str = ""
    customer_phone: str = ""


@dataclass(frozen=True, slots=True)
class ProviderPayment:
    """The provider's view of a payment: its id there, the link the customer opens and
    its status."""

    payment_id: str
    status: PaymentStatus
    url: str = ""


@dataclass(frozen=True, slots=True)
class NotificationRequest:
    """A provider's call to ``/webhooks/payments/{kind}/{provider_id}``: raw bytes (for
    signatures), lower-case headers and the caller's address (for IP allow-lists)."""

    headers: Mapping[str, str]
    body: bytes
    remote: str


@dataclass(frozen=True, slots=True)
class Notice:
    """What a verified notification says. ``status`` is ``None`` when the notification
    cannot be trusted on its own (YooKassa signs nothing): the service then re-reads the
    payment from the provider. ``key`` identifies the notification for deduplication
    (Stripe's event id; the payment id and event name for YooKassa)."""

    payment_id: str
    key: str
    kind: Literal["payment", "refund"] = "payment"
    status: PaymentStatus | None = None


class PaymentGateway(Protocol):
    """One provider kind. Raises :class:`inbox.domain.channel_errors.RetryLater` or
    ``PermanentFailure`` for provider errors (a 429 or 5xx is RetryLater with the
    provider's delay), :class:`inbox.domain.errors.InvalidInput` for bad options."""

    kind: str
    #: Option names an administrator may give, and those never shown.
    options: frozenset[str]
    secrets: frozenset[str]

    def check_options(self, options: Mapping[str, str]) -> Mapping[str, str]:
        """The options as stored (defaults filled in); raises InvalidInput naming every
        missing or malformed one."""

    async def create_payment(
        self, provider: ProviderRecord, request: PaymentRequest
    ) -> ProviderPayment: ...

    async def fetch_payment(self, provider: ProviderRecord, payment_id: str) -> ProviderPayment: ...

    def verify_notification(self, provider: ProviderRecord, request: NotificationRequest) -> Notice:
        """Authenticate and parse; raises :class:`inbox.domain.channel_io.WebhookRejected`
        (401/403 not from the provider, 400 not in its shape)."""

    async def close(self) -> None: ...
