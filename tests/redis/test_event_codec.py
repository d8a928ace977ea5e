"""The event codec: every event type and every field survive JSON (needs no Redis)."""

from __future__ import annotations

import dataclasses
import json
import typing

import pytest
from hypothesis import given, settings

from inbox.domain.content import Text
from inbox.domain.conversations import Conversation
from inbox.domain.event_registry import CODEC_VERSION, EventDecodeError
from inbox.domain.events import Event, MessageCreated, OutboxReady
from inbox.domain.messages import Message
from server.events import event_registry
from tests.redis.samples import ALL_EVENTS, CONVERSATION, MESSAGE, events

#: The server's registry: every event the core and the features declare.
REGISTRY = event_registry()
event_to_dict = REGISTRY.to_dict
event_to_json = REGISTRY.to_json
event_from_dict = REGISTRY.from_dict
event_from_json = REGISTRY.from_json


def test_the_samples_cover_every_event_type() -> None:
    assert {type(e) for e in ALL_EVENTS} == {spec.cls for spec in REGISTRY.specs}


@pytest.mark.parametrize("event", ALL_EVENTS, ids=lambda e: type(e).__name__)
def test_every_event_type_round_trips(event: Event) -> None:
    text = event_to_json(event)
    assert text.isascii()
    back = event_from_json(text)
    assert back == event
    assert type(back) is type(event)
    assert event_from_json(text.encode()) == event


@pytest.mark.parametrize("event", ALL_EVENTS, ids=lambda e: type(e).__name__)
def test_every_field_is_written(event: Event) -> None:
    """A field added to an event, a message or a conversation fails here until the codec
    carries it."""
    doc = event_to_dict(event)
    assert doc["v"] == CODEC_VERSION
    assert set(doc) - {"v", "type"} == {f.name for f in dataclasses.fields(event)}
    if "message" in doc:
        assert set(doc["message"]) == {f.name for f in dataclasses.fields(Message)}
    if "conversation" in doc:
        assert set(doc["conversation"]) == {f.name for f in dataclasses.fields(Conversation)}


def test_datetimes_keep_their_instant_and_offset() -> None:
    event = ALL_EVENTS[0]
    assert isinstance(event, MessageCreated)
    back = event_from_json(event_to_json(event))
    assert isinstance(back, MessageCreated)
    assert back.conversation.last_message_at is not None
    assert event.conversation.last_message_at is not None
    assert back.conversation.last_message_at.utcoffset() == (
        event.conversation.last_message_at.utcoffset()
    )
    assert back.message.created_at.tzinfo is not None


def test_lone_surrogates_in_text_survive() -> None:
    odd = dataclasses.replace(MESSAGE, parts=(Text("half an emoji \ud83d"),))
    event = MessageCreated(odd, CONVERSATION)
    assert event_from_json(event_to_json(event)) == event


@settings(max_examples=300, deadline=None)
@given(events)
def test_any_event_round_trips(event: Event) -> None:
    assert event_from_json(event_to_json(event)) == event


def test_an_unknown_event_type_is_a_clear_error() -> None:
    with pytest.raises(EventDecodeError, match="unknown event type 'order_paid'"):
        event_from_dict({"v": CODEC_VERSION, "type": "order_paid", "order_id": "42"})


def test_another_codec_version_is_refused() -> None:
    doc = event_to_dict(ALL_EVENTS[-1])
    doc["v"] = CODEC_VERSION + 1
    with pytest.raises(EventDecodeError, match="version 2 is not supported"):
        event_from_dict(doc)
    del doc["v"]
    with pytest.raises(EventDecodeError, match="version None"):
        event_from_dict(doc)


@pytest.mark.parametrize("text", ["", "not json", "[1, 2]", "null", '"message_created"'])
def test_garbage_is_refused(text: str) -> None:
    with pytest.raises(EventDecodeError):
        event_from_json(text)


def test_a_broken_event_names_the_problem_but_not_the_values() -> None:
    doc = event_to_dict(MessageCreated(MESSAGE, CONVERSATION))
    doc["message"]["status"] = "secret customer words"
    with pytest.raises(EventDecodeError) as caught:
        event_from_dict(doc)
    assert "message_created" in str(caught.value)
    assert "secret" not in str(caught.value)

    doc = event_to_dict(MessageCreated(MESSAGE, CONVERSATION))
    del doc["conversation"]["status"]
    with pytest.raises(EventDecodeError, match="'status' is missing"):
        event_from_dict(doc)

    doc = event_to_dict(MessageCreated(MESSAGE, CONVERSATION))
    doc["message"]["seq"] = "7"
    with pytest.raises(EventDecodeError, match="seq is not an integer"):
        event_from_dict(doc)


def test_bad_literals_are_refused() -> None:
    typing_doc = event_to_dict(ALL_EVENTS[5])
    typing_doc["by"] = "robot"
    with pytest.raises(EventDecodeError, match="typing"):
        event_from_dict(typing_doc)
    changed = event_to_dict(ALL_EVENTS[2])
    changed["reason"] = "exploded"
    with pytest.raises(EventDecodeError, match="reason"):
        event_from_dict(changed)


def test_encoding_a_non_event_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        event_to_dict(typing.cast(Event, object()))


def test_the_json_is_compact_and_versioned() -> None:
    event = next(e for e in ALL_EVENTS if isinstance(e, OutboxReady))
    raw = json.loads(event_to_json(event))
    assert raw == {"v": 1, "type": "outbox_ready", "channel_id": event.channel_id}
