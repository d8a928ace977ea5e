"""The default intake policy: every new or reopened conversation goes to routing.

The port and its contract are :class:`inbox.ports.IntakePolicy`; ``ingest_inbound`` calls
the policy held by :class:`inbox.usecases.Core` (this one unless the composition root
injects another, e.g. the bots feature's).
"""

from __future__ import annotations

from inbox.domain.conversations import ConversationStatus
from inbox.ports import IntakeRequest, IntakeStatus, Tx

__all__ = ["RouteEverything"]


class RouteEverything:
    """Answers ``QUEUED`` for every conversation, reading nothing: the behaviour of an
    inbox without bots."""

    async def take(self, tx: Tx, request: IntakeRequest) -> IntakeStatus:
        return ConversationStatus.QUEUED
