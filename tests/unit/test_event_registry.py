"""The open event registry: a new event is one declaration, with its codec and its frames;
the hub fans each frame out serialised once."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

import pytest

from inbox.core_events import CORE_EVENTS
from inbox.domain.clock import FixedClock
from inbox.domain.event_registry import EventDecodeError, EventRegistry, EventSpec, OperatorFrame
from inbox.domain.events import Event, OutboxReady
from inbox.domain.ids import ChannelId, OperatorId
from inbox.domain.operators import Operator, Role
from inbox.ports import AuthSession
from operator_ws.hub import HubSettings, OperatorHub
from operator_ws.streams import Connection
from server.events import event_registry

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True, slots=True)
class Line:
    name: str
    quantity: int


@dataclass(frozen=True, slots=True)
class ThingHappened(Event):
    """An event a feature might declare: nested records, enums, literals, optionals."""

    operator_id: OperatorId
    colour: Colour
    lines: tuple[Line, ...]
    state: Literal["new", "done"]
    at: datetime
    note: str | None = None
    tags: tuple[str, ...] = ()


def _frames(event: ThingHappened) -> Sequence[OperatorFrame]:
    frame = {"type": "thing.happened", "colour": str(event.colour)}
    return (OperatorFrame(lambda v: v.operator.id == event.operator_id, frame),)


THING = EventSpec("thing_happened", ThingHappened, _frames)
EVENT = ThingHappened(
    OperatorId("anna"), Colour.BLUE, (Line("lens", 2), Line("case", 1)), "new", NOW, None, ("a",)
)


def test_a_new_event_is_one_declaration() -> None:
    registry = EventRegistry([*CORE_EVENTS, THING])
    text = registry.to_json(EVENT)
    assert json.loads(text)["type"] == "thing_happened"
    assert registry.from_json(text) == EVENT
    assert [f.frame["type"] for f in registry.frames(EVENT)] == ["thing.happened"]


def test_defaults_may_be_left_out_on_the_wire() -> None:
    registry = EventRegistry([THING])
    doc = registry.to_dict(EVENT)
    del doc["note"], doc["tags"]
    assert registry.from_dict(doc) == ThingHappened(
        EVENT.operator_id, EVENT.colour, EVENT.lines, EVENT.state, EVENT.at
    )


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("colour", "green", "colour is not a Colour"),
        ("state", "lost", "state is not one of done, new"),
        ("at", "2026-12-03T12:00:00", "with its UTC offset"),
        ("lines", [{"name": "x"}], "field 'quantity' is missing"),
        ("lines", [{"name": "x", "quantity": True}], "quantity is not an integer"),
        ("tags", "abc", "tags is not a list"),
    ],
)
def test_a_wrong_field_is_named_without_its_value(field: str, value: Any, problem: str) -> None:
    registry = EventRegistry([THING])
    doc = registry.to_dict(EVENT)
    doc[field] = value
    with pytest.raises(EventDecodeError, match=problem) as caught:
        registry.from_dict(doc)
    assert "thing_happened" in str(caught.value)
    assert not (isinstance(value, str) and value in str(caught.value).split(":")[-1])


def test_declaring_twice_or_an_untravelling_field_is_refused_at_once() -> None:
    registry = EventRegistry([THING])
    with pytest.raises(ValueError, match="declared twice"):
        registry.add(EventSpec("thing_happened", OutboxReady))
    with pytest.raises(ValueError, match="declared twice"):
        registry.add(EventSpec("other_name", ThingHappened))

    @dataclass(frozen=True, slots=True)
    class Bad(Event):
        blob: bytes

    with pytest.raises(TypeError, match="blob"):
        registry.add(EventSpec("bad", Bad))


def test_an_undeclared_event_has_no_frames_and_cannot_be_sent() -> None:
    registry = EventRegistry(CORE_EVENTS)
    assert registry.frames(EVENT) == ()
    with pytest.raises(TypeError, match="not a declared event"):
        registry.to_dict(EVENT)


def test_the_server_registry_names_are_unique_and_stable() -> None:
    names = [spec.name for spec in event_registry().specs]
    assert len(names) == len(set(names))
    assert {
        "message_created",
        "message_updated",
        "conversation_changed",
        "operator_presence_changed",
        "typing",
        "outbox_ready",
        "offer_changed",
        "routing_alert",
    } <= set(names)


class Unstarted:
    """No socket at all: a Connection whose writer never starts keeps what it was sent in
    its queue, which the test reads back."""


def _operator(login: str, role: Role = Role.OPERATOR) -> Operator:
    return Operator(OperatorId(login), login, login.title(), role, "h", NOW)


async def test_the_hub_serialises_a_frame_once_for_all_its_sessions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = EventRegistry([*CORE_EVENTS, THING])
    hub = OperatorHub(FixedClock(NOW), HubSettings(), _gone_away, registry=registry)
    anna, oleg = _operator("anna"), _operator("oleg")
    sessions = [
        (anna, AuthSession("t1", anna.id, NOW, NOW + timedelta(hours=1))),
        (anna, AuthSession("t2", anna.id, NOW, NOW + timedelta(hours=1))),
        (oleg, AuthSession("t3", oleg.id, NOW, NOW + timedelta(hours=1))),
    ]
    conns: list[Connection] = []
    for op, session in sessions:
        conn = Connection(Unstarted())  # type: ignore[arg-type]
        hub.attach(conn, op, session, None, {"type": "auth.ok"})
        conns.append(conn)
    dumps: list[object] = []
    real_dumps = json.dumps

    def counting(obj: object, **kwargs: Any) -> str:
        dumps.append(obj)
        return real_dumps(obj, **kwargs)

    monkeypatch.setattr(json, "dumps", counting)
    await hub.on_event(OutboxReady(ChannelId("c")))  # no frames at all
    await hub.on_event(EVENT)  # anna's two sessions, not oleg's
    assert [d for d in dumps if isinstance(d, dict)] == [
        {"type": "thing.happened", "colour": "blue"}
    ]
    texts = [_drain(c) for c in conns]
    assert [json.loads(t[-1]) for t in texts[:2]] == [
        {"type": "thing.happened", "colour": "blue", "seq": 1},
        {"type": "thing.happened", "colour": "blue", "seq": 1},
    ]
    assert len(texts[2]) == 1  # oleg got auth.ok only
    await hub.stop()


async def _gone_away(operator_id: OperatorId) -> None:
    return None


def _drain(conn: Connection) -> list[str]:
    queue = conn._queue
    out: list[str] = []
    while not queue.empty():
        item = queue.get_nowait()
        if item is not None:
            out.append(item)
    return out
