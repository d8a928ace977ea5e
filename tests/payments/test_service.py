"""The payments service with the sandbox provider on a real database (SQLite and
PostgreSQL): an order in a conversation, its link into the customer's channel, the paid
notification acted on once, and bad input refused without a change."""

# Russian texts are what these tests are about.
# ruff: noqa: RUF001

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from inbox.bus import InProcessEventBus
from inbox.domain.channel_io import WebhookRejected
from inbox.domain.channels import ChannelKind
from inbox.domain.clock import FixedClock
from inbox.domain.content import Buttons, Text
from inbox.domain.conversations import Conversation
from inbox.domain.errors import Forbidden, InvalidInput, InvalidTransition
from inbox.domain.events import Event
from inbox.domain.ids import ConversationId
from inbox.domain.messages import AuthorKind, Direction, InboundMessage, Message, SenderProfile
from inbox.domain.operators import Operator, Presence, Role
from inbox.ports import Tx
from inbox.usecases import (
    Core,
    add_channel,
    add_operator,
    claim_conversation,
    ingest_inbound,
    resolve_conversation,
    set_presence,
)
from operator_ws import Argon2PasswordHasher
from payments.events import OrderChanged
from payments.ports import NotificationRequest, PaymentsTx
from payments.providers.sandbox import SandboxGateway, sandbox_signature
from payments.records import OrderStatus, PaymentStatus, ProviderRecord
from payments.service import PaymentService
from routing import RoutingService, RoutingTx
from server.channels import CATALOG
from server.payments import UnpaidOrdersOfContacts
from storage import SqlStore

HASHER = Argon2PasswordHasher(fast_for_tests=True)
LINES: list[dict[str, Any]] = [
    {"name": "Линзы Acuvue Oasys", "quantity": 2, "unit_price": "1725.00", "sku": "AO-6"},
    {"name": "Раствор", "quantity": 1, "unit_price": "0.10"},
]


async def russian(tx: PaymentsTx, conversation: Conversation) -> str:
    return "ru"


class Shop:
    def __init__(self, store: SqlStore) -> None:
        self.clock = FixedClock()
        self.bus = InProcessEventBus()
        self.core = Core(store=store, bus=self.bus, clock=self.clock, channels=CATALOG)
        self.sandbox = SandboxGateway()
        self.payments = PaymentService(
            self.core,
            store,
            {"sandbox": self.sandbox},
            public_url="http://shop.test",
            language_of=russian,
        )
        self.events: list[Event] = []

        async def record(event: Event) -> None:
            self.events.append(event)

        self.bus.subscribe(record)

    async def setup(self) -> tuple[Operator, Conversation, ProviderRecord]:
        channel = await add_channel(self.core, ChannelKind("webchat"), "Shop", {})
        op = await add_operator(self.core, HASHER, login="mila", password="long enough")
        op = await set_presence(self.core, op.id, Presence.ONLINE)
        result = await ingest_inbound(
            self.core,
            InboundMessage(channel.id, "m1", SenderProfile("v1", "Вера"), (Text("Хочу линзы"),)),
        )
        conversation = await claim_conversation(self.core, op, result.conversation.id)
        provider = await self.payments.add_provider("sandbox", "Sandbox", {})
        return op, conversation, provider

    async def messages(self, conversation: Conversation) -> list[Message]:
        async def work(tx: Tx) -> list[Message]:
            return await tx.messages.list(conversation.id)

        return await self.core.store.read(work)

    def paid_notice(self, provider: ProviderRecord, payment_id: str) -> NotificationRequest:
        status = PaymentStatus.SUCCEEDED
        body = {
            "payment_id": payment_id,
            "status": str(status),
            "signature": sandbox_signature(provider.options["secret"], payment_id, status),
        }
        return NotificationRequest({}, json.dumps(body).encode(), "127.0.0.1")


@pytest.fixture
async def shop(store: SqlStore) -> Shop:
    return Shop(store)


async def test_order_link_payment_once(shop: Shop) -> None:
    op, conversation, provider = await shop.setup()
    order = await shop.payments.create_order(
        op, conversation.id, {"currency": "RUB", "lines": LINES, "external_id": "1C-77"}
    )
    assert order.number == 1001
    assert order.total_minor == 2 * 172500 + 10
    assert order.status is OrderStatus.DRAFT

    linked = await shop.payments.send_payment_link(op, order.id, provider.id)
    assert linked.status is OrderStatus.AWAITING_PAYMENT
    assert linked.payment is not None
    assert linked.payment.url == f"http://shop.test/pay/{provider.id}/{linked.payment.payment_id}"
    link_messages = [
        m for m in await shop.messages(conversation) if m.author_kind is AuthorKind.SYSTEM
    ]
    (buttons,) = link_messages[0].parts
    assert isinstance(buttons, Buttons)
    assert buttons.text == "Заказ 1001 на сумму 3\xa0450,10\xa0₽. Оплатить можно по ссылке:"
    assert buttons.buttons[0].kind == "url"
    assert buttons.buttons[0].url == linked.payment.url

    # Sending again resumes the same payment (same key, same provider payment).
    again = await shop.payments.send_payment_link(op, order.id, provider.id)
    assert again.payment is not None
    assert again.payment.payment_id == linked.payment.payment_id

    notice = shop.paid_notice(provider, linked.payment.payment_id)
    results = await asyncio.gather(
        shop.payments.handle_notification("sandbox", provider.id, notice),
        shop.payments.handle_notification("sandbox", provider.id, notice),
    )
    assert sorted(r.status for r in results) == [200, 200]
    paid = await shop.payments.get_order(op, order.id)
    assert paid.status is OrderStatus.PAID
    confirmations = [
        m
        for m in await shop.messages(conversation)
        if m.direction is Direction.OUTBOUND and "Оплата получена" in str(m.parts[0])
    ]
    assert len(confirmations) == 1
    assert confirmations[0].parts == (
        Text("Оплата получена, заказ 1001, 3\xa0450,10\xa0₽. Спасибо!"),
    )
    reasons = [e.reason for e in shop.events if isinstance(e, OrderChanged)]
    assert reasons.count("paid") == 1

    # A paid order is not edited; a status from the shop system tells the customer.
    with pytest.raises(InvalidTransition, match="only a draft"):
        await shop.payments.update_order(op, order.id, {"lines": LINES})
    shipped = await shop.payments.update_order(
        op, order.id, {"status": "shipped", "tracking_number": "RA123456789RU"}
    )
    assert shipped.status is OrderStatus.SHIPPED
    last = (await shop.messages(conversation))[-1]
    assert last.parts == (Text("Заказ 1001 отправлен. Трек-номер: RA123456789RU."),)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"lines": [{"name": "x", "quantity": -1, "unit_price": "1.00"}]}, "quantity"),
        ({"lines": [{"name": "x", "quantity": 1, "unit_price": 1.5}]}, "decimal string"),
        ({"lines": [{"name": "x", "quantity": 1, "unit_price": "1.005"}]}, "2 decimals"),
        ({"currency": "GBP", "lines": LINES}, "currency"),
        ({"lines": []}, "non-empty"),
        ({"lines": LINES, "colour": "red"}, "colour"),
    ],
)
async def test_bad_orders_are_refused_and_nothing_is_stored(
    shop: Shop, body: dict[str, Any], message: str
) -> None:
    op, conversation, _ = await shop.setup()
    with pytest.raises(InvalidInput, match=message):
        await shop.payments.create_order(op, conversation.id, body)
    assert await shop.payments.list_orders(op, conversation.id) == []


async def test_another_operators_conversation_is_refused(shop: Shop) -> None:
    op, conversation, _ = await shop.setup()
    other = await add_operator(shop.core, HASHER, login="boris", password="long enough")
    with pytest.raises(Forbidden):
        await shop.payments.create_order(other, conversation.id, {"lines": LINES})
    order = await shop.payments.create_order(op, conversation.id, {"lines": LINES})
    with pytest.raises(Forbidden):
        await shop.payments.get_order(other, order.id)
    boss = await add_operator(
        shop.core, HASHER, login="sveta", password="long enough", role=Role.SUPERVISOR
    )
    assert (await shop.payments.get_order(boss, order.id)).id == order.id


async def test_a_forged_sandbox_notification_changes_nothing(shop: Shop) -> None:
    op, conversation, provider = await shop.setup()
    order = await shop.payments.create_order(op, conversation.id, {"lines": LINES})
    linked = await shop.payments.send_payment_link(op, order.id, provider.id)
    assert linked.payment is not None
    forged = json.dumps(
        {"payment_id": linked.payment.payment_id, "status": "succeeded", "signature": "0" * 64}
    ).encode()
    with pytest.raises(WebhookRejected) as caught:
        await shop.payments.handle_notification(
            "sandbox", provider.id, NotificationRequest({}, forged, "127.0.0.1")
        )
    assert caught.value.status == 403
    assert (await shop.payments.get_order(op, order.id)).status is OrderStatus.AWAITING_PAYMENT


async def test_an_unpaid_order_raises_the_customers_priority(shop: Shop, store: SqlStore) -> None:
    """The routing rule ``unpaid_order`` matches a contact with an order awaiting payment
    (the root's port over the payments' orders)."""
    router = RoutingService(shop.core, store, unpaid_orders=UnpaidOrdersOfContacts())
    boss = await add_operator(
        shop.core, HASHER, login="sveta", password="long enough", role=Role.SUPERVISOR
    )
    op, conversation, provider = await shop.setup()
    await router.save_queue(
        boss,
        "Shop",
        {"priority": [{"rule": "unpaid_order", "bonus": 3}]},
        create=True,
        is_default=True,
    )
    order = await shop.payments.create_order(op, conversation.id, {"lines": LINES})
    await shop.payments.send_payment_link(op, order.id, provider.id)
    channel_id = conversation.channel_id
    # The same customer writes on another day in a new conversation; so does a stranger.
    shop.clock.advance(60)
    await resolve_conversation(shop.core, op, conversation.id)
    shop.clock.advance(3600)
    again = await ingest_inbound(
        shop.core, InboundMessage(channel_id, "m2", SenderProfile("v1", "Вера"), (Text("А?"),))
    )
    stranger = await ingest_inbound(
        shop.core, InboundMessage(channel_id, "m3", SenderProfile("v2", "Ян"), (Text("Hi"),))
    )
    await router.run_pass()

    async def priority(tx: RoutingTx, cid: ConversationId) -> int:
        task = await tx.routing.get_task(cid)
        assert task is not None
        return task.priority

    assert await store.read(lambda tx: priority(tx, again.conversation.id)) == 3
    assert await store.read(lambda tx: priority(tx, stranger.conversation.id)) == 0
