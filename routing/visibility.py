"""Which queues hide their waiting conversations from whom: routing's side of the core's
:class:`inbox.ports.QueueRestrictionSource` (the root hands it to the core and the
operator hub).

A queue with ``visible_to: members`` and a member list shows its waiting conversations to
its members only; a queue without members counts every operator as a member (as routing
does), so it hides nothing. Saving a queue publishes ``AudienceChanged`` (``routing.admin``)
so every hub reloads.
"""

from __future__ import annotations

import logging

from inbox.domain.errors import InvalidInput
from inbox.domain.ids import OperatorId
from inbox.domain.visibility import QueueRestrictions
from routing.ports import RoutingStore, RoutingTx
from routing.queues import parse_settings
from routing.records import QueueRecord

__all__ = ["QueueRestrictionsOfRouting", "restrictions_of"]

logger = logging.getLogger(__name__)


def restrictions_of(records: list[QueueRecord]) -> QueueRestrictions:
    """The restrictions the queues ``records`` state."""
    members_only: dict[str, frozenset[OperatorId]] = {}
    for record in records:
        try:
            settings = parse_settings(record)
        except InvalidInput:
            # Saved settings were checked; one that no longer parses restricts nothing
            # rather than failing every operator's request.
            logger.warning("queue %s has settings that do not parse", record.id)
            continue
        if settings.visible_to == "members" and settings.config.members:
            members_only[record.id] = frozenset(settings.config.members)
    return QueueRestrictions(members_only)


class QueueRestrictionsOfRouting:
    """Reads the queues on its own connection each time: a queue list is a few rows, and
    a fresh read is never stale across processes."""

    def __init__(self, store: RoutingStore) -> None:
        self._store = store

    async def load(self) -> QueueRestrictions:
        async def work(tx: RoutingTx) -> list[QueueRecord]:
            return await tx.routing.list_queues()

        return restrictions_of(await self._store.read(work))
