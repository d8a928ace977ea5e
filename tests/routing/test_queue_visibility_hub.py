"""The operator hub judges every event by each session's viewer, computed from routing's
queue restrictions once and again on ``AudienceChanged``, never per event: over a real
store (SQLite and PostgreSQL), routing's real :class:`QueueRestrictionsOfRouting` (counted
by a subclass) and the real event registry."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

from inbox.domain.clock import FixedClock
from inbox.domain.events import AudienceChanged, ConversationChanged
from inbox.domain.ids import OperatorId
from inbox.domain.visibility import QueueRestrictions
from inbox.ports import AuthSession
from operator_ws.hub import HubSettings, OperatorHub
from operator_ws.streams import Connection
from routing import QueueRecord, QueueRestrictionsOfRouting, RoutingTx
from routing.records import QueueId
from server.events import event_registry
from storage import SqlStore
from tests.storage.builders import make_operator, seed_world

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
EVENTS = 50


class CountingRestrictions(QueueRestrictionsOfRouting):
    """Routing's restrictions, counting the reads."""

    loads = 0

    async def load(self) -> QueueRestrictions:
        self.loads += 1
        return await super().load()


class Unstarted:
    """No socket: a Connection whose writer never starts keeps what it was sent."""


def _sent(conn: Connection) -> list[dict[str, object]]:
    out = []
    while not conn._queue.empty():
        item = conn._queue.get_nowait()
        if item is not None:
            out.append(json.loads(item))
    return out


async def _gone_away(operator_id: OperatorId) -> None:
    return None


async def test_the_hub_reads_the_restrictions_once_per_change_not_per_event(
    store: SqlStore,
) -> None:
    world = await seed_world(store)
    anna, boris = world.operator, make_operator(login="boris")
    sales = QueueRecord(
        QueueId("q-sales"), "Sales", {"members": [boris.id], "visible_to": "members"}, NOW, NOW
    )

    async def setup(tx: RoutingTx) -> None:
        await tx.operators.add(boris)
        await tx.routing.add_queue(sales)

    await store.transact(setup)
    source = CountingRestrictions(store)
    hub = OperatorHub(
        FixedClock(NOW), HubSettings(), _gone_away, registry=event_registry(), restrictions=source
    )
    await hub.load_restrictions()
    conns = {}
    for op in (anna, boris):
        conn = Connection(Unstarted())  # type: ignore[arg-type]
        session = AuthSession(f"t-{op.login}", op.id, NOW, NOW + timedelta(hours=1))
        hub.attach(conn, op, session, None, {"type": "auth.ok"})
        conns[op.login] = conn
        _sent(conn)  # auth.ok
    waiting = dataclasses.replace(world.conversation, queue_id="q-sales")
    change = ConversationChanged(waiting, "updated", None, waiting.status)
    for _ in range(EVENTS):
        await hub.on_event(change)
    assert source.loads == 1
    assert _sent(conns[anna.login]) == []  # Sales shows its waiting conversations to Boris only
    assert len(_sent(conns[boris.login])) == EVENTS

    async def open_up(tx: RoutingTx) -> None:
        await tx.routing.update_queue(
            dataclasses.replace(sales, settings={"members": [boris.id], "visible_to": "everyone"})
        )

    await store.transact(open_up)
    await hub.on_event(change)
    assert _sent(conns[anna.login]) == []  # not yet told: the hub keeps what it read
    await hub.on_event(AudienceChanged(NOW))
    assert source.loads == 2
    assert [f["type"] for f in _sent(conns[anna.login])] == ["audience.changed"]
    for _ in range(EVENTS):
        await hub.on_event(change)
    assert source.loads == 2
    assert len(_sent(conns[anna.login])) == EVENTS
    await hub.stop()
