"""Writing webhook deliveries in the same transaction as the change they tell of.

The store calls :meth:`WebhookRecorder.record` at the end of every unit of work, inside
its transaction, with what the work returned. When that is an
:class:`~inbox.usecases.Outcome`, its events are exactly what will be published after the
commit; the recorder inserts one delivery per subscribed webhook beside the change, so
the delivery commits (or rolls back) with it and no crash between the commit and the
publication can lose it (docs/webhooks.md, "Durability").

Which events have subscribers is read from memory (:meth:`load`), never per transaction:
a webhook change reloads it here and, through ``WebhooksChanged`` on the bus, in every
other process; the worker also reloads it every ``refresh_seconds``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta

from inbox.domain.clock import Clock
from inbox.domain.events import Event
from inbox.domain.ids import new_id
from inbox.usecases import Outcome
from webhooks.events import WebhooksChanged
from webhooks.payloads import Payload, Translator
from webhooks.ports import WebhooksStore, WebhooksTx
from webhooks.records import Delivery, DeliveryId, WebhookId

__all__ = ["WebhookRecorder"]

logger = logging.getLogger(__name__)


class WebhookRecorder:
    def __init__(
        self, store: WebhooksStore, clock: Clock, translators: Sequence[Translator]
    ) -> None:
        self._store = store
        self._clock = clock
        self._translators = tuple(translators)
        #: event name → the enabled webhooks subscribed to it. Replaced whole, never
        #: mutated: SQLite's writer thread reads it while the loop may reload it.
        self._subscribers: Mapping[str, tuple[WebhookId, ...]] = {}
        self._recorded = False

    async def load(self) -> None:
        """Read the enabled webhooks' subscriptions."""

        async def work(tx: WebhooksTx) -> dict[str, tuple[WebhookId, ...]]:
            subscribers: dict[str, list[WebhookId]] = {}
            for webhook in await tx.webhooks.list_webhooks():
                if webhook.enabled:
                    for name in webhook.events:
                        subscribers.setdefault(name, []).append(webhook.id)
            return {name: tuple(ids) for name, ids in subscribers.items()}

        self._subscribers = await self._store.read(work)

    @property
    def subscribed_events(self) -> frozenset[str]:
        """The event names some enabled webhook subscribes to, as this process knows it."""
        return frozenset(self._subscribers)

    async def on_event(self, event: Event) -> None:
        if isinstance(event, WebhooksChanged):
            await self.load()

    def take_recorded(self) -> bool:
        """Whether deliveries were recorded since the last call (the worker, told of a
        published event, looks at once when they were)."""
        recorded, self._recorded = self._recorded, False
        return recorded

    async def record(self, tx: WebhooksTx, result: object) -> None:
        """The store's hook: deliveries for ``result``'s events, in ``tx``. Awaits nothing
        but ``tx`` (SQLite runs it in the writer thread)."""
        subscribers = self._subscribers
        if not subscribers or not isinstance(result, Outcome) or not result.events:
            return
        now = self._clock.now()
        deliveries: list[Delivery] = []
        for event in result.events:
            for name, data in self._payloads(event):
                targets = subscribers.get(name)
                if not targets:
                    continue
                event_id = "evt_" + new_id()
                try:
                    document = {
                        "id": event_id,
                        "event": name,
                        "created_at": now.isoformat(),
                        "data": data(),
                    }
                    body = json.dumps(document, separators=(",", ":"))
                except Exception:
                    # A view's bug must not fail the change that caused the event.
                    logger.exception("webhook event %s could not be built; not recorded", name)
                    continue
                deliveries.extend(
                    Delivery(
                        id=DeliveryId(new_id()),
                        webhook_id=webhook_id,
                        event_id=event_id,
                        event=name,
                        body=body,
                        created_at=now,
                        # A hair in the past: a worker that reads the clock right after
                        # the commit finds it due.
                        next_attempt_at=now - timedelta(microseconds=1),
                    )
                    for webhook_id in targets
                )
        if deliveries:
            await tx.webhooks.add_deliveries(deliveries)
            self._recorded = True

    def _payloads(self, event: Event) -> list[Payload]:
        payloads: list[Payload] = []
        for translate in self._translators:
            try:
                payloads.extend(translate(event))
            except Exception:
                # A translator's bug must not fail the change that caused the event.
                logger.exception("webhook translator failed on %s", type(event).__name__)
        return payloads
