"""The core vocabulary: content parts, the status machine, skills."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from inbox.domain.content import (
    MAX_TEXT_BYTES,
    Audio,
    Button,
    Buttons,
    ContactCard,
    File,
    Image,
    Location,
    MediaRef,
    Part,
    Text,
    Unsupported,
    part_from_dict,
    part_to_dict,
    plain_text,
    validate_text,
)
from inbox.domain.conversations import (
    ALLOWED_TRANSITIONS,
    Conversation,
    ConversationStatus,
    check_transition,
)
from inbox.domain.errors import InvalidInput, InvalidTransition, TooLarge
from inbox.domain.ids import ChannelId, ContactId, ConversationId, OperatorId
from inbox.domain.operators import parse_skills

MEDIA = MediaRef("image/jpeg", key="k1", filename="a.jpg", size=10)
ALL_PARTS: list[Part] = [
    Text("hi"),
    Image(MEDIA, "cap"),
    File(MediaRef("application/pdf", provider_ref="f1", filename="x.pdf"), ""),
    Audio(MediaRef("audio/ogg"), voice=True, duration_s=3.5),
    Location(55.75, 37.61, "Shop", "Tverskaya 1"),
    ContactCard("Ivan", "+79990000000", "i@example.com"),
    Buttons("Pay", (Button("Pay now", "url", url="https://pay.example/1"), Button("Later"))),
    Unsupported("sticker", "a sticker"),
]


@pytest.mark.parametrize("part", ALL_PARTS, ids=lambda p: p.type)
def test_every_part_round_trips_through_json(part: Part) -> None:
    assert part_from_dict(part_to_dict(part)) == part


def test_an_unknown_part_type_becomes_unsupported_not_dropped() -> None:
    assert part_from_dict({"type": "hologram"}) == Unsupported("hologram", "unknown content type")


def test_plain_text_renders_buttons_as_numbered_lines() -> None:
    text = plain_text([ALL_PARTS[6]])
    assert text == "Pay\n1. Pay now https://pay.example/1\n2. Later"


def test_text_limits() -> None:
    assert validate_text("ok") == "ok"
    with pytest.raises(InvalidInput):
        validate_text("   ")
    with pytest.raises(TooLarge):
        validate_text("я" * (MAX_TEXT_BYTES // 2 + 1))  # 2 bytes each in UTF-8
    validate_text("a" * MAX_TEXT_BYTES)


S = ConversationStatus


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("target", list(S))
def test_status_machine_allows_exactly_the_table(current: S, target: S) -> None:
    if (current, target) in ALLOWED_TRANSITIONS:
        check_transition(current, target)
    else:
        with pytest.raises(InvalidTransition):
            check_transition(current, target)


def _conv(status: S, assignee: str | None = None) -> Conversation:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    return Conversation(
        id=ConversationId("c"),
        channel_id=ChannelId("ch"),
        contact_id=ContactId("p"),
        status=status,
        created_at=t,
        updated_at=t,
        assignee_id=OperatorId(assignee) if assignee else None,
    )


def test_assignment_needs_an_assignee_and_resolve_keeps_it() -> None:
    now = datetime(2026, 1, 2, tzinfo=UTC)
    with pytest.raises(InvalidTransition):
        _conv(S.QUEUED).moved_to(S.ASSIGNED, now)
    assigned = _conv(S.QUEUED).moved_to(S.ASSIGNED, now, OperatorId("op"))
    resolved = assigned.moved_to(S.RESOLVED, now)
    assert resolved.assignee_id == "op"
    assert resolved.resolved_at == now
    reopened = resolved.moved_to(S.QUEUED, now)
    assert reopened.assignee_id is None
    assert reopened.resolved_at is None
    assert reopened.queued_at == now


def test_parse_skills() -> None:
    assert parse_skills("ru, lenses=3,,lang:en") == {"ru": 1, "lenses": 3, "lang:en": 1}
    for bad in ("lenses=0", "lenses=11", "lenses=x", "bad skill"):
        with pytest.raises(InvalidInput):
            parse_skills(bad)
