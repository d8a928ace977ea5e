"""The visibility rule agrees with its SQL: for every viewer and every conversation, the
repository's ``ConversationFilter.visible_to`` admits exactly what ``can_see`` (Python)
admits, on SQLite and PostgreSQL.

The conversations cover every status with every assignee (none, the viewer, someone else),
including rows the status machine never produces (a queued conversation with an assignee):
the two sides must agree on whatever the table holds.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable

import pytest

from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.ids import ConversationId, OperatorId
from inbox.domain.operators import Operator, Role
from inbox.domain.visibility import Visibility, can_see
from inbox.ports import ConversationFilter, Tx
from storage import SqlStore
from tests.storage.builders import make_conversation, make_operator, seed_world

S = ConversationStatus


def _subsets(items: Iterable[ConversationStatus]) -> list[frozenset[ConversationStatus]]:
    pool = list(items)
    return [
        frozenset(combo) for n in range(len(pool) + 1) for combo in itertools.combinations(pool, n)
    ]


@dataclasses.dataclass
class Universe:
    """Two assignable operators, one without any conversation, and one conversation per
    (status, assignee) pair, plus the seeded world's queued one."""

    anna: Operator
    boris: Operator
    carl: Operator
    conversations: list[Conversation] = dataclasses.field(default_factory=list)


async def _universe(store: SqlStore) -> Universe:
    world = await seed_world(store)
    anna, boris, carl = world.operator, make_operator(login="boris"), make_operator(login="carl")
    universe = Universe(anna, boris, carl)
    made = [
        make_conversation(world.channel, world.contact, status=status, assignee_id=assignee)
        for status in S
        for assignee in (None, anna.id, boris.id)
    ]
    universe.conversations = [world.conversation, *made]

    async def add(tx: Tx) -> None:
        await tx.operators.add(boris)
        await tx.operators.add(carl)
        for conversation in made:
            await tx.conversations.add(conversation)

    await store.transact(add)
    return universe


async def _listed(store: SqlStore, flt: ConversationFilter) -> set[ConversationId]:
    found = await store.read(lambda tx: tx.conversations.list(flt))
    return {c.id for c in found}


@pytest.mark.parametrize("role", list(Role), ids=str)
async def test_sql_and_can_see_agree_for_every_operator(store: SqlStore, role: Role) -> None:
    u = await _universe(store)
    assert len(u.conversations) == 1 + len(S) * 3
    for person in (u.anna, u.boris, u.carl):
        viewer = dataclasses.replace(person, role=role)
        visibility = Visibility.of(viewer)
        seen = {c.id for c in u.conversations if can_see(viewer, c)}
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
    # and every queued one; supervisors and admins see everything.
    anna = dataclasses.replace(u.anna, role=role)
    expected = {
        c.id
        for c in u.conversations
        if role.sees_everything or c.assignee_id == anna.id or c.status is S.QUEUED
    }
    assert {c.id for c in u.conversations if can_see(anna, c)} == expected


async def test_sql_and_python_agree_for_every_visibility_value(store: SqlStore) -> None:
    u = await _universe(store)
    assignees: list[OperatorId | None] = [None, u.anna.id, u.boris.id, u.carl.id]
    for sees_all, assignee_id, public in itertools.product((False, True), assignees, _subsets(S)):
        visibility = Visibility(sees_all=sees_all, assignee_id=assignee_id, public_statuses=public)
        admitted = {c.id for c in u.conversations if visibility.admits_conversation(c)}
        listed = await _listed(store, ConversationFilter(visible_to=visibility, limit=500))
        assert listed == admitted, visibility
