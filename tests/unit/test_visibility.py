"""The visibility rule in Python: ``can_see``, and the predicates the hub uses for events
(``can_see_change``, ``can_see_typing``), over every role, status and assignee.

The hub used to spell these out inline; ``_hub_saw_change`` and ``_hub_sees_typing`` below
are those expressions verbatim (operator_ws/hub.py at 1dbb415), kept as the reference the
one rule must reproduce exactly.
"""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime
from typing import Literal

import pytest

from inbox.domain.conversations import ALLOWED_TRANSITIONS, Conversation, ConversationStatus
from inbox.domain.events import ConversationChanged, Typing
from inbox.domain.ids import ChannelId, ContactId, ConversationId, OperatorId
from inbox.domain.operators import Operator, Role
from inbox.domain.visibility import (
    PUBLIC_STATUSES,
    QueueRestrictions,
    Viewer,
    Visibility,
    can_see,
    can_see_change,
    can_see_typing,
)
from inbox.usecases import access

S = ConversationStatus
T0 = datetime(2026, 1, 1, tzinfo=UTC)
ANNA, BORIS = OperatorId("anna"), OperatorId("boris")
ASSIGNEES: list[OperatorId | None] = [None, ANNA, BORIS]
BY: list[Literal["customer", "operator"]] = ["customer", "operator"]


def _operator(operator_id: OperatorId, role: Role) -> Operator:
    return Operator(
        id=operator_id,
        login=str(operator_id),
        display_name=str(operator_id).title(),
        role=role,
        password_hash="x",
        created_at=T0,
    )


def _conversation(
    status: ConversationStatus, assignee_id: OperatorId | None, queue_id: str | None = None
) -> Conversation:
    return Conversation(
        id=ConversationId("c1"),
        channel_id=ChannelId("ch1"),
        contact_id=ContactId("k1"),
        status=status,
        created_at=T0,
        updated_at=T0,
        assignee_id=assignee_id,
        queue_id=queue_id,
    )


VIEWERS = [_operator(i, role) for i in (ANNA, BORIS, OperatorId("carl")) for role in Role]


def _hub_saw_change(op: Operator, event: ConversationChanged) -> bool:
    sees_now = can_see(Viewer.of(op), event.conversation)
    was_queued = event.previous_status is ConversationStatus.QUEUED
    saw_before = was_queued or event.previous_assignee_id == op.id
    return sees_now or saw_before or op.role.sees_everything


def _hub_sees_typing(op: Operator, event: Typing) -> bool:
    if event.by == "operator" and op.id == event.operator_id:
        return False
    return op.role.sees_everything or event.assignee_id in (op.id, None)


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_can_see_is_own_plus_queued_or_everything(role: Role) -> None:
    anna = _operator(ANNA, role)
    for status, assignee in itertools.product(S, ASSIGNEES):
        expected = role is not Role.OPERATOR or assignee == ANNA or status is S.QUEUED
        assert can_see(Viewer.of(anna), _conversation(status, assignee)) is expected, (
            status,
            assignee,
        )
    assert access.can_see is can_see  # the use cases check the same rule


def test_visibility_of_an_operator() -> None:
    assert Visibility.of(_operator(ANNA, Role.OPERATOR)) == Visibility(
        sees_all=False, assignee_id=ANNA, public_statuses=PUBLIC_STATUSES
    )
    assert Visibility.of(_operator(ANNA, Role.SUPERVISOR)).sees_all
    assert Visibility.of(_operator(ANNA, Role.ADMIN)).sees_all
    assert Visibility.own_and_public(BORIS) == Visibility.of(_operator(BORIS, Role.OPERATOR))
    assert {S.QUEUED} == PUBLIC_STATUSES


def test_an_unassigned_conversation_is_nobody_s_own() -> None:
    nobody = Visibility(assignee_id=None, public_statuses=frozenset())
    assert not any(nobody.admits(status, None) for status in S)
    assert not nobody.may_admit_unassigned()
    assert not Visibility().admits(None, None)


def test_every_public_status_is_unassigned_by_the_status_machine() -> None:
    # can_see_typing relies on it: a signal without a status but without an assignee may
    # be about a public conversation.
    for start, target in itertools.product(S, PUBLIC_STATUSES):
        if (start, target) in ALLOWED_TRANSITIONS:
            assert _conversation(start, ANNA).moved_to(target, T0).assignee_id is None


def test_can_see_change_is_the_hub_rule() -> None:
    previous_statuses: list[ConversationStatus | None] = [None, *S]
    for viewer, status, assignee, previous_status, previous_assignee in itertools.product(
        VIEWERS, S, ASSIGNEES, previous_statuses, ASSIGNEES
    ):
        event = ConversationChanged(
            _conversation(status, assignee),
            "updated",
            previous_assignee_id=previous_assignee,
            previous_status=previous_status,
        )
        assert can_see_change(Viewer.of(viewer), event) is _hub_saw_change(viewer, event), (
            viewer,
            event,
        )


def test_can_see_change_tells_whoever_saw_the_conversation_leave() -> None:
    anna, boris = _operator(ANNA, Role.OPERATOR), _operator(BORIS, Role.OPERATOR)
    claimed = ConversationChanged(
        _conversation(S.ASSIGNED, BORIS), "assigned", previous_status=S.QUEUED
    )
    assert can_see_change(Viewer.of(anna), claimed)  # it left the queue she was watching
    transferred = ConversationChanged(
        _conversation(S.ASSIGNED, BORIS),
        "assigned",
        previous_assignee_id=ANNA,
        previous_status=S.ASSIGNED,
    )
    assert can_see_change(Viewer.of(anna), transferred)
    assert can_see_change(Viewer.of(boris), transferred)
    carl = _operator(OperatorId("carl"), Role.OPERATOR)
    assert not can_see_change(Viewer.of(carl), transferred)


def test_can_see_typing_is_the_hub_rule() -> None:
    typists: list[OperatorId | None] = [None, *ASSIGNEES[1:], OperatorId("carl")]
    for viewer, assignee, by, typist in itertools.product(VIEWERS, ASSIGNEES, BY, typists):
        signal = Typing(ConversationId("c1"), ChannelId("ch1"), assignee, by, operator_id=typist)
        assert can_see_typing(Viewer.of(viewer), signal) is _hub_sees_typing(viewer, signal), signal


def test_nobody_sees_their_own_typing() -> None:
    for role in Role:
        anna = _operator(ANNA, role)
        mine = Typing(ConversationId("c1"), ChannelId("ch1"), ANNA, "operator", operator_id=ANNA)
        assert not can_see_typing(Viewer.of(anna), mine)
        customer = dataclasses.replace(mine, by="customer", operator_id=None)
        assert can_see_typing(Viewer.of(anna), customer)


# --------------------------------------------------------------------------- queues

#: "sales" shows its waiting conversations to Boris only; "help" to everyone.
SALES_FOR_BORIS = QueueRestrictions({"sales": frozenset({BORIS})})
QUEUES: list[str | None] = [None, "sales", "help"]


def test_restrictions_hide_a_members_only_queue_from_non_members() -> None:
    assert SALES_FOR_BORIS.hidden_from(ANNA) == {"sales"}
    assert SALES_FOR_BORIS.hidden_from(BORIS) == frozenset()
    anna = Visibility.of(_operator(ANNA, Role.OPERATOR), SALES_FOR_BORIS)
    assert anna == Visibility(assignee_id=ANNA, hidden_queue_ids=frozenset({"sales"}))
    assert Visibility.of(_operator(ANNA, Role.SUPERVISOR), SALES_FOR_BORIS).sees_all


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_can_see_with_a_members_only_queue(role: Role) -> None:
    for viewer_id in (ANNA, BORIS):
        viewer = Viewer.of(_operator(viewer_id, role), SALES_FOR_BORIS)
        for status, assignee, queue in itertools.product(S, ASSIGNEES, QUEUES):
            shown = viewer_id == BORIS or queue == "help"  # Anna: no queue yet counts hidden
            expected = (
                role is not Role.OPERATOR or assignee == viewer_id or (status is S.QUEUED and shown)
            )
            conversation = _conversation(status, assignee, queue)
            assert can_see(viewer, conversation) is expected, (viewer_id, status, assignee, queue)


def test_without_hidden_queues_a_queue_changes_nothing() -> None:
    anna = Viewer.of(_operator(ANNA, Role.OPERATOR), QueueRestrictions())
    for status, assignee, queue in itertools.product(S, ASSIGNEES, QUEUES):
        plain = can_see(Viewer.of(anna.operator), _conversation(status, assignee))
        assert can_see(anna, _conversation(status, assignee, queue)) is plain


def test_a_move_between_queues_tells_who_saw_it_before_or_sees_it_now() -> None:
    anna = Viewer.of(_operator(ANNA, Role.OPERATOR), SALES_FOR_BORIS)
    boris = Viewer.of(_operator(BORIS, Role.OPERATOR), SALES_FOR_BORIS)
    to_sales = ConversationChanged(
        _conversation(S.QUEUED, None, "sales"),
        "queue",
        previous_status=S.QUEUED,
        previous_queue_id="help",
    )
    assert can_see_change(anna, to_sales)  # she watched it in "help": it left her sight
    assert can_see_change(boris, to_sales)
    to_help = dataclasses.replace(
        to_sales, conversation=_conversation(S.QUEUED, None, "help"), previous_queue_id="sales"
    )
    assert can_see_change(anna, to_help)  # it came into her sight
    filed_in_sales = dataclasses.replace(to_sales, previous_queue_id=None)
    assert not can_see_change(anna, filed_in_sales)  # never shown to her, not now either
    claimed = ConversationChanged(
        _conversation(S.ASSIGNED, BORIS, "sales"), "assigned", previous_status=S.QUEUED
    )
    assert not can_see_change(anna, claimed)
    assert can_see_change(boris, claimed)


def test_typing_in_a_hidden_queue_is_not_shown() -> None:
    anna = Viewer.of(_operator(ANNA, Role.OPERATOR), SALES_FOR_BORIS)
    boss = Viewer.of(_operator(ANNA, Role.SUPERVISOR), SALES_FOR_BORIS)
    sales = Typing(ConversationId("c1"), ChannelId("ch1"), None, "customer", queue_id="sales")
    assert not can_see_typing(anna, sales)
    assert can_see_typing(boss, sales)
    assert can_see_typing(anna, dataclasses.replace(sales, queue_id="help"))
    assert can_see_typing(anna, dataclasses.replace(sales, assignee_id=ANNA))
