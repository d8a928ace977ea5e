"""Ports: the small protocols that the edges (storage, channels, operator_ws, ...) implement.

Contracts are written on each method: whether it does I/O, whether it is idempotent, what
it raises. One module per concern: ``repositories`` (the repositories, ``Tx``, ``Store``),
``services`` (the event bus, password hashing), ``channels`` (what an adapter implements),
``intake`` (who takes a new conversation). Import them from here.
"""

from __future__ import annotations

from inbox.ports.channels import (
    AdapterDeps,
    ChannelAdapter,
    ChannelSender,
    ChannelSenders,
    MediaStore,
    PollingAdapter,
    SendReceipt,
)
from inbox.ports.intake import IntakePolicy, IntakeRequest, IntakeStatus
from inbox.ports.repositories import (
    AuthSession,
    AuthSessionRepo,
    CannedReplyRepo,
    ChannelRepo,
    CloseReasonRepo,
    ContactRepo,
    ConversationFilter,
    ConversationRepo,
    Lease,
    LeaseRepo,
    MessageRepo,
    OperatorRepo,
    OutboxItem,
    OutboxRepo,
    Store,
    Tx,
)
from inbox.ports.services import EventBus, EventHandler, PasswordHasher, QueueRestrictionSource

__all__ = [
    "AdapterDeps",
    "AuthSession",
    "AuthSessionRepo",
    "CannedReplyRepo",
    "ChannelAdapter",
    "ChannelRepo",
    "ChannelSender",
    "ChannelSenders",
    "CloseReasonRepo",
    "ContactRepo",
    "ConversationFilter",
    "ConversationRepo",
    "EventBus",
    "EventHandler",
    "IntakePolicy",
    "IntakeRequest",
    "IntakeStatus",
    "Lease",
    "LeaseRepo",
    "MediaStore",
    "MessageRepo",
    "OperatorRepo",
    "OutboxItem",
    "OutboxRepo",
    "PasswordHasher",
    "PollingAdapter",
    "QueueRestrictionSource",
    "SendReceipt",
    "Store",
    "Tx",
]
