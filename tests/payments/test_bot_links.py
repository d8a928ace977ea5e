"""The bot sends an order's payment link when its customer asks ("оплатить заказ 1001"),
off hours included, and never another customer's order (SQLite and PostgreSQL)."""

# Russian texts are what these tests are about.
# ruff: noqa: RUF001

from __future__ import annotations

from datetime import UTC, datetime

from bots import DEFAULT_SCOPE, BotService
from bots.flow import parse_flow
from bots.hours import parse_schedule
from inbox.bus import InProcessEventBus
from inbox.domain.channels import ChannelKind
from inbox.domain.clock import FixedClock
from inbox.domain.content import Buttons, Text
from inbox.domain.ids import ChannelId, ConversationId
from inbox.domain.messages import AuthorKind, Direction, InboundMessage, Message, SenderProfile
from inbox.domain.operators import Role
from inbox.ports import Tx
from inbox.usecases import Core, add_channel, add_operator, ingest_inbound
from operator_ws import Argon2PasswordHasher
from payments.providers.sandbox import SandboxGateway
from payments.service import PaymentService
from server.bots import as_bots_tx
from server.channels import CATALOG
from server.payments import OrderLinksForBots
from storage import SqlStore

#: Saturday night in Moscow: closed.
NIGHT = datetime(2027, 3, 6, 20, 0, tzinfo=UTC)
LINES = [{"name": "Линзы", "quantity": 2, "unit_price": "1725.00"}]


async def no_queue(tx: Tx, channel_id: ChannelId) -> None:
    return None


async def test_the_bot_sends_only_the_customers_own_order_link(store: SqlStore) -> None:
    clock = FixedClock(NIGHT)
    bus = InProcessEventBus()
    plain = Core(store=store, bus=bus, clock=clock, channels=CATALOG)
    bots = BotService(plain, store, no_queue, as_bots_tx)
    core = Core(store=store, bus=bus, clock=clock, channels=CATALOG, intake=bots.intake)
    payments = PaymentService(core, store, {"sandbox": SandboxGateway()}, public_url="http://s")
    bots.order_links = OrderLinksForBots(payments)
    await bots.settings.save_flow(DEFAULT_SCOPE, parse_flow("language: ru\nmenu: false\n"))
    await bots.settings.save_hours(
        DEFAULT_SCOPE, parse_schedule("Europe/Moscow", "mon-fri 09:00-18:00")
    )
    channel = await add_channel(core, ChannelKind("webchat"), "Shop", {})
    boss = await add_operator(
        core,
        Argon2PasswordHasher(fast_for_tests=True),
        login="sveta",
        password="long enough",
        role=Role.SUPERVISOR,
    )
    provider = await payments.add_provider("sandbox", "Sandbox", {})

    async def write(who: str, ext: str, text: str) -> ConversationId:
        result = await ingest_inbound(
            core, InboundMessage(channel.id, ext, SenderProfile(who, who), (Text(text),))
        )
        await bots.answer(result.conversation.id)
        return result.conversation.id

    async def bot_parts(cid: ConversationId) -> list[Message]:
        async def work(tx: Tx) -> list[Message]:
            return [
                m
                for m in await tx.messages.list(cid)
                if m.author_kind is AuthorKind.BOT and m.direction is Direction.OUTBOUND
            ]

        return await store.read(work)

    vera = await write("vera", "v1", "Здравствуйте")
    order = await payments.create_order(boss, vera, {"lines": LINES})
    linked = await payments.send_payment_link(boss, order.id, provider.id)
    assert linked.payment is not None

    await write("vera", "v2", "Хочу оплатить заказ 1001")
    reply = (await bot_parts(vera))[-1].parts[0]
    assert isinstance(reply, Buttons)
    assert reply.buttons[0].url == linked.payment.url
    assert "1001" in reply.text

    # Another customer naming the same number gets no link.
    yan = await write("yan", "y1", "pay order 1001")
    last = (await bot_parts(yan))[-1].parts
    assert last == (
        Text("Не нашёл неоплаченный заказ с таким номером. Напишите «оператор», и вам помогут."),
    )
    assert all(not isinstance(p, Buttons) for m in await bot_parts(yan) for p in m.parts)
