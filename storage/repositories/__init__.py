"""Core-SQL implementations of the repositories in :mod:`inbox.ports`, one module per
aggregate, and :class:`SqlTx` bundling them for one transaction."""

from __future__ import annotations

from storage.repositories.contacts import SqlContactRepo
from storage.repositories.conversations import SqlConversationRepo
from storage.repositories.leases import SqlLeaseRepo
from storage.repositories.messages import SqlMessageRepo
from storage.repositories.operators import SqlAuthSessionRepo, SqlChannelRepo, SqlOperatorRepo
from storage.repositories.outbox import SqlOutboxRepo
from storage.repositories.routing import SqlRoutingRepo
from storage.repositories.tx import SqlTx

__all__ = [
    "SqlAuthSessionRepo",
    "SqlChannelRepo",
    "SqlContactRepo",
    "SqlConversationRepo",
    "SqlLeaseRepo",
    "SqlMessageRepo",
    "SqlOperatorRepo",
    "SqlOutboxRepo",
    "SqlRoutingRepo",
    "SqlTx",
]
