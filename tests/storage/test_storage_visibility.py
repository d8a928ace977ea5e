"""The visibility rule agrees with its SQL: for every viewer and every conversation, the
repository's ``ConversationFilter.visible_to`` admits exactly what ``can_see`` (Python)
admits, on SQLite and PostgreSQL.

The conversations cover every status with every assignee (none, the viewer, someone else)
in every queue (none yet, a members-only one, an open one), including rows the status
machine never produces (a queued conversation with an assignee): the two sides must agree
on whatever the table holds.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable

import pytest

from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.ids import ConversationId, OperatorId
from inbox.domain.operators import Operator, Role
from inbox.domain.visibility import QueueRestrictions, Viewer, Visibility, can_see
from inbox.ports import ConversationFilter, Tx
from storage import SqlStore
from tests.storage.builders import make_conversation, make_operator, seed_world

S = ConversationStatus
#: The queues: "sales" shows its waiting conversations to Boris only, "help" to everyone.
QUEUES: list[str | None] = [None, "sales", "help"]


def _subsets(items: Iterable[ConversationStatus]) -> list[frozenset[ConversationStatus]]:
    pool = list(items)
    return [
        frozenset(combo) for n in range(len(pool) + 1) for combo in itertools.combinations(pool, n)
    ]


@dataclasses.dataclass
class Universe:
    """Two assignable operators, one without any conversation, and one conversation per
    (status, assignee, queue), plus the seeded world's queued one (in no queue)."""

    anna: Operator
    boris: Operator
    carl: Operator
    conversations: list[Conversation] = dataclasses.field(default_factory=list)


async def _universe(store: SqlStore) -> Universe:
    world = await seed_world(store)
    anna, boris, carl = world.operator, make_operator(login="boris"), make_operator(login="carl")
    universe = Universe(anna, boris, carl)
    made = [
        dataclasses.replace(
            make_conversation(world.channel, world.contact, status=status, assignee_id=assignee),
            queue_id=queue,
        )
        for status in S
        for assignee in (None, anna.id, boris.id)
        for queue in QUEUES
    ]
    universe.conversations = [world.conversation, *made]

    async def add(tx: Tx) -> None:
        await tx.operators.add(boris)
        await tx.operators.add(carl)
        for conversation in made:
            # Routing files a conversation after it exists: added without, then set_queue.
            await tx.conversations.add(dataclasses.replace(conversation, queue_id=None))
            if conversation.queue_id is not None:
                await tx.conversations.set_queue(conversation.id, conversation.queue_id)

    await store.transact(add)
    return universe


async def _listed(store: SqlStore, flt: ConversationFilter) -> set[ConversationId]:
    found = await store.read(lambda tx: tx.conversations.list(flt))
    return {c.id for c in found}


@pytest.mark.parametrize("role", list(Role), ids=str)
async def test_sql_and_can_see_agree_for_every_operator(store: SqlStore, role: Role) -> None:
    u = await _universe(store)
    assert len(u.conversations) == 1 + len(S) * 3 * len(QUEUES)
    stored = await store.read(lambda tx: tx.conversations.list(ConversationFilter(limit=500)))
    assert {c.id: c.queue_id for c in stored} == {c.id: c.queue_id for c in u.conversations}
    restrictions = QueueRestrictions({"sales": frozenset({u.boris.id})})
    for person, limits in itertools.product((u.anna, u.boris, u.carl), (None, restrictions)):
        viewer = dataclasses.replace(person, role=role)
        visibility = Visibility.of(viewer, limits)
        seen = {c.id for c in u.conversations if can_see(Viewer(viewer, visibility), c)}
        assert await _listed(store, ConversationFilter(visible_to=visibility, limit=500)) == seen

        # Narrowing filters combine with the rule by AND.
        mine = {c.id for c in u.conversations if c.assignee_id == viewer.id and c.id in seen}
        assert (
            await _listed(
                store, ConversationFilter(visible_to=visibility, assignee_id=viewer.id, limit=500)
            )
            == mine
        )
        queued = {c.id for c in u.conversations if c.status is S.QUEUED and c.id in seen}
        assert (
            await _listed(
                store, ConversationFilter(visible_to=visibility, statuses=(S.QUEUED,), limit=500)
            )
            == queued
        )

    # The rule as documented, for the record: a plain operator sees their own (any status)
    # and every queued one, except those of a members-only queue they are not in (and,
    # with such a queue, those not in any queue yet); supervisors and admins see everything.
    anna = dataclasses.replace(u.anna, role=role)
    expected = {
        c.id
        for c in u.conversations
        if role.sees_everything or c.assignee_id == anna.id or c.status is S.QUEUED
    }
    assert {c.id for c in u.conversations if can_see(Viewer.of(anna), c)} == expected
    restricted = {
        c.id
        for c in u.conversations
        if role.sees_everything
        or c.assignee_id == anna.id
        or (c.status is S.QUEUED and c.queue_id == "help")
    }
    assert {
        c.id for c in u.conversations if can_see(Viewer.of(anna, restrictions), c)
    } == restricted


async def test_sql_and_python_agree_for_every_visibility_value(store: SqlStore) -> None:
    u = await _universe(store)
    assignees: list[OperatorId | None] = [None, u.anna.id, u.boris.id, u.carl.id]
    hidden_sets: list[frozenset[str]] = [
        frozenset(),
        frozenset({"sales"}),
        frozenset({"sales", "help"}),
    ]
    for sees_all, assignee_id, public, hidden in itertools.product(
        (False, True), assignees, _subsets(S), hidden_sets
    ):
        visibility = Visibility(
            sees_all=sees_all,
            assignee_id=assignee_id,
            public_statuses=public,
            hidden_queue_ids=frozenset(str(q) for q in hidden),
        )
        admitted = {c.id for c in u.conversations if visibility.admits_conversation(c)}
        listed = await _listed(store, ConversationFilter(visible_to=visibility, limit=500))
        assert listed == admitted, visibility


async def test_an_update_keeps_the_queue_routing_set(store: SqlStore) -> None:
    """``update`` writes every field but ``queue_id``: a conversation read before routing
    moved it must not move it back."""
    world = await seed_world(store)
    stale = world.conversation

    async def file(tx: Tx) -> None:
        await tx.conversations.set_queue(stale.id, "sales")

    await store.transact(file)

    async def touch(tx: Tx) -> None:
        await tx.conversations.update(dataclasses.replace(stale, subject="changed"))

    await store.transact(touch)
    got = await store.read(lambda tx: tx.conversations.get(stale.id))
    assert got is not None
    assert got.subject == "changed"
    assert got.queue_id == "sales"
