"""Realistic events of every type, and Hypothesis strategies that build any event."""

# Russian customer text is what these events carry in production (RUF001):
# ruff: noqa: RUF001

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from bots.events import BotSettingsChanged, CsatReceived, CsatRequested
from inbox.domain.content import (
    Audio,
    Button,
    ButtonReply,
    Buttons,
    ContactCard,
    File,
    Image,
    Location,
    MediaRef,
    Part,
    Reaction,
    Sticker,
    Template,
    Text,
    Unsupported,
    Video,
)
from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.events import (
    AudienceChanged,
    ConversationChanged,
    Event,
    MessageCreated,
    MessageUpdated,
    OperatorPresenceChanged,
    OutboxReady,
    Typing,
)
from inbox.domain.ids import ChannelId, ContactId, ConversationId, MessageId, OperatorId
from inbox.domain.messages import AuthorKind, DeliveryStatus, Direction, Message, MessageKind
from inbox.domain.operators import Presence
from payments.events import OrderChanged
from payments.records import (
    Order,
    OrderId,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentStatus,
    ProviderId,
)
from routing.events import OfferChanged, RoutingAlert
from routing.records import QueueId
from webhooks.events import WebhookDisabled, WebhooksChanged

T0 = datetime(2025, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)
MSK = timezone(timedelta(hours=3))
CHANNEL = ChannelId("c0ffee00c0ffee00c0ffee00c0ffee00")
CONVERSATION_ID = ConversationId("5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e")
ANNA = OperatorId("a11a00000000000000000000000000aa")
BORIS = OperatorId("b0b1500000000000000000000000000b")

CONVERSATION = Conversation(
    id=CONVERSATION_ID,
    channel_id=CHANNEL,
    contact_id=ContactId("c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0"),
    status=ConversationStatus.ASSIGNED,
    created_at=T0,
    updated_at=T0 + timedelta(minutes=5),
    assignee_id=ANNA,
    last_message_seq=7,
    last_message_at=(T0 + timedelta(minutes=4)).astimezone(MSK),
    last_inbound_at=T0 + timedelta(minutes=3),
    unread_count=2,
    queued_at=T0 + timedelta(seconds=2),
    resolved_at=None,
    subject="Заказ №42: линзы",
    preview="Есть ли линзы для астигматизма? 👓",
    contact_name="Мария Иванова",
    channel_kind="telegram",
    thread_key="123456789",
)

PARTS: tuple[Part, ...] = (
    Text("Есть ли линзы для астигматизма? 👓\nСпасибо!"),
    Image(MediaRef("image/jpeg", key="media/ab/cd.jpg", size=120_345), caption="рецепт"),
    File(
        MediaRef("application/pdf", provider_ref="BQACAgIAAxkB", filename="чек.pdf", size=9),
        caption="",
    ),
    Video(MediaRef("video/mp4", key="v.mp4")),
    Sticker(MediaRef("image/webp", provider_ref="CAACAgIAAxk"), emoji="😀"),
    Audio(MediaRef("audio/ogg", key="voice.ogg", size=4096), voice=True, duration_s=3.5),
    Location(55.751244, 37.618423, name="Красная площадь", address="Москва"),
    ContactCard("Пётр", phone="+79991234567", email="petr@example.ru"),
    Buttons(
        "Выберите:",
        (
            Button("Оплатить", kind="url", url="https://pay.example/o/42"),
            Button("Оператор", kind="reply", payload="handoff"),
        ),
    ),
    ButtonReply("Оператор", payload="handoff"),
    Reaction("👍", target_external_id="tg:991"),
    Template("order_ready", "ru", params=("42", "Мария")),
    Unsupported("poll", "a Telegram poll"),
)

MESSAGE = Message(
    id=MessageId("3e55a9e03e55a9e03e55a9e03e55a9e0"),
    conversation_id=CONVERSATION_ID,
    channel_id=CHANNEL,
    seq=7,
    kind=MessageKind.MESSAGE,
    direction=Direction.INBOUND,
    author_kind=AuthorKind.CUSTOMER,
    author_id="123456789",
    parts=PARTS,
    status=DeliveryStatus.RECEIVED,
    created_at=T0 + timedelta(minutes=4),
    client_id=None,
    external_id="tg:1001",
    error=None,
    author_name="Мария Иванова",
    meta={"edited": "true", "reply_to": "tg:991"},
)

REPLY = Message(
    id=MessageId("4e55a9e04e55a9e04e55a9e04e55a9e0"),
    conversation_id=CONVERSATION_ID,
    channel_id=CHANNEL,
    seq=8,
    kind=MessageKind.MESSAGE,
    direction=Direction.OUTBOUND,
    author_kind=AuthorKind.OPERATOR,
    author_id=ANNA,
    parts=(Text("Да, есть. Какая у вас оптическая сила?"),),
    status=DeliveryStatus.FAILED,
    created_at=(T0 + timedelta(minutes=6)).astimezone(MSK),
    client_id="o-1",
    external_id=None,
    error="recipient blocked the bot",
    author_name="Anna",
)

#: One realistic event of every type (and the optional fields both set and unset).
ALL_EVENTS: tuple[Event, ...] = (
    MessageCreated(MESSAGE, CONVERSATION),
    MessageUpdated(REPLY, CONVERSATION),
    ConversationChanged(
        CONVERSATION,
        "assigned",
        previous_assignee_id=BORIS,
        previous_status=ConversationStatus.QUEUED,
    ),
    ConversationChanged(
        Conversation(
            id=CONVERSATION_ID,
            channel_id=CHANNEL,
            contact_id=ContactId("c1"),
            status=ConversationStatus.RESOLVED,
            created_at=T0,
            updated_at=T0,
            resolved_at=T0,
        ),
        "resolved",
    ),
    OperatorPresenceChanged(ANNA, Presence.AWAY, T0.astimezone(MSK)),
    Typing(CONVERSATION_ID, CHANNEL, ANNA, "operator", operator_id=ANNA, operator_name="Anna"),
    Typing(CONVERSATION_ID, CHANNEL, None, "customer"),
    Typing(CONVERSATION_ID, CHANNEL, None, "customer", queue_id="q1"),
    ConversationChanged(
        CONVERSATION, "queue", previous_status=ConversationStatus.QUEUED, previous_queue_id="q0"
    ),
    AudienceChanged(T0),
    WebhooksChanged("w1"),
    WebhookDisabled("w1", "crm.example", 20, T0, T0.astimezone(MSK), "HTTP 503"),
    OutboxReady(CHANNEL),
    OfferChanged(
        CONVERSATION,
        ANNA,
        "created",
        QueueId("q1"),
        "Линзы",
        T0,
        T0 + timedelta(seconds=30),
    ),
    OfferChanged(
        CONVERSATION, BORIS, "withdrawn", QueueId("q1"), "", T0, T0.astimezone(MSK), "taken"
    ),
    RoutingAlert("sla_breach", CONVERSATION, QueueId("q1"), "Shop", "first_response", T0, T0, None),
    RoutingAlert("sla_warning", CONVERSATION, QueueId("q1"), "Shop", "resolution", T0, T0, ANNA),
    BotSettingsChanged("default"),
    CsatRequested(CONVERSATION),
    CsatReceived(CONVERSATION, 5, "Спасибо, быстро!", T0.astimezone(MSK)),
    OrderChanged(
        Order(
            id=OrderId("0rder"),
            number=1042,
            conversation_id=CONVERSATION_ID,
            contact_id=ContactId("c1"),
            currency="RUB",
            lines=(OrderLine("Линзы", 2, 172500, "AO-6"), OrderLine("Раствор", 1, 10)),
            status=OrderStatus.PAID,
            created_at=T0,
            updated_at=T0.astimezone(MSK),
            status_times={"draft": T0, "paid": T0.astimezone(MSK)},
            external_id="1C-77",
            payment=Payment(ProviderId("p1"), "order-0rder-1", PaymentStatus.SUCCEEDED, T0),
        ),
        CONVERSATION,
        "paid",
    ),
)


# --------------------------------------------------------------------------- strategies

_OFFSETS = [UTC, MSK, timezone(timedelta(hours=-5, minutes=-30)), timezone(timedelta(hours=14))]
aware_datetimes = st.datetimes(
    min_value=datetime(1990, 1, 1),
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from(_OFFSETS),
)
_hex_ids = st.text(alphabet="0123456789abcdef", min_size=1, max_size=32)
_texts = st.text(max_size=40)
_floats = st.floats(allow_nan=False, allow_infinity=False)
_opt_text = st.none() | _texts

media_refs = st.builds(
    MediaRef,
    mime_type=st.sampled_from(["image/jpeg", "application/pdf", "audio/ogg", "video/mp4"]),
    key=_opt_text,
    provider_ref=_opt_text,
    filename=_opt_text,
    size=st.none() | st.integers(min_value=0, max_value=2**40),
)
parts: st.SearchStrategy[Part] = st.one_of(
    st.builds(Text, _texts),
    st.builds(Image, media_refs, _texts),
    st.builds(File, media_refs, _texts),
    st.builds(Video, media_refs, _texts),
    st.builds(Sticker, media_refs, _texts),
    st.builds(Audio, media_refs, st.booleans(), st.none() | _floats),
    st.builds(Location, _floats, _floats, _texts, _texts),
    st.builds(ContactCard, _texts, _texts, _texts),
    st.builds(
        Buttons,
        _texts,
        st.lists(
            st.builds(Button, _texts, st.sampled_from(["url", "reply"]), _texts, _texts),
            max_size=3,
        ).map(tuple),
    ),
    st.builds(ButtonReply, _texts, _texts),
    st.builds(Reaction, _texts, _texts),
    st.builds(Template, _texts, _texts, st.lists(_texts, max_size=3).map(tuple)),
    st.builds(Unsupported, _texts, _texts),
)
_operator_ids = _hex_ids.map(OperatorId)
_opt_operator = st.none() | _operator_ids
_opt_dt = st.none() | aware_datetimes

messages = st.builds(
    Message,
    id=_hex_ids.map(MessageId),
    conversation_id=_hex_ids.map(ConversationId),
    channel_id=_hex_ids.map(ChannelId),
    seq=st.integers(min_value=0, max_value=2**53),
    kind=st.sampled_from(MessageKind),
    direction=st.sampled_from(Direction),
    author_kind=st.sampled_from(AuthorKind),
    author_id=_opt_text,
    parts=st.lists(parts, max_size=4).map(tuple),
    status=st.sampled_from(DeliveryStatus),
    created_at=aware_datetimes,
    client_id=_opt_text,
    external_id=_opt_text,
    error=_opt_text,
    author_name=_texts,
    meta=st.dictionaries(_texts, _texts, max_size=3),
)
conversations = st.builds(
    Conversation,
    id=_hex_ids.map(ConversationId),
    channel_id=_hex_ids.map(ChannelId),
    contact_id=_hex_ids.map(ContactId),
    status=st.sampled_from(ConversationStatus),
    created_at=aware_datetimes,
    updated_at=aware_datetimes,
    assignee_id=_opt_operator,
    last_message_seq=st.integers(min_value=0, max_value=2**53),
    last_message_at=_opt_dt,
    last_inbound_at=_opt_dt,
    unread_count=st.integers(min_value=0, max_value=10_000),
    queued_at=_opt_dt,
    resolved_at=_opt_dt,
    queue_id=st.none() | _hex_ids,
    subject=_texts,
    preview=_texts,
    contact_name=_texts,
    channel_kind=st.sampled_from(["telegram", "vk", "whatsapp", "viber", "email", "webchat"]),
    thread_key=_texts,
)
_reasons: st.SearchStrategy[Any] = st.sampled_from(
    ["created", "assigned", "unassigned", "resolved", "reopened", "read", "updated", "queue"]
)
events: st.SearchStrategy[Event] = st.one_of(
    st.builds(MessageCreated, messages, conversations),
    st.builds(MessageUpdated, messages, conversations),
    st.builds(
        ConversationChanged,
        conversations,
        _reasons,
        _opt_operator,
        st.none() | st.sampled_from(ConversationStatus),
        st.none() | _hex_ids,
    ),
    st.builds(OperatorPresenceChanged, _operator_ids, st.sampled_from(Presence), aware_datetimes),
    st.builds(
        Typing,
        _hex_ids.map(ConversationId),
        _hex_ids.map(ChannelId),
        _opt_operator,
        st.sampled_from(["customer", "operator"]),
        _opt_operator,
        _texts,
        st.none() | _hex_ids,
    ),
    st.builds(OutboxReady, _hex_ids.map(ChannelId)),
    st.builds(AudienceChanged, aware_datetimes),
    st.builds(WebhooksChanged, _hex_ids),
    st.builds(
        WebhookDisabled,
        _hex_ids,
        _texts,
        st.integers(0, 10_000),
        aware_datetimes,
        aware_datetimes,
        _texts,
    ),
)
