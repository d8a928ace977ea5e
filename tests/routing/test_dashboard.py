"""The supervisors' dashboard (``routing.dashboard``) on a real database (SQLite and
PostgreSQL) with an injected clock: the numbers follow the routing state, and "today"
starts at midnight in the inbox's zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from inbox.domain.errors import Forbidden
from inbox.domain.operators import Operator, Presence
from inbox.usecases import resolve_conversation, set_presence
from routing import RoutingService
from routing.dashboard import day_start, steady_part, zone_named
from storage import SqlStore
from tests.routing.test_service import Harness

MOSCOW = zone_named("Europe/Moscow")  # UTC+3 all year


def dashboard_router(h: Harness, zone: list[str]) -> RoutingService:
    """A second router over the same store, reading the zone from ``zone[0]``."""
    return RoutingService(h.core, h.store, zone=lambda: zone[0])


def move_to(h: Harness, at: datetime) -> None:
    h.clock.advance((at - h.clock.now()).total_seconds())


async def numbers(router: RoutingService, actor: Operator) -> dict[str, Any]:
    return cast(dict[str, Any], await router.dashboard(actor))


def queue_row(doc: dict[str, Any], name: str) -> dict[str, Any]:
    rows = [q for q in doc["queues"] if q["name"] == name]
    assert len(rows) == 1
    return cast(dict[str, Any], rows[0])


@pytest.fixture
async def h(store: SqlStore) -> Harness:
    return Harness(store)


async def test_the_numbers_follow_queues_presence_loads_and_sla(h: Harness) -> None:
    shop, repairs = await h.channel("shop"), await h.channel("repairs")
    boss = await h.setup_admin()
    anna = await h.operator("anna", capacity=1)
    boris = await h.operator("boris", capacity=3)
    await set_presence(h.core, boris.id, Presence.AWAY)
    await h.operator("cat", online=False)
    await h.queue("Shop", channels=[shop.id], sla={"0": {"first_response": 300}})
    await h.queue("Repairs", channels=[repairs.id], members=[boris.id])

    first = await h.customer_writes(shop, "c1")
    second = await h.customer_writes(shop, "c2")
    third = await h.customer_writes(repairs, "r1")
    await h.pass_()
    # Anna (capacity 1) took the oldest; the other two wait, Boris is away.
    assert await h.assignee(first) == anna.id
    assert await h.assignee(second) is None
    assert await h.assignee(third) is None

    h.clock.advance(30)
    doc = await numbers(h.router, boss)
    since = (await h.task(second)).entered_queue_at
    totals = doc["totals"]
    assert totals["waiting"] == 2
    assert totals["assigned"] == 1
    assert totals["offers"] == 0
    assert totals["longest_wait_since"] == since.isoformat()
    assert totals["longest_wait_seconds"] == (h.clock.now() - since).total_seconds()
    assert totals["breaches_today"] == 0
    assert totals["breaches_open"] == 0
    # Online: anna (busy at capacity); away: boris; offline: cat and the supervisor.
    assert doc["operators"] == {"online": 1, "away": 1, "offline": 2, "busy": 1, "free": 0}
    shop_row = queue_row(doc, "Shop")
    assert (shop_row["waiting"], shop_row["assigned"]) == (1, 1)
    assert shop_row["members_online"] == 1  # a queue without members lists everyone
    repairs_row = queue_row(doc, "Repairs")
    assert (repairs_row["waiting"], repairs_row["assigned"]) == (1, 0)
    assert repairs_row["longest_wait_since"] == (await h.task(third)).entered_queue_at.isoformat()
    assert doc["tz"] == "UTC"
    assert doc["day_start"] == day_start(h.clock.now(), UTC).isoformat()

    # Boris comes back and takes both waiting ones, with room for one more.
    await set_presence(h.core, boris.id, Presence.ONLINE)
    await h.pass_()
    doc = await numbers(h.router, boss)
    assert await h.assignee(second) == boris.id
    assert await h.assignee(third) == boris.id
    assert doc["operators"] == {"online": 2, "away": 0, "offline": 2, "busy": 1, "free": 1}
    assert doc["totals"]["assigned"] == 3
    assert doc["totals"]["waiting"] == 0
    assert doc["totals"]["longest_wait_since"] is None
    assert queue_row(doc, "Repairs")["members_online"] == 1

    # Past the first-response SLA of Shop: both of its open tasks breach; Repairs has none.
    await h.pass_(301)
    doc = await numbers(h.router, boss)
    assert queue_row(doc, "Shop")["breaches_open"] == 2
    assert queue_row(doc, "Shop")["breaches_today"] == 2
    assert queue_row(doc, "Repairs")["breaches_today"] == 0
    # A resolved task's breach still counts today, no longer as open.
    await resolve_conversation(h.core, anna, first)
    await h.pass_(1)
    doc = await numbers(h.router, boss)
    assert doc["totals"]["breaches_today"] == 2
    assert doc["totals"]["breaches_open"] == 1

    with pytest.raises(Forbidden):
        await h.router.dashboard(anna)


async def test_breaches_today_start_at_midnight_in_the_inbox_zone(store: SqlStore) -> None:
    # 20:50 UTC is 23:50 in Moscow: the breach comes at 23:55 local, before midnight.
    h = Harness(store)
    move_to(h, datetime(2026, 3, 10, 20, 50, tzinfo=UTC))
    zone = ["Europe/Moscow"]
    board = dashboard_router(h, zone)
    shop = await h.channel("shop")
    boss = await h.setup_admin()
    anna = await h.operator("anna")
    await h.queue("Shop", channels=[shop.id], sla={"0": {"first_response": 300}})
    late = await h.customer_writes(shop, "late")
    await h.pass_()
    await h.pass_(301)
    breached = (await h.task(late)).first_response_breached_at
    assert breached is not None
    assert breached.astimezone(MOSCOW).hour == 23
    assert (await numbers(board, boss))["totals"]["breaches_today"] == 1
    await resolve_conversation(h.core, anna, late)
    await h.pass_(1)

    # 21:10 UTC: a new day in Moscow, still the same day in UTC.
    move_to(h, datetime(2026, 3, 10, 21, 10, tzinfo=UTC))
    doc = await numbers(board, boss)
    assert doc["tz"] == "Europe/Moscow"
    assert doc["day_start"] == datetime(2026, 3, 11, tzinfo=MOSCOW).isoformat()
    assert doc["totals"]["breaches_today"] == 0
    assert doc["totals"]["breaches_open"] == 0
    zone[0] = "UTC"
    assert (await numbers(board, boss))["totals"]["breaches_today"] == 1

    # A breach after the Moscow midnight counts today there.
    zone[0] = "Europe/Moscow"
    await h.customer_writes(shop, "early")
    await h.pass_()
    await h.pass_(301)
    doc = await numbers(board, boss)
    assert doc["totals"]["breaches_today"] == 1
    assert doc["totals"]["breaches_open"] == 1


def test_an_unknown_zone_falls_back_to_utc_and_midnight_is_local() -> None:
    assert str(zone_named("Mars/Olympus")) == "UTC"
    now = datetime(2026, 3, 10, 21, 30, tzinfo=UTC)  # 00:30 on the 11th in Moscow
    assert day_start(now, MOSCOW) == datetime(2026, 3, 11, tzinfo=MOSCOW)
    assert day_start(now, MOSCOW) == now - timedelta(minutes=30)
    assert day_start(now, UTC) == datetime(2026, 3, 10, tzinfo=UTC)


def test_the_steady_part_ignores_the_clock_alone() -> None:
    one = {"at": "a", "totals": {"waiting": 1, "longest_wait_seconds": 5.0}, "queues": []}
    later = {"at": "b", "totals": {"waiting": 1, "longest_wait_seconds": 9.0}, "queues": []}
    more = {"at": "b", "totals": {"waiting": 2, "longest_wait_seconds": 9.0}, "queues": []}
    assert steady_part(one) == steady_part(later)
    assert steady_part(one) != steady_part(more)
