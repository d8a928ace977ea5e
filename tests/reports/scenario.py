"""A month of known requests, made through the real use cases of a real server (ingest,
routing's pick, replies, resolves with reasons, the bot's hand-off and CSAT, orders paid
through the sandbox provider), with a clock the scenario moves: every report figure of
it is known in advance (tests/reports/test_reports.py lists them).

Times are Moscow's (UTC+3, no summer time). Episodes, in the order they happen:

====  =======  ========  =====================  ==============================================
name  channel  customer  received (MSK)         what happens
====  =======  ========  =====================  ==============================================
E0    Shop     c8        Sat 2026-02-28 23:50   nothing (February: outside the report)
E8    Shop     c7        Sun 2026-03-01 00:10   boris picks, answers after 30 s; stays open
E1    Shop     c1 vip    Mon 2026-03-02 10:00   anna answers after 60 s, resolves "Sold" after
                                                1800 s; order 3450.00 paid
E2    Shop     c2 whole  Mon 2026-03-02 10:20   boris answers after 400 s (SLA missed), order
                                                1000.00 unpaid, resolves "Too expensive" 5000 s
E3    Shop     c3        Tue 2026-03-03 15:05   nobody answers; the supervisor resolves "Spam"
                                                after 600 s
E4    Shop     c1 vip    Wed 2026-03-04 09:00   c1 writes again (episode 2): anna answers after
                                                120 s; order 500.00 paid; stays open
E5    Shop     c4        Thu 2026-03-05 23:30   nobody answers; open (abandoned after 24 h)
E6    Help     c5 vip    Fri 2026-03-06 12:00   the bot greets; "оператор" at +30 s hands off;
                                                anna answers at +150 s (120 s after the hand-
                                                off, 90 s of it in the support queue's hours
                                                from 12:01); resolved at +300 s; rated 5
E7    Help     c6        Fri 2026-03-06 12:10   the bot has it; the supervisor resolves it at
                                                +200 s (resolved by the bot's side); rated 3
====  =======  ========  =====================  ==============================================

Shop's queue ``sales`` has an SLA (first response 300 s, resolution 3600 s); Help's queue
``support`` has none, a bot flow and business hours (Fridays 12:01-18:00, Moscow).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count

from bots import Scope
from bots.flow import parse_flow
from bots.hours import parse_schedule
from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.clock import FixedClock
from inbox.domain.content import Text
from inbox.domain.ids import ConversationId
from inbox.domain.messages import InboundMessage, SenderProfile
from inbox.domain.operators import Operator, Role
from inbox.usecases import (
    add_channel,
    add_operator,
    ingest_inbound,
    resolve_conversation,
    send_reply,
    set_contact_tags,
)
from operator_ws import Argon2PasswordHasher
from payments.ports import NotificationRequest
from payments.providers.sandbox import sandbox_signature
from payments.records import PaymentStatus, ProviderRecord
from server.services import Services

MSK = timedelta(hours=3)
HASHER = Argon2PasswordHasher(fast_for_tests=True)
PASSWORD = "long enough password"

FLOW = """
language: ru
greeting: "Здравствуйте! Чем помочь?"
off_hours: "Сейчас мы не работаем. Ответим {next_open}."
handoff: ["оператор", "operator"]
"""


def msk(day: int, hour: int, minute: int, month: int = 3) -> datetime:
    """A Moscow wall time in 2026 as an aware UTC instant."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC) - MSK


#: When the scenario ends (E5 has waited more than a day by then).
END = msk(10, 12, 0)


@dataclass
class Scenario:
    services: Services
    clock: FixedClock
    shop: Channel | None = None
    help: Channel | None = None
    ops: dict[str, Operator] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)
    episodes: dict[str, ConversationId] = field(default_factory=dict)
    provider: ProviderRecord | None = None
    _n: count[int] = field(default_factory=count)

    def at(self, moment: datetime) -> None:
        assert moment >= self.clock.now(), (moment, self.clock.now())
        self.clock.advance((moment - self.clock.now()).total_seconds())

    async def settle(self) -> None:
        """What the server's loops would do next, done now at the scenario's time."""
        await self.services.router.run_pass()
        for cid in self.episodes.values():
            await self.services.bots.answer(cid)

    async def write(self, channel: Channel, who: str, text: str = "Здравствуйте") -> ConversationId:
        result = await ingest_inbound(
            self.services.core,
            InboundMessage(
                channel.id, f"m{next(self._n)}", SenderProfile(who, who.upper()), (Text(text),)
            ),
        )
        await self.settle()
        return result.conversation.id

    async def reply(self, login: str, cid: ConversationId) -> None:
        await send_reply(
            self.services.core, self.ops[login], cid, (Text("Добрый день!"),), f"r{next(self._n)}"
        )
        await self.settle()

    async def pick(self, login: str, cid: ConversationId) -> None:
        await self.services.router.pick(self.ops[login], cid)
        await self.settle()

    async def resolve(self, login: str, cid: ConversationId, reason: str | None = None) -> None:
        await resolve_conversation(self.services.core, self.ops[login], cid, reason)
        await self.settle()
        await self.services.bots.request_csat(cid)
        await self.settle()

    async def order(self, cid: ConversationId, price: str, *, pay: bool) -> None:
        payments = self.services.payments
        order = await payments.create_order(
            self.ops["sup"],
            cid,
            {"currency": "RUB", "lines": [{"name": "Линзы", "quantity": 1, "unit_price": price}]},
        )
        if not pay:
            return
        assert self.provider is not None
        linked = await payments.send_payment_link(self.ops["sup"], order.id, self.provider.id)
        assert linked.payment is not None
        status = PaymentStatus.SUCCEEDED
        body = {
            "payment_id": linked.payment.payment_id,
            "status": str(status),
            "signature": sandbox_signature(
                self.provider.options["secret"], linked.payment.payment_id, status
            ),
        }
        await payments.handle_notification(
            "sandbox",
            self.provider.id,
            NotificationRequest({}, json.dumps(body).encode(), "127.0.0.1"),
        )
        await self.settle()

    async def setup(self) -> None:
        core, router = self.services.core, self.services.router
        for login, role in (
            ("anna", Role.OPERATOR),
            ("boris", Role.OPERATOR),
            ("sup", Role.SUPERVISOR),
        ):
            self.ops[login] = await add_operator(
                core,
                HASHER,
                login=login,
                password=PASSWORD,
                display_name=login.title(),
                role=role,
                capacity=5,
            )
        self.shop = await add_channel(core, ChannelKind("webchat"), "Shop", {})
        self.help = await add_channel(core, ChannelKind("webchat"), "Help", {})
        members = [self.ops["anna"].id, self.ops["boris"].id]
        sales = await router.save_queue(
            self.ops["sup"],
            "sales",
            {
                "channels": [self.shop.id],
                "members": members,
                "sla": {"0": {"first_response": 300, "resolution": 3600}},
            },
            create=True,
        )
        support = await router.save_queue(
            self.ops["sup"],
            "support",
            {"channels": [self.help.id], "members": members},
            create=True,
        )
        self.queues = {"sales": str(sales["id"]), "support": str(support["id"])}
        settings = self.services.bots.settings
        await settings.save_flow(Scope(self.queues["support"]), parse_flow(FLOW))
        await settings.save_hours(
            Scope(self.queues["support"]), parse_schedule("Europe/Moscow", "fri 12:01-18:00")
        )
        self.provider = await self.services.payments.add_provider("sandbox", "Sandbox", {})

    async def tag(self, cid: ConversationId, *tags: str) -> None:
        await set_contact_tags(self.services.core, self.ops["sup"], cid, frozenset(tags))

    async def run(self) -> None:
        """Every episode of the module's table, in time order."""
        await self.setup()
        shop, help_ = self.shop, self.help
        assert shop is not None
        assert help_ is not None
        e = self.episodes
        self.at(msk(28, 23, 50, month=2))
        e["E0"] = await self.write(shop, "c8")
        self.at(msk(1, 0, 10))
        e["E8"] = await self.write(shop, "c7")
        await self.pick("boris", e["E8"])
        self.at(msk(1, 0, 10) + timedelta(seconds=30))
        await self.reply("boris", e["E8"])

        t1 = msk(2, 10, 0)
        self.at(t1)
        e["E1"] = await self.write(shop, "c1")
        await self.tag(e["E1"], "vip")
        self.at(t1 + timedelta(seconds=10))
        await self.pick("anna", e["E1"])
        self.at(t1 + timedelta(seconds=60))
        await self.reply("anna", e["E1"])
        await self.order(e["E1"], "3450.00", pay=True)

        t2 = msk(2, 10, 20)
        self.at(t2)
        e["E2"] = await self.write(shop, "c2")
        await self.tag(e["E2"], "wholesale")
        await self.pick("boris", e["E2"])
        self.at(t2 + timedelta(seconds=400))
        await self.reply("boris", e["E2"])
        await self.order(e["E2"], "1000.00", pay=False)
        self.at(t1 + timedelta(seconds=1800))
        await self.resolve("anna", e["E1"], "Sold")
        self.at(t2 + timedelta(seconds=5000))
        await self.resolve("boris", e["E2"], "Too expensive")

        t3 = msk(3, 15, 5)
        self.at(t3)
        e["E3"] = await self.write(shop, "c3")
        self.at(t3 + timedelta(seconds=600))
        await self.resolve("sup", e["E3"], "Spam")

        t4 = msk(4, 9, 0)
        self.at(t4)
        assert await self.write(shop, "c1", "Ещё вопрос") == e["E1"]  # the same thread
        e["E4"] = e["E1"]
        await self.pick("anna", e["E4"])
        self.at(t4 + timedelta(seconds=120))
        await self.reply("anna", e["E4"])
        await self.order(e["E4"], "500.00", pay=True)

        self.at(msk(5, 23, 30))
        e["E5"] = await self.write(shop, "c4")

        t6 = msk(6, 12, 0)
        self.at(t6)
        e["E6"] = await self.write(help_, "c5")
        await self.tag(e["E6"], "vip")
        self.at(t6 + timedelta(seconds=30))
        await self.write(help_, "c5", "оператор")
        self.at(t6 + timedelta(seconds=60))
        await self.pick("anna", e["E6"])
        self.at(t6 + timedelta(seconds=150))
        await self.reply("anna", e["E6"])

        self.at(t6 + timedelta(seconds=300))
        await self.resolve("anna", e["E6"])
        self.at(t6 + timedelta(seconds=360))
        await self.write(help_, "c5", "5")  # the rating: no new request

        t7 = msk(6, 12, 10)
        self.at(t7)
        e["E7"] = await self.write(help_, "c6", "Сколько стоит доставка?")
        self.at(t7 + timedelta(seconds=200))
        await self.resolve("sup", e["E7"])
        self.at(t7 + timedelta(seconds=260))
        await self.write(help_, "c6", "3")
        self.at(END)
        await self.settle()
