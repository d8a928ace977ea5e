"""The payments service: providers, orders in conversations, payment links into the
customer's channel, and the providers' notifications (docs/payments.md).

Exactly once, both ways:

* A link: the payment attempt's idempotence key is committed before the provider is
  called; the provider's answer and the link message (with a client id derived from the
  key) are committed after. A crash in between leaves the key, and the next "send link"
  asks the provider with the same key, which answers with the same payment.
* A notification: the order is locked by its payment; a notice already acted on (its key
  is remembered in the same transaction) or an order already paid changes nothing. The
  customer is told once: the confirmation is written in the transaction that marks the
  order paid.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from inbox.domain.channel_errors import ChannelError, RetryLater
from inbox.domain.content import Button, Buttons, Part
from inbox.domain.conversations import Conversation
from inbox.domain.errors import (
    Conflict,
    InvalidInput,
    InvalidTransition,
    NotFound,
    Unavailable,
)
from inbox.domain.ids import new_id
from inbox.domain.messages import AuthorKind
from inbox.domain.operators import Operator
from inbox.usecases import Outcome, write_automatic_reply
from inbox.usecases.access import require_act, viewer_of
from payments.events import OrderChanged
from payments.order_book import LanguageOf, OrderBook
from payments.ports import (
    Notice,
    NotificationRequest,
    PaymentGateway,
    PaymentRequest,
    PaymentsTx,
)
from payments.records import (
    Order,
    OrderId,
    OrderStatus,
    Payment,
    PaymentStatus,
    ProviderId,
    ProviderRecord,
)
from payments.texts import link_button, link_text
from payments.views import provider_view

__all__ = ["LanguageOf", "NotificationResult", "PaymentService"]

logger = logging.getLogger(__name__)

_OPEN_PAYMENT = (PaymentStatus.CREATING, PaymentStatus.PENDING, PaymentStatus.WAITING_FOR_CAPTURE)


@dataclasses.dataclass(frozen=True, slots=True)
class NotificationResult:
    """What the webhook answers: 200 when the notification was acted on or is known;
    409 when the provider's own record does not confirm it yet (it will notify again)."""

    status: int
    message: str


class PaymentService(OrderBook):
    """Orders (:class:`payments.order_book.OrderBook`), providers, payment links and the
    providers' notifications."""

    # -- providers

    def _gateway(self, kind: str) -> PaymentGateway:
        gateway = self.gateways.get(kind)
        if gateway is None:
            kinds = ", ".join(sorted(self.gateways))
            raise InvalidInput(f"unknown payment provider {kind!r} (available: {kinds})")
        return gateway

    async def add_provider(
        self, kind: str, name: str, options: Mapping[str, str]
    ) -> ProviderRecord:
        gateway = self._gateway(kind)
        name = name.strip()
        if not 1 <= len(name) <= 100:
            raise InvalidInput("a provider name is 1..100 characters")
        stored = dict(gateway.check_options(options))
        if kind == "sandbox":
            stored.setdefault("public_url", self._public_url)
        record = ProviderRecord(ProviderId(new_id()), kind, name, self._core.clock.now(), stored)

        async def work(tx: PaymentsTx) -> None:
            await tx.payments.add_provider(record)

        await self._store.transact(work)
        return record

    async def list_providers(self) -> list[ProviderRecord]:
        async def work(tx: PaymentsTx) -> list[ProviderRecord]:
            return await tx.payments.list_providers()

        return await self._store.read(work)

    def provider_view(self, provider: ProviderRecord) -> dict[str, Any]:
        gateway = self.gateways.get(provider.kind)
        secrets = gateway.secrets if gateway is not None else frozenset(provider.options)
        return provider_view(provider, secrets, self._public_url)

    # -- payment links

    async def send_payment_link(
        self, actor: Operator, order_id: OrderId, provider_id: ProviderId
    ) -> Order:
        """Create (or resume) the order's payment and send its link into the customer's
        channel as a link button (a plain link where the channel has no buttons)."""
        now = self._core.clock.now()
        viewer = await viewer_of(self._core, actor)

        async def begin(tx: PaymentsTx) -> tuple[Order, ProviderRecord, PaymentRequest]:
            order, conversation = await self._visible(tx, viewer, order_id, for_update=True)
            require_act(actor, conversation)
            provider = await tx.payments.get_provider(provider_id)
            if provider is None:
                raise NotFound("no such payment provider")
            if order.status not in (OrderStatus.DRAFT, OrderStatus.AWAITING_PAYMENT):
                raise InvalidTransition(f"a {order.status} order takes no payment link")
            if not order.lines or order.total_minor <= 0:
                raise InvalidInput("an order needs a positive total before it can be paid")
            payment = order.payment
            if (
                payment is None
                or payment.provider_id != provider.id
                or (payment.status not in _OPEN_PAYMENT)
            ):
                # A new attempt: its key is committed before the provider hears of it.
                payment = Payment(
                    provider.id, f"order-{order.id}-{new_id()[:12]}", PaymentStatus.CREATING, now
                )
            if order.status is OrderStatus.DRAFT:
                order = order.moved_to(OrderStatus.AWAITING_PAYMENT, now)
            order = dataclasses.replace(order, payment=payment, updated_at=now)
            await tx.payments.update_order(order)
            contact = await tx.contacts.get(order.contact_id)
            request = PaymentRequest(
                order_id=order.id,
                order_number=order.number,
                amount_minor=order.total_minor,
                currency=order.currency,
                lines=order.lines,
                description=f"Order {order.number}",
                idempotence_key=payment.idempotence_key,
                return_url=self._public_url or "http://localhost",
                customer_email=contact.email if contact else "",
                customer_phone=contact.phone if contact else "",
            )
            return order, provider, request

        order, provider, request = await self._store.transact(begin)
        try:
            created = await self._gateway(provider.kind).create_payment(provider, request)
        except RetryLater as exc:
            # The key is stored: sending again asks for this same payment.
            raise Unavailable(
                f"the payment provider is busy, send the link again: {exc.reason}"
            ) from exc
        except ChannelError as exc:
            raise Unavailable(f"the payment provider refused: {exc.reason}") from exc

        async def finish(tx: PaymentsTx) -> Outcome[Order]:
            current = await tx.payments.get_order(order.id, for_update=True)
            if current is None or current.payment is None:
                raise Conflict("the order changed while its payment was created")
            if current.payment.idempotence_key != request.idempotence_key:
                raise Conflict("another payment link was sent meanwhile")
            conversation = await tx.conversations.get(current.conversation_id)
            assert conversation is not None
            payment = dataclasses.replace(
                current.payment,
                payment_id=created.payment_id,
                url=created.url,
                status=PaymentStatus.PENDING
                if created.status is PaymentStatus.CREATING
                else created.status,
            )
            current = dataclasses.replace(current, payment=payment, updated_at=now)
            await tx.payments.update_order(current)
            language = await self._language_of(tx, conversation)
            parts: tuple[Part, ...] = (
                Buttons(
                    link_text(current, language),
                    (Button(link_button(current, language), kind="url", url=created.url),),
                ),
            )
            written = await write_automatic_reply(
                tx,
                conversation.id,
                parts,
                now,
                author=AuthorKind.SYSTEM,
                client_id=f"paylink:{payment.idempotence_key}",
                channels=self._core.channels,
            )
            return Outcome(
                current, [*written.events, OrderChanged(current, conversation, "link_sent")]
            )

        return await self._run(finish)

    # -- notifications

    async def handle_notification(
        self, kind: str, provider_id: ProviderId, request: NotificationRequest
    ) -> NotificationResult:
        """Raises :class:`inbox.domain.channel_io.WebhookRejected` (not from the provider)
        and :class:`NotFound` (no such provider of that kind)."""

        async def load(tx: PaymentsTx) -> ProviderRecord | None:
            return await tx.payments.get_provider(provider_id)

        provider = await self._store.read(load)
        if provider is None or provider.kind != kind:
            raise NotFound("no such payment provider")
        gateway = self._gateway(kind)
        notice = gateway.verify_notification(provider, request)
        if not notice.payment_id:
            return NotificationResult(200, "ignored: not about a payment")
        status = notice.status
        if status is None:  # not trustworthy by itself: ask the provider
            status = (await gateway.fetch_payment(provider, notice.payment_id)).status
        return await self._apply(provider, notice, status)

    async def _apply(
        self, provider: ProviderRecord, notice: Notice, status: PaymentStatus
    ) -> NotificationResult:
        async def work(tx: PaymentsTx) -> Outcome[NotificationResult]:
            now = self._core.clock.now()
            order = await tx.payments.get_order_by_payment(
                provider.id, notice.payment_id, for_update=True
            )
            if order is None or order.payment is None:
                return Outcome(NotificationResult(200, "ignored: no order has this payment"))
            target = _order_status_for(order, status)
            if target is None:
                if status in (PaymentStatus.PENDING, PaymentStatus.WAITING_FOR_CAPTURE):
                    return Outcome(NotificationResult(409, "the payment is not confirmed yet"))
                return Outcome(NotificationResult(200, "nothing to change"))
            if not await tx.payments.remember_notice(provider.id, notice.key):
                return Outcome(NotificationResult(200, "already handled"))
            conversation = await tx.conversations.get(order.conversation_id)
            assert conversation is not None
            changed = order.moved_to(target, now)
            changed = dataclasses.replace(
                changed, payment=dataclasses.replace(order.payment, status=status)
            )
            await tx.payments.update_order(changed)
            events = await self._tell(tx, conversation, changed, now, str(target))
            events.append(OrderChanged(changed, conversation, str(target), str(order.status)))
            return Outcome(NotificationResult(200, f"order {changed.number} is {target}"), events)

        return await self._run(work)

    async def link_parts_for(
        self, tx: PaymentsTx, conversation: Conversation, number: int
    ) -> tuple[Part, ...] | None:
        """Inside a caller's transaction (the bot's): the payment link message of order
        ``number`` when it is this conversation's customer's and awaits payment with a
        link already made; ``None`` otherwise -- never another customer's order."""
        order = await tx.payments.get_order_by_number(number)
        if (
            order is None
            or order.contact_id != conversation.contact_id
            or order.status is not OrderStatus.AWAITING_PAYMENT
            or order.payment is None
            or not order.payment.url
        ):
            return None
        language = await self._language_of(tx, conversation)
        return (
            Buttons(
                link_text(order, language),
                (Button(link_button(order, language), kind="url", url=order.payment.url),),
            ),
        )


def _order_status_for(order: Order, status: PaymentStatus) -> OrderStatus | None:
    """The order status a payment status leads to, or None when nothing changes."""
    if status is PaymentStatus.SUCCEEDED and order.status is OrderStatus.AWAITING_PAYMENT:
        return OrderStatus.PAID
    if status is PaymentStatus.REFUNDED and order.status in (
        OrderStatus.PAID,
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
    ):
        return OrderStatus.REFUNDED
    return None
