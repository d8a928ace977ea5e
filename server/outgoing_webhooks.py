"""Outgoing webhooks in the composition root: the features' translators (orders and CSAT:
the webhooks package may not import the other features) and the parts the wiring builds
from the settings (docs/webhooks.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bots.events import CsatReceived, csat_view
from inbox.domain.events import Event
from inbox.domain.views import conversation_view
from inbox.owners import LeaseOwners
from inbox.usecases import Core
from payments.events import OrderChanged
from payments.records import OrderStatus
from payments.views import order_view
from server.config import Settings
from storage import SqlStore
from webhooks import (
    AiohttpPoster,
    DisablePolicy,
    Payload,
    RetryPolicy,
    WebhookAdmin,
    WebhookRecorder,
    WebhookWorker,
    core_payloads,
)
from webhooks.worker import AttemptObserver

__all__ = ["OutgoingWebhooks", "feature_payloads", "open_outgoing_webhooks"]


def feature_payloads(event: Event) -> Sequence[Payload]:
    """``order.paid`` (an order that just became paid, by the provider or by hand) and
    ``csat.received``."""
    match event:
        case OrderChanged(order=order, conversation=conversation, previous_status=before):
            if order.status is OrderStatus.PAID and before not in ("", str(OrderStatus.PAID)):
                return (
                    (
                        "order.paid",
                        lambda: {
                            "order": order_view(order),
                            "conversation": conversation_view(conversation),
                        },
                    ),
                )
        case CsatReceived(conversation=conversation, rating=rating, comment=comment, at=at):
            return (
                (
                    "csat.received",
                    lambda: {
                        "conversation": conversation_view(conversation),
                        "csat": csat_view(rating, comment, at),
                    },
                ),
            )
    return ()


@dataclass(frozen=True, slots=True)
class OutgoingWebhooks:
    """The recorder (installed on the store by :func:`open_outgoing_webhooks`) and the
    admin's use cases; a serving process adds the worker (:meth:`worker`)."""

    core: Core
    store: SqlStore
    settings: Settings
    recorder: WebhookRecorder
    admin: WebhookAdmin

    def worker(
        self, observer: AttemptObserver | None = None, *, owners: LeaseOwners | None = None
    ) -> WebhookWorker:
        s = self.settings
        return WebhookWorker(
            self.core,
            self.store,
            AiohttpPoster(timeout_seconds=s.webhook_timeout_seconds),
            self.recorder,
            retry=RetryPolicy(
                base_seconds=s.webhook_retry_base_seconds,
                cap_seconds=s.webhook_retry_cap_seconds,
                max_attempts=s.webhook_max_attempts,
            ),
            disable=DisablePolicy(
                failures=s.webhook_disable_failures, hours=s.webhook_disable_hours
            ),
            poll_seconds=s.webhook_poll_seconds,
            observer=observer,
            owners=owners,
        )


async def open_outgoing_webhooks(
    core: Core, store: SqlStore, settings: Settings
) -> OutgoingWebhooks:
    """Load the subscriptions and install the recorder on the store: from now on every
    unit of work records its events' deliveries in its own transaction."""
    recorder = WebhookRecorder(store, core.clock, [core_payloads, feature_payloads])
    await recorder.load()
    store.add_transaction_hook(recorder.record)
    return OutgoingWebhooks(core, store, settings, recorder, WebhookAdmin(core, store, recorder))
