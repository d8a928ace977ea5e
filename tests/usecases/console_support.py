"""A core on a real store with two channels (web chat and Telegram), four operators and
helpers to open conversations and add orders, for the console's use case tests."""

from __future__ import annotations

from dataclasses import dataclass

from inbox.bus import InProcessEventBus
from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.clock import FixedClock
from inbox.domain.content import Text
from inbox.domain.conversations import Conversation
from inbox.domain.events import Event
from inbox.domain.ids import ChannelId, ContactId, ConversationId, OperatorId, new_id
from inbox.domain.messages import InboundMessage, SenderProfile
from inbox.domain.operators import Operator, Role
from inbox.usecases import Core, assign_conversation, ingest_inbound
from payments.records import Order, OrderId, OrderLine, OrderStatus
from server.channels import CATALOG
from storage import SqlStore
from storage.repositories.tx import SqlTx

__all__ = ["Console"]


@dataclass
class Console:
    store: SqlStore
    core: Core
    clock: FixedClock
    events: list[Event]
    web: Channel
    telegram: Channel
    op1: Operator
    op2: Operator
    sup: Operator
    admin: Operator

    @classmethod
    async def open(cls, store: SqlStore) -> Console:
        clock, bus, events = FixedClock(), InProcessEventBus(), []

        async def record(event: Event) -> None:
            events.append(event)

        bus.subscribe(record)
        core = Core(store=store, bus=bus, clock=clock, channels=CATALOG)
        now = clock.now()
        web = Channel(ChannelId(new_id()), ChannelKind("webchat"), "Site", now)
        telegram = Channel(ChannelId(new_id()), ChannelKind("telegram"), "Bot", now)
        people = [
            Operator(OperatorId(new_id()), login, login.title(), role, "x", now, capacity=50)
            for login, role in (
                ("op1", Role.OPERATOR),
                ("op2", Role.OPERATOR),
                ("sup", Role.SUPERVISOR),
                ("admin", Role.ADMIN),
            )
        ]

        async def work(tx: SqlTx) -> None:
            await tx.channels.add(web)
            await tx.channels.add(telegram)
            for person in people:
                await tx.operators.add(person)

        await store.transact(work)
        return cls(store, core, clock, events, web, telegram, *people)

    async def say(
        self, channel: Channel, user: str, text: str = "hi", *, name: str = ""
    ) -> Conversation:
        self.clock.advance(60)
        result = await ingest_inbound(
            self.core,
            InboundMessage(
                channel.id,
                new_id(),
                SenderProfile(user, name or user.title()),
                (Text(text),),
                thread_key=user,
            ),
        )
        return result.conversation

    async def assign(self, conversation: Conversation, operator: Operator) -> Conversation:
        return await assign_conversation(
            self.core, conversation.id, operator.id, require_online=False
        )

    async def add_order(self, conversation: Conversation, number: int) -> Order:
        now = self.clock.now()
        order = Order(
            id=OrderId(new_id()),
            number=number,
            conversation_id=conversation.id,
            contact_id=conversation.contact_id,
            currency="RUB",
            lines=(OrderLine("Lenses", 2, 172500),),
            status=OrderStatus.DRAFT,
            created_at=now,
            updated_at=now,
            status_times={"draft": now},
        )

        async def work(tx: SqlTx) -> None:
            await tx.payments.add_order(order)

        await self.store.transact(work)
        return order

    async def orders_of(self, contact_id: ContactId) -> list[Order]:
        async def work(tx: SqlTx) -> list[Order]:
            return await tx.payments.list_orders(contact_id=contact_id)

        return await self.store.read(work)

    async def conversation(self, conversation_id: ConversationId) -> Conversation | None:
        async def work(tx: SqlTx) -> Conversation | None:
            return await tx.conversations.get(conversation_id)

        return await self.store.read(work)
