"""Orders in conversations (docs/payments.md): create, read, list, edit while a draft, and
move through the status machine; the customer is told about a new status in their
channel, in the queue's language. :class:`payments.service.PaymentService` adds the
providers, the payment links and the notifications on top."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from inbox.domain.content import Text
from inbox.domain.conversations import Conversation
from inbox.domain.errors import Forbidden, InvalidInput, InvalidTransition, NotFound
from inbox.domain.events import Event
from inbox.domain.ids import ContactId, ConversationId, new_id
from inbox.domain.messages import AuthorKind
from inbox.domain.operators import Operator
from inbox.usecases import Core, Outcome, write_automatic_reply
from inbox.usecases.access import Viewer, require_act, require_see, viewer_of
from payments.events import OrderChanged
from payments.money import check_currency
from payments.orders import only_fields, parse_external_id, parse_lines, parse_status
from payments.ports import PaymentGateway, PaymentsStore, PaymentsTx
from payments.records import Order, OrderId, OrderStatus
from payments.texts import status_text

__all__ = ["LanguageOf", "OrderBook"]

T = TypeVar("T")

#: The customer's language for a conversation (the root asks its queue).
LanguageOf = Callable[[PaymentsTx, Conversation], Awaitable[str]]


async def _english(tx: PaymentsTx, conversation: Conversation) -> str:
    return "en"


class OrderBook:
    """Orders in conversations: made, read and edited by the people who may act on the
    conversation; a new status is told to the customer in their channel."""

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
        viewer = await viewer_of(self._core, actor)

        async def work(tx: PaymentsTx) -> Order:
            order, _ = await self._visible(tx, viewer, order_id)
            return order

        return await self._store.read(work)

    async def list_orders(
        self, actor: Operator, conversation_id: ConversationId | None
    ) -> list[Order]:
        viewer = await viewer_of(self._core, actor)

        async def work(tx: PaymentsTx) -> list[Order]:
            if conversation_id is not None:
                conversation = await tx.conversations.get(conversation_id)
                if conversation is None:
                    raise NotFound("no such conversation")
                require_see(viewer, conversation)
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
        viewer = await viewer_of(self._core, actor)

        async def work(tx: PaymentsTx) -> Outcome[Order]:
            now = self._core.clock.now()
            order, conversation = await self._visible(tx, viewer, order_id, for_update=True)
            require_act(actor, conversation)
            changed = order
            if {"lines", "currency", "external_id"} & set(body):
                if order.status is not OrderStatus.DRAFT:
                    raise InvalidTransition(
                        f"a {order.status} order cannot be edited; only a draft can"
                    )
                currency = check_currency(body.get("currency", order.currency))
                # Every currency taken has two decimals (payments.money.CURRENCIES), so
                # lines kept across a change of currency keep their minor units.
                lines = parse_lines(body["lines"], currency) if "lines" in body else order.lines
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
            before = str(order.status) if changed.status is not order.status else ""
            events.insert(0, OrderChanged(changed, conversation, "updated", before))
            return Outcome(changed, events)

        return await self._run(work)

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
        self, tx: PaymentsTx, viewer: Viewer, order_id: OrderId, *, for_update: bool = False
    ) -> tuple[Order, Conversation]:
        order = await tx.payments.get_order(order_id, for_update=for_update)
        if order is None:
            raise NotFound("no such order")
        conversation = await tx.conversations.get(order.conversation_id)
        assert conversation is not None  # an order always references its conversation
        if viewer.operator.id != order.manager_id:
            require_see(viewer, conversation)
        return order, conversation

    async def _run(self, work: Callable[[PaymentsTx], Awaitable[Outcome[T]]]) -> T:
        outcome = await self._store.transact(work)
        if outcome.events:
            await self._core.bus.publish(outcome.events)
        return outcome.value
