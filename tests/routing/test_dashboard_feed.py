"""The dashboard feed (``operator_ws.dashboard``) over a real store (SQLite and
PostgreSQL), the real routing service (counted by a subclass) and the real hub: one
computation per round for every subscribed session, nothing sent when nothing changed,
subscriptions dropped with their sessions. Rounds are run by hand; no sleeping."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest

from inbox.domain.errors import Forbidden
from inbox.domain.ids import OperatorId
from inbox.domain.operators import Operator, Role
from inbox.ports import AuthSession
from operator_ws.dashboard import DashboardFeed
from operator_ws.hub import HubSettings, OperatorHub
from operator_ws.streams import Connection
from routing import RoutingService
from server.events import event_registry
from storage import SqlStore
from tests.routing.test_service import Harness


class CountingRouter(RoutingService):
    """The real routing service, counting the dashboard reads."""

    reads = 0

    async def dashboard(self, actor: Operator) -> dict[str, object]:
        self.reads += 1
        return await super().dashboard(actor)


class Unstarted:
    """No socket: a Connection whose writer never starts keeps what it was sent."""


def _sent(conn: Connection) -> list[dict[str, Any]]:
    out = []
    while not conn._queue.empty():
        item = conn._queue.get_nowait()
        if item is not None:
            out.append(json.loads(item))
    return out


def _dashboards(conn: Connection) -> list[dict[str, Any]]:
    return [f["dashboard"] for f in _sent(conn) if f["type"] == "dashboard"]


async def _gone_away(operator_id: OperatorId) -> None:
    return None


@pytest.fixture
async def h(store: SqlStore) -> Harness:
    return Harness(store)


async def test_one_read_per_round_for_every_session_and_none_when_unchanged(
    h: Harness,
) -> None:
    shop = await h.channel("shop")
    sam = await h.operator("sam", role=Role.SUPERVISOR, online=False)
    sue = await h.operator("sue", role=Role.ADMIN, online=False)
    anna = await h.operator("anna", online=False)
    router = CountingRouter(h.core, h.store)
    hub = OperatorHub(h.clock, HubSettings(), _gone_away, registry=event_registry())
    feed = DashboardFeed(hub, router.dashboard, interval_seconds=2.0)
    conns, keys = {}, {}
    now = h.clock.now()
    for op in (sam, sue, anna):
        conn = Connection(Unstarted())  # type: ignore[arg-type]
        session = AuthSession(f"t-{op.login}", op.id, now, now + timedelta(hours=1))
        hub.attach(conn, op, session, None, {"type": "auth.ok"})
        _sent(conn)  # auth.ok
        conns[op.login], keys[op.login] = conn, session.token_hash

    with pytest.raises(Forbidden):
        feed.subscribe(keys["anna"], anna)
    assert await feed.run_round() is False  # nobody subscribed: no read at all
    assert router.reads == 0

    feed.subscribe(keys["sam"], sam)
    feed.subscribe(keys["sue"], sue)
    assert feed.subscribed() == 2
    assert await feed.run_round() is True
    assert router.reads == 1  # once for both sessions
    first = _dashboards(conns["sam"])
    assert len(first) == 1
    assert _dashboards(conns["sue"]) == first
    assert _dashboards(conns["anna"]) == []
    assert first[0]["totals"]["waiting"] == 0

    # Time passes, nothing changes: a read, no frame.
    h.clock.advance(30)
    assert await feed.run_round() is False
    assert router.reads == 2
    assert _sent(conns["sam"]) == []

    # A customer writes (nobody online): the next round sends the new numbers to both.
    await h.customer_writes(shop, "c1")
    await h.pass_()
    assert await feed.run_round() is True
    for login in ("sam", "sue"):
        (numbers,) = _dashboards(conns[login])
        assert numbers["totals"]["waiting"] == 1
        assert numbers["totals"]["longest_wait_since"] is not None
    # The wait grows by itself: not a change.
    h.clock.advance(5)
    assert await feed.run_round() is False

    # A late subscriber gets the last frame at once, without a read.
    late = await h.operator("lee", role=Role.SUPERVISOR, online=False)
    conn = Connection(Unstarted())  # type: ignore[arg-type]
    session = AuthSession("t-lee", late.id, now, now + timedelta(hours=1))
    hub.attach(conn, late, session, None, {"type": "auth.ok"})
    _sent(conn)
    reads = router.reads
    feed.subscribe(session.token_hash, late)
    (numbers,) = _dashboards(conn)
    assert numbers["totals"]["waiting"] == 1
    assert router.reads == reads

    # A session whose connection closed is dropped; the last one out stops the reads.
    hub.detach(conns["sue"], AuthSession(keys["sue"], sue.id, now, now))
    feed.dropped(keys["sue"])
    assert feed.subscribed() == 2
    assert feed.unsubscribe(keys["sam"]) is True
    assert feed.unsubscribe(session.token_hash) is True
    assert feed.subscribed() == 0
    reads = router.reads
    assert await feed.run_round() is False
    assert router.reads == reads
    await asyncio.sleep(0)  # let the presence grace timer the detach started begin...
    await hub.stop()  # ...and end it
