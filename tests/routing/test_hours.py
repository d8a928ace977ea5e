"""Routing and business hours on a real database (SQLite and PostgreSQL) and an injected
clock: a closed queue's conversations wait for its opening (or overflow to an open queue),
the service wakes at the opening, and SLA due times may count open time only.

The hours come through the :class:`routing.OpeningHours` port; :class:`WeeklyHours` is a
small deterministic implementation of it over fixed weekly windows in UTC (the server's
one, kept by the bots feature, is not routing's to import). The clock starts on Thursday
1 January 2026, 09:00 UTC."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inbox.domain.errors import InvalidInput
from inbox.domain.ids import ConversationId
from inbox.domain.operators import Presence
from inbox.usecases import resolve_conversation, set_presence
from routing import OpeningHours, RoutingService, RoutingSettings
from routing.events import OfferChanged, RoutingAlert
from routing.policy import DEFAULT_WEIGHTS
from routing.records import QueueId, TaskStatus
from storage import SqlStore
from tests.routing.test_service import Harness
from tests.routing.test_service_properties import deterministic_ids, fresh_databases

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
WORKDAYS = frozenset({MON, TUE, WED, THU, FRI})


@dataclass(frozen=True, slots=True)
class Window:
    """Open from ``opens`` to ``closes`` (same day, UTC) on ``days`` (0 = Monday)."""

    opens: time
    closes: time
    days: frozenset[int] = WORKDAYS

    def interval(self, day: date) -> tuple[datetime, datetime] | None:
        if day.weekday() not in self.days:
            return None
        return datetime.combine(day, self.opens, UTC), datetime.combine(day, self.closes, UTC)


OFFICE = Window(time(9), time(18))  # Mon-Fri 09:00-18:00
EARLY = Window(time(7), time(8))  # Mon-Fri 07:00-08:00


@dataclass
class WeeklyHours:
    """:class:`routing.OpeningHours` over weekly windows; a queue without one is always
    open."""

    windows: dict[QueueId, Window] = field(default_factory=dict)

    def _intervals(self, queue_id: QueueId, at: datetime) -> list[tuple[datetime, datetime]]:
        window = self.windows[queue_id]
        days = (at.date() + timedelta(days=d) for d in range(-1, 367))
        return [i for i in map(window.interval, days) if i is not None and i[1] > at]

    def is_open(self, queue_id: QueueId, at: datetime) -> bool:
        window = self.windows.get(queue_id)
        if window is None:
            return True
        interval = window.interval(at.date())
        return interval is not None and interval[0] <= at < interval[1]

    def next_open(self, queue_id: QueueId, at: datetime) -> datetime | None:
        if self.is_open(queue_id, at):
            return at
        return next((max(o, at) for o, _ in self._intervals(queue_id, at)), None)

    def add_open_seconds(
        self, queue_id: QueueId, start: datetime, seconds: float
    ) -> datetime | None:
        if queue_id not in self.windows:
            return start + timedelta(seconds=seconds)
        left = timedelta(seconds=seconds)
        for opens, closes in self._intervals(queue_id, start):
            begin = max(opens, start)
            if left <= closes - begin:
                return begin + left
            left -= closes - begin
        return None


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of the first week of 2026 (day 1 = Thursday 1 January)."""
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


class HoursHarness(Harness):
    """The routing harness with business hours."""

    def __init__(self, store: SqlStore, hours: OpeningHours | None, **settings: Any) -> None:
        self.hours = hours
        super().__init__(store, **settings)

    def new_router(self, **settings: Any) -> RoutingService:
        values: dict[str, Any] = {"presence_stale_seconds": None}
        values.update(settings)
        router = RoutingService(
            self.core,
            self.store,
            weights=DEFAULT_WEIGHTS,
            settings=RoutingSettings(**values),
            hours=self.hours,
        )
        self.bus.subscribe(router.on_event)
        return router

    def to(self, moment: datetime) -> None:
        """Move the clock forward to ``moment``."""
        delta = (moment - self.clock.now()).total_seconds()
        assert delta >= 0
        self.clock.advance(delta)

    async def queue_with(
        self, name: str, window: Window | None, **settings: Any
    ) -> dict[str, object]:
        queue = await self.queue(name, **settings)
        if window is not None:
            assert isinstance(self.hours, WeeklyHours)
            self.hours.windows[QueueId(str(queue["id"]))] = window
        return queue


@pytest.fixture
def hours() -> WeeklyHours:
    return WeeklyHours()


@pytest.fixture
async def h(store: SqlStore, hours: WeeklyHours) -> HoursHarness:
    return HoursHarness(store, hours)


def test_the_test_hours_follow_their_windows(hours: WeeklyHours) -> None:
    q = QueueId("q")
    hours.windows[q] = OFFICE
    assert hours.is_open(q, at(1, 9))
    assert not hours.is_open(q, at(1, 18))
    assert hours.next_open(q, at(1, 20)) == at(2, 9)
    assert hours.next_open(q, at(2, 18)) == at(5, 9)  # Friday evening: Monday
    assert hours.next_open(q, at(5, 8)) == at(5, 9)
    assert hours.add_open_seconds(q, at(2, 17, 30), 3600) == at(5, 9, 30)
    assert hours.add_open_seconds(q, at(3, 12), 60) == at(5, 9, 1)
    hours.windows[q] = Window(time(9), time(18), frozenset())
    assert hours.next_open(q, at(1, 20)) is None
    assert hours.add_open_seconds(q, at(1, 20), 1) is None


async def test_a_closed_queue_offers_nothing_and_offers_at_opening(h: HoursHarness) -> None:
    shop = await h.channel("shop")
    anna = await h.operator("anna", capacity=1)
    boris = await h.operator("boris", capacity=1)
    await h.queue_with("Shop", OFFICE, channels=[shop.id], accept_timeout=30)
    h.to(at(1, 20))  # Thursday evening
    first = await h.customer_writes(shop, "c1")
    second = await h.customer_writes(shop, "c2")
    third = await h.customer_writes(shop, "c3")
    await h.pass_()
    # Operators are online with room, yet nothing is offered or assigned.
    assert h.of(OfferChanged) == []
    assert [await h.assignee(c) for c in (first, second, third)] == [None, None, None]
    assert (await h.task(first)).status is TaskStatus.WAITING
    explained = await h.router.explain(await h.setup_admin(), first)
    assert explained["now"] == {
        "outcome": "wait",
        "reason": "queue_closed",
        "queue_id": (await h.task(first)).queue_id,
        "opens_at": at(2, 9).isoformat(),
        "off_hours_overflow": None,
    }
    # The service wakes at the opening, with no event.
    assert h.router.next_wake == at(2, 9)
    await h.pass_(3600)
    assert h.of(OfferChanged) == []
    h.to(at(2, 9))
    await h.pass_()
    offers = {o.conversation.id: o.operator_id for o in h.of(OfferChanged)}
    # The first two in their order of arrival, one operator each; the third still waits.
    assert set(offers) == {first, second}
    assert {offers[first], offers[second]} == {anna.id, boris.id}
    accepted = await h.router.accept_offer(anna if offers[first] == anna.id else boris, first)
    assert accepted.assignee_id == offers[first]


async def test_a_closed_queue_assigns_nothing_until_it_opens(h: HoursHarness) -> None:
    shop = await h.channel("shop")
    anna = await h.operator("anna")
    await h.queue_with("Shop", OFFICE, channels=[shop.id])
    h.to(at(2, 18))  # Friday, closing time
    cid = await h.customer_writes(shop, "c1")
    await h.pass_()
    await h.pass_(86_400)  # Saturday: a pass without the wake-up changes nothing
    assert await h.assignee(cid) is None
    assert h.router.next_wake == at(5, 9)
    h.to(at(5, 9))
    await h.pass_()
    assert await h.assignee(cid) == anna.id
    assert [d["outcome"] for d in await h.decisions(cid)] == ["assign"]


async def test_a_pending_offer_runs_out_when_the_queue_closes(h: HoursHarness) -> None:
    shop = await h.channel("shop")
    ops = [await h.operator("anna"), await h.operator("boris")]
    await h.queue_with("Shop", OFFICE, channels=[shop.id], accept_timeout=60)
    h.to(at(1, 17, 59))
    cid = await h.customer_writes(shop, "c1")  # 17:59:01
    await h.pass_()
    assert [o.state for o in h.of(OfferChanged)] == ["created"]
    first = h.of(OfferChanged)[0].operator_id
    await h.pass_(59)  # 18:00:00: closed, the offer stands
    assert [o.state for o in h.of(OfferChanged)] == ["created"]
    await h.pass_(1)
    assert [o.state for o in h.of(OfferChanged)] == ["created", "expired"]  # not offered again
    assert h.router.next_wake == at(2, 9)
    h.to(at(2, 9))
    await h.pass_()
    assert [o.state for o in h.of(OfferChanged)] == ["created", "expired", "created"]
    other = next(o for o in ops if o.id != first)  # the first one let it run out
    assert h.of(OfferChanged)[-1].operator_id == other.id
    assert (await h.router.accept_offer(other, cid)).assignee_id == other.id


async def test_off_hours_overflow_into_an_open_queue(h: HoursHarness) -> None:
    shop = await h.channel("shop")
    await h.operator("anna")
    owl = await h.operator("owl")
    night = await h.queue_with("Night", None, members=["owl"])
    day = await h.queue_with(
        "Day", OFFICE, channels=[shop.id], members=["anna"], off_hours_overflow="Night"
    )
    settings = day["settings"]
    assert isinstance(settings, dict)
    assert settings["off_hours_overflow"] == night["id"]  # stored by id, like escalations
    h.to(at(1, 20))
    cid = await h.customer_writes(shop, "c1")
    await h.pass_()
    assert await h.assignee(cid) == owl.id
    assert (await h.task(cid)).queue_id == night["id"]
    decisions = await h.decisions(cid)
    assert [d["outcome"] for d in decisions] == ["overflow", "assign"]
    assert decisions[0]["queue_id"] == day["id"]
    assert decisions[0]["explanation"] == {
        "reason": "off_hours",
        "queue_id": day["id"],
        "to_queue": night["id"],
        "opens_at": at(2, 9).isoformat(),
    }
    # Open, the day queue keeps its conversations.
    h.to(at(2, 10))
    later = await h.customer_writes(shop, "c2")
    await h.pass_()
    assert (await h.task(later)).queue_id == day["id"]


async def test_both_queues_closed_it_waits_for_the_first_opening(h: HoursHarness) -> None:
    shop = await h.channel("shop")
    anna = await h.operator("anna")
    owl = await h.operator("owl")
    night = await h.queue_with("Early", EARLY, members=["owl"])
    day = await h.queue_with(
        "Day", OFFICE, channels=[shop.id], members=["anna"], off_hours_overflow=night["id"]
    )
    h.to(at(1, 20))
    cid = await h.customer_writes(shop, "c1")
    await h.pass_()
    assert await h.assignee(cid) is None
    assert (await h.task(cid)).queue_id == day["id"]
    assert await h.decisions(cid) == []
    assert h.router.next_wake == at(2, 7)  # the overflow queue opens first
    h.to(at(2, 7))
    await h.pass_()
    assert await h.assignee(cid) == owl.id
    # Both closed again, a conversation waits in its own queue till the day queue opens.
    h.to(at(2, 8))
    other = await h.customer_writes(shop, "c2")
    await h.pass_()
    assert await h.assignee(other) is None
    assert h.router.next_wake == at(2, 9)
    h.to(at(2, 9))
    await h.pass_()
    assert await h.assignee(other) == anna.id
    assert (await h.task(other)).queue_id == day["id"]


async def test_sla_due_times_count_business_hours_only(h: HoursHarness) -> None:
    shop, plain = await h.channel("shop"), await h.channel("plain")
    anna = await h.operator("anna")
    sla = {"0": {"first_response": 7200, "resolution": 28_800}}
    await h.queue_with(
        "Business",
        OFFICE,
        channels=[shop.id],
        sla=sla,
        sla_warning_before=5400,
        sla_business_hours=True,
    )
    await h.queue_with("Wall", OFFICE, channels=[plain.id], sla=sla, sla_warning_before=5400)
    h.to(at(2, 17) - timedelta(seconds=1))
    business = await h.customer_writes(shop, "c1")  # Friday 17:00:00
    wall = await h.customer_writes(plain, "c2")  # Friday 17:00:01
    await h.pass_()
    assert await h.assignee(business) == anna.id
    task = await h.task(business)
    # One hour on Friday, the rest on Monday from 09:00; the weekend does not count.
    assert task.first_response_due == at(5, 10)
    assert task.resolution_due == at(5, 16)
    other = await h.task(wall)
    assert other.first_response_due == at(2, 19, 0) + timedelta(seconds=1)
    assert other.resolution_due == at(3, 1, 0) + timedelta(seconds=1)
    # The warning: 90 minutes of open time before the due time, i.e. 17:30 on Friday.
    h.to(at(2, 17, 29))
    await h.pass_()
    assert [a.conversation.id for a in h.of(RoutingAlert)] == []
    h.to(at(2, 17, 30))
    await h.pass_()
    assert [(a.kind, a.conversation.id) for a in h.of(RoutingAlert)] == [("sla_warning", business)]
    # The wall-clock queue breaches at 19:00 on Friday; the business one not at all
    # over the weekend, and on Monday at 10:00.
    h.to(at(4, 23))
    await h.pass_()
    breaches = [(a.conversation.id, a.target) for a in h.of(RoutingAlert) if a.kind == "sla_breach"]
    assert breaches == [(wall, "first_response"), (wall, "resolution")]
    assert h.router.next_wake == at(5, 10)
    h.to(at(5, 10))
    await h.pass_()
    breaches = [(a.conversation.id, a.target) for a in h.of(RoutingAlert) if a.kind == "sla_breach"]
    assert breaches[2:] == [(business, "first_response")]


async def test_a_queue_that_never_opens_has_no_business_due_times(
    h: HoursHarness,
) -> None:
    shop = await h.channel("shop")
    never = Window(time(9), time(18), frozenset())
    await h.queue_with(
        "Never",
        never,
        channels=[shop.id],
        sla={"0": {"first_response": 60}},
        sla_business_hours=True,
    )
    cid = await h.customer_writes(shop, "c1")
    await h.pass_()
    task = await h.task(cid)
    assert task.first_response_due is None
    assert h.router.next_wake is None


async def test_without_hours_business_settings_change_nothing(store: SqlStore) -> None:
    h = HoursHarness(store, None)
    shop = await h.channel("shop")
    anna = await h.operator("anna")
    await h.queue(
        "Shop",
        channels=[shop.id],
        sla={"0": {"first_response": 300}},
        sla_business_hours=True,
    )
    h.to(at(3, 3))  # Saturday, 03:00: always open without hours
    cid = await h.customer_writes(shop, "c1")
    await h.pass_()
    assert await h.assignee(cid) == anna.id
    task = await h.task(cid)
    assert task.first_response_due == task.started_at + timedelta(seconds=300)


@pytest.mark.parametrize(
    "settings",
    [
        {"off_hours_overflow": "Nowhere"},
        {"off_hours_overflow": "Bad"},  # itself
        {"off_hours_overflow": ""},
        {"off_hours_overflow": 3},
        {"sla_business_hours": "yes"},
    ],
)
async def test_bad_hours_settings_are_refused(h: HoursHarness, settings: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        await h.queue("Bad", **settings)


async def test_an_existing_queue_cannot_overflow_into_itself_by_id(h: HoursHarness) -> None:
    queue = await h.queue("Shop")
    with pytest.raises(InvalidInput):
        await h.router.save_queue(
            await h.setup_admin(), "Shop", {"off_hours_overflow": queue["id"]}, create=False
        )
    with pytest.raises(InvalidInput):
        await h.router.save_queue(
            await h.setup_admin(), "Shop", {"off_hours_overflow": "Shop"}, create=False
        )


# -- a property: never an offer or an assignment while the queue is closed -------------------

EVENTS = st.lists(
    st.one_of(
        st.tuples(st.just("arrive"), st.integers(0, 1)),
        st.tuples(st.just("advance"), st.integers(1, 16 * 60)),  # minutes
        st.tuples(st.just("presence"), st.integers(0, 1), st.booleans()),
        st.tuples(st.just("resolve"), st.integers(0, 20)),
    ),
    max_size=25,
)


async def _history(
    store: SqlStore,
    strategy: str,
    timeout: int | None,
    early: bool,
    overflow: bool,
    events: list[tuple[Any, ...]],
) -> None:
    hours = WeeklyHours()
    h = HoursHarness(store, hours)
    channels = [await h.channel("a"), await h.channel("b")]
    ops = [await h.operator("anna", capacity=1), await h.operator("boris", capacity=2)]
    await h.queue_with("B", EARLY if early else None, channels=[channels[1].id])
    extra: dict[str, Any] = {"off_hours_overflow": "B"} if overflow else {}
    if timeout is not None or strategy == "ring_all":
        extra["accept_timeout"] = timeout or 60
    await h.queue_with("A", OFFICE, channels=[channels[0].id], strategy=strategy, **extra)
    h.to(at(2, 16))  # Friday afternoon, two hours before closing
    convs: list[ConversationId] = []
    n = 0
    for event in events:
        match event:
            case ("arrive", i):
                n += 1
                convs.append(await h.customer_writes(channels[i], f"c{n}"))
            case ("advance", minutes):
                h.clock.advance(minutes * 60)
            case ("presence", i, online):
                await set_presence(h.core, ops[i].id, Presence.ONLINE if online else Presence.AWAY)
            case ("resolve", i) if convs:
                cid = convs[i % len(convs)]
                if (assignee := await h.assignee(cid)) is not None:
                    await resolve_conversation(
                        h.core, next(o for o in ops if o.id == assignee), cid
                    )
            case _:
                pass
        await h.pass_()
        wake = h.router.next_wake
        if wake is not None and wake <= h.clock.now() + timedelta(minutes=30):
            h.to(wake)  # the service would wake then
            await h.pass_()
    for cid in convs:
        for d in await h.decisions(cid):
            if d["outcome"] in ("offer", "assign"):
                decided = datetime.fromisoformat(d["decided_at"])
                assert hours.is_open(QueueId(d["queue_id"]), decided), d
            if d["outcome"] == "overflow" and d["explanation"].get("reason") == "off_hours":
                decided = datetime.fromisoformat(d["decided_at"])
                assert not hours.is_open(QueueId(d["queue_id"]), decided)
                assert hours.is_open(QueueId(d["explanation"]["to_queue"]), decided)


def test_never_an_offer_or_assignment_while_closed(_migrated_backend: Any) -> None:  # noqa: PT019
    sqlite = _migrated_backend.sqlite_template is not None
    with fresh_databases(_migrated_backend) as opener:

        @settings(
            max_examples=int(os.environ.get("INBOX_ROUTING_EXAMPLES", 0)) or (25 if sqlite else 5),
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(
            strategy=st.sampled_from(["least_loaded", "round_robin", "ring_all"]),
            timeout=st.one_of(st.none(), st.integers(30, 600)),
            early=st.booleans(),
            overflow=st.booleans(),
            events=EVENTS,
        )
        def check(
            strategy: str,
            timeout: int | None,
            early: bool,
            overflow: bool,
            events: list[tuple[Any, ...]],
        ) -> None:
            async def run() -> None:
                store = await opener()
                try:
                    with deterministic_ids():
                        await _history(store, strategy, timeout, early, overflow, events)
                finally:
                    await store.close()

            asyncio.run(run())

        check()
