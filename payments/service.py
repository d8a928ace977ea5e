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
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from inbox.domain.channel_errors import ChannelError, RetryLater
from inbox.domain.content import Button, Buttons, Part, Text
from inbox.domain.conversations import Conversation
from inbox.domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
    Unavailable,
)
from inbox.domain.events import Event
from inbox.domain.ids import ContactId, ConversationId, new_id
from inbox.domain.messages import AuthorKind
from inbox.domain.operators import Operator
from inbox.usecases import Core, Outcome, write_automatic_reply
from inbox.usecases.access import require_act, require_see
from payments.events import OrderChanged
from payments.money import check_currency, to_string
from payments.orders import only_fields, parse_external_id, parse_lines, parse_status
from payments.ports import (
    Notice,
    NotificationRequest,
    PaymentGateway,
    PaymentRequest,
    PaymentsStore,
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
from payments.texts import link_button, link_text, status_text
from payments.views import provider_view

__all__ = ["LanguageOf", "NotificationResult", "PaymentService"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: The customer's language for a conversation (the root asks its queue).
LanguageOf = Callable[[PaymentsTx, Conversation], Awaitable[str]]
_OPEN_PAYMENT = (PaymentStatus.CREATING, PaymentStatus.PENDING, PaymentStatus.WAITING_FOR_CAPTURE)


@dataclasses.dataclass(frozen=True, slots=True)
class NotificationResult:
    """What the webhook answers: 200 when the notification was acted on or is known;
    409 when the provider's own record does not confirm it yet (it will notify again)."""

    status: int
    message: str


async def _english(tx: PaymentsTx, conversation: Conversation) -> str:
    return "en"


class PaymentService:
    def __init__(
        self,
        core: Core,
        store: PaymentsStore,
        gateways: Mapping[str, PaymentGateway],
        *,
        public_url: str = "",
        language_of: LanguageOf = _english,
    ) -> None:
        self._core = core
        self._store = store
        self.gateways = dict(gateways)
        self._public_url = public_url.rstrip("/")
        self._language_of = language_of

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

    # -- orders

    async def create_order(
        self, actor: Operator, conversation_id: ConversationId, body: Mapping[str, Any]
    ) -> Order:
        only_fields(body, {"conversation_id", "currency", "lines", "external_id"}, "an order")
        currency = check_currency(body.get("currency", "RUB"))
        lines = parse_lines(body.get("lines"), currency)
        external_id = parse_external_id(body.get("external_id"))

        async def work(tx: PaymentsTx) -> Outcome[Order]:
            now = self._core.clock.now()
            conversation = await tx.conversations.get(conversation_id)
            if conversation is None:
                raise NotFound("no such conversation")
            require_act(actor, conversation)
            order = Order(
                id=OrderId(new_id()),
                number=await tx.payments.next_order_number(),
                conversation_id=conversation.id,
                contact_id=conversation.contact_id,
                currency=currency,
                lines=lines,
                status=OrderStatus.DRAFT,
                created_at=now,
                updated_at=now,
                status_times={str(OrderStatus.DRAFT): now},
                external_id=external_id,
                manager_id=actor.id if actor.id != "cli" else None,
            )
            await tx.payments.add_order(order)
            return Outcome(order, [OrderChanged(order, conversation, "created")])

        return await self._run(work)

    async def get_order(self, actor: Operator, order_id: OrderId) -> Order:
        async def work(tx: PaymentsTx) -> Order:
            order, _ = await self._visible(tx, actor, order_id)
            return order

        return await self._store.read(work)

    async def list_orders(
        self, actor: Operator, conversation_id: ConversationId | None
    ) -> list[Order]:
        async def work(tx: PaymentsTx) -> list[Order]:
            if conversation_id is not None:
                conversation = await tx.conversations.get(conversation_id)
                if conversation is None:
                    raise NotFound("no such conversation")
                require_see(actor, conversation)
            elif not actor.role.sees_everything:
                raise Forbidden("list a conversation's orders (?conversation_id=)")
            return await tx.payments.list_orders(conversation_id)

        return await self._store.read(work)

    async def contact_orders(self, contact_id: ContactId) -> list[Order]:
        """Every order of a contact, newest first, for its card: the caller has checked
        that the operator may see the contact (``inbox.usecases.contact_card``)."""

        async def work(tx: PaymentsTx) -> list[Order]:
            return await tx.payments.list_orders(contact_id=contact_id)

        return await self._store.read(work)

    async def update_order(
        self, actor: Operator, order_id: OrderId, body: Mapping[str, Any]
    ) -> Order:
        """Lines, currency and the external id while the order is a draft; a status
        (shipped with a tracking number, delivered, cancelled, back to draft) any time the
        status machine allows. The customer is told about a new status in their channel."""
        only_fields(
            body, {"lines", "currency", "external_id", "status", "tracking_number"}, "an order"
        )

        async def work(tx: PaymentsTx) -> Outcome[Order]:
            now = self._core.clock.now()
            order, conversation = await self._visible(tx, actor, order_id, for_update=True)
            require_act(actor, conversation)
            changed = order
            if {"lines", "currency", "external_id"} & set(body):
                if order.status is not OrderStatus.DRAFT:
                    raise InvalidTransition(
                        f"a {order.status} order cannot be edited; only a draft can"
                    )
                currency = check_currency(body.get("currency", order.currency))
                lines = (
                    parse_lines(body["lines"], currency)
                    if "lines" in body
                    else parse_lines(_lines_json(order), currency)
                )
                external = (
                    parse_external_id(body["external_id"])
                    if "external_id" in body
                    else order.external_id
                )
                changed = dataclasses.replace(
                    changed, currency=currency, lines=lines, external_id=external, updated_at=now
                )
            if "tracking_number" in body:
                tracking = body["tracking_number"]
                if tracking is not None and (not isinstance(tracking, str) or len(tracking) > 100):
                    raise InvalidInput("tracking_number must be at most 100 characters")
                changed = dataclasses.replace(changed, tracking_number=(tracking or "").strip())
            events: list[Event] = []
            if "status" in body:
                status = parse_status(body["status"])
                if status is not order.status:
                    changed = changed.moved_to(status, now)
                    if status is OrderStatus.DRAFT:
                        changed = dataclasses.replace(changed, payment=None)
                    events += await self._tell(tx, conversation, changed, now, "status")
            await tx.payments.update_order(changed)
            events.insert(0, OrderChanged(changed, conversation, "updated"))
            return Outcome(changed, events)

        return await self._run(work)

    # -- payment links

    async def send_payment_link(
        self, actor: Operator, order_id: OrderId, provider_id: ProviderId
    ) -> Order:
        """Create (or resume) the order's payment and send its link into the customer's
        channel as a link button (a plain link where the channel has no buttons)."""
        now = self._core.clock.now()

        async def begin(tx: PaymentsTx) -> tuple[Order, ProviderRecord, PaymentRequest]:
            order, conversation = await self._visible(tx, actor, order_id, for_update=True)
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
            events.append(OrderChanged(changed, conversation, str(target)))
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

    # -- helpers

    async def _tell(
        self, tx: PaymentsTx, conversation: Conversation, order: Order, now: datetime, why: str
    ) -> list[Event]:
        """The customer's message about the order's new status (once: its client id is
        the order and the status)."""
        language = await self._language_of(tx, conversation)
        text = status_text(order, language)
        if text is None:
            return []
        written = await write_automatic_reply(
            tx,
            conversation.id,
            (Text(text),),
            now,
            author=AuthorKind.SYSTEM,
            client_id=f"order:{order.id}:{order.status}",
            channels=self._core.channels,
        )
        return list(written.events)

    async def _visible(
        self, tx: PaymentsTx, actor: Operator, order_id: OrderId, *, for_update: bool = False
    ) -> tuple[Order, Conversation]:
        order = await tx.payments.get_order(order_id, for_update=for_update)
        if order is None:
            raise NotFound("no such order")
        conversation = await tx.conversations.get(order.conversation_id)
        assert conversation is not None  # an order always references its conversation
        if actor.id != order.manager_id:
            require_see(actor, conversation)
        return order, conversation

    async def _run(self, work: Callable[[PaymentsTx], Awaitable[Outcome[T]]]) -> T:
        outcome = await self._store.transact(work)
        if outcome.events:
            await self._core.bus.publish(outcome.events)
        return outcome.value


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


def _lines_json(order: Order) -> list[dict[str, Any]]:
    return [
        {
            "name": line.name,
            "quantity": line.quantity,
            "sku": line.sku,
            "unit_price": to_string(line.unit_price_minor, order.currency),
        }
        for line in order.lines
    ]
