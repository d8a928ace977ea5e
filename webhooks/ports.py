"""The webhooks feature's ports: its repository and unit of work (extending the core's),
and the HTTP sender the worker posts through."""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from inbox.ports import Tx
from webhooks.records import Attempt, Delivery, DeliveryId, DueDelivery, Webhook, WebhookId

__all__ = [
    "PostResult",
    "Poster",
    "WebhooksRepo",
    "WebhooksStore",
    "WebhooksTx",
]

T = TypeVar("T")


class WebhooksRepo(Protocol):
    async def add_webhook(self, webhook: Webhook) -> None: ...

    async def get_webhook(
        self, webhook_id: WebhookId, *, for_update: bool = False
    ) -> Webhook | None: ...

    async def list_webhooks(self) -> builtins.list[Webhook]:
        """Oldest first."""

    async def update_webhook(self, webhook: Webhook) -> None: ...

    async def delete_webhook(self, webhook_id: WebhookId) -> None:
        """The webhook, its deliveries and their attempts."""

    async def add_deliveries(self, deliveries: Sequence[Delivery]) -> None: ...

    async def claim_due(
        self, now: datetime, *, limit: int, lease_until: datetime, owner: str
    ) -> builtins.list[DueDelivery]:
        """Pending deliveries of enabled webhooks that are due and not leased, oldest
        first, leased to ``owner`` until ``lease_until``. Concurrent claimers (other
        processes) never get the same delivery while its lease lasts."""

    async def finish_attempt(self, delivery: Delivery, attempt: Attempt, owner: str) -> bool:
        """Store ``delivery`` as it is after ``attempt`` (its lease released) and the
        attempt itself; False (nothing written) when ``owner`` no longer holds the lease."""

    async def list_deliveries(
        self, webhook_id: WebhookId, *, limit: int
    ) -> builtins.list[Delivery]:
        """Newest first."""

    async def list_attempts(
        self, delivery_ids: Sequence[DeliveryId]
    ) -> Mapping[DeliveryId, builtins.list[Attempt]]:
        """Each delivery's attempts, first first."""

    async def pending_count(self) -> int:
        """Pending deliveries of every webhook (the metrics' backlog)."""

    async def lease_owners(self, now: datetime) -> builtins.list[str]:
        """The owners of delivery leases that have not run out at ``now``."""

    async def release_owners(self, owners: Sequence[str]) -> int:
        """Drop every delivery lease these (gone) owners hold; returns how many."""


class WebhooksTx(Tx, Protocol):
    @property
    def webhooks(self) -> WebhooksRepo: ...


class WebhooksStore(Protocol):
    async def transact(self, work: Callable[[WebhooksTx], Awaitable[T]]) -> T: ...

    async def read(self, work: Callable[[WebhooksTx], Awaitable[T]]) -> T: ...


@dataclass(frozen=True, slots=True)
class PostResult:
    """What one POST got: the receiver's status code, or ``error`` when there was none
    (connection refused, timeout, a refused redirect)."""

    status: int | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Poster(Protocol):
    """Posts ``body`` with ``headers`` to ``url``; never raises for the receiver's faults
    (they are a :class:`PostResult` with an error)."""

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> PostResult: ...

    async def close(self) -> None: ...
