"""The web chat sender pushes replies to the visitor's sockets and dates them by the
injected clock, not the system's."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from channels.webchat import VisitorRegistry, WebchatSender
from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.clock import FixedClock
from inbox.domain.content import Text
from inbox.domain.ids import ChannelId, ConversationId, MessageId
from inbox.domain.messages import DeliveryStatus, OutboundMessage

CHANNEL = Channel(
    id=ChannelId("c1"),
    kind=ChannelKind("webchat"),
    name="Shop",
    created_at=datetime(2026, 1, 1, tzinfo=UTC),
    options={"visitor_secret": "s"},
)


class FakeSocket:
    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    def send_text(self, text: str) -> None:
        self.frames.append(json.loads(text))


def _reply(created_at: datetime | None = None) -> OutboundMessage:
    return OutboundMessage(
        message_id=MessageId("m1"),
        conversation_id=ConversationId("k1"),
        channel_id=CHANNEL.id,
        recipient="v1",
        parts=(Text("Hello!"),),
        author_name="Anna",
        seq=2,
        created_at=created_at,
    )


async def test_a_reply_without_created_at_is_dated_by_the_injected_clock() -> None:
    clock = FixedClock(datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC))
    registry = VisitorRegistry()
    sock = FakeSocket()
    registry.add(CHANNEL.id, "v1", sock)
    receipt = await WebchatSender(registry, clock=clock).send(CHANNEL, _reply())
    assert receipt.status is DeliveryStatus.DELIVERED
    [frame] = sock.frames
    assert frame["type"] == "message"
    assert frame["message"]["created_at"] == clock.now().isoformat()
    assert frame["message"]["text"] == "Hello!"
    assert frame["message"]["from"] == "agent"
    assert frame["message"]["author_name"] == "Anna"
    clock.advance(60)
    await WebchatSender(registry, clock=clock).send(CHANNEL, _reply())
    assert sock.frames[1]["message"]["created_at"] == "2031-05-06T07:09:09+00:00"


async def test_a_reply_keeps_its_own_created_at() -> None:
    registry = VisitorRegistry()
    sock = FakeSocket()
    registry.add(CHANNEL.id, "v1", sock)
    stamped = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    await WebchatSender(registry, clock=FixedClock()).send(CHANNEL, _reply(stamped))
    assert sock.frames[0]["message"]["created_at"] == stamped.isoformat()


async def test_an_offline_visitor_gets_it_as_sent() -> None:
    receipt = await WebchatSender(VisitorRegistry(), clock=FixedClock()).send(CHANNEL, _reply())
    assert receipt.status is DeliveryStatus.SENT
    assert receipt.external_id is None
