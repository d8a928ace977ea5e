"""The webhook delivery worker: takes due deliveries from the durable queue, signs and
posts them, keeps every attempt's result, retries with exponential backoff and jitter,
and disables a webhook that keeps failing (docs/webhooks.md).

At-least-once, like the message outbox (:mod:`inbox.delivery`): a delivery is marked
delivered only after the receiver answered 2xx; receivers deduplicate by the event's
``id``. Deliveries are leased, so workers in several processes never post the same
delivery at once (PostgreSQL ``FOR UPDATE SKIP LOCKED``; SQLite has one writer).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from inbox.domain.events import Event
from inbox.owners import LeaseOwners, RandomOwners, Reclaiming
from inbox.usecases import Core, Outcome
from webhooks.events import WebhookDisabled, WebhooksChanged
from webhooks.ports import Poster, PostResult, WebhooksStore, WebhooksTx
from webhooks.recorder import WebhookRecorder
from webhooks.records import Attempt, Delivery, DeliveryState, DueDelivery, Webhook
from webhooks.signing import SIGNATURE_HEADER, signature_header

__all__ = ["DisablePolicy", "RetryPolicy", "WebhookWorker"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempt ``n`` failed → the next one after ``min(cap, base · 2^(n-1))`` seconds
    times a random factor in [0.5, 1); after ``max_attempts`` the delivery is failed."""

    base_seconds: float = 10.0
    cap_seconds: float = 3600.0
    max_attempts: int = 12

    def delay(self, attempts: int, rng: random.Random) -> float:
        ceiling = min(self.cap_seconds, self.base_seconds * 2.0 ** max(0, attempts - 1))
        return float(rng.uniform(0.5, 1.0)) * ceiling


@dataclass(frozen=True, slots=True)
class DisablePolicy:
    """A webhook is disabled when ``failures`` attempts in a row failed and the first of
    them is at least ``hours`` old: a receiver down for a minute is not disabled by a burst,
    nor one that fails rarely by a long quiet spell."""

    failures: int = 20
    hours: float = 24.0


#: Called once per attempt with its result: "delivered", "retry", "failed" (gave up) or
#: "dropped" (the lease was lost; nothing recorded) -- the metrics count them.
AttemptObserver = Callable[[str], None]


class WebhookWorker:
    """Owns one background task. ``wake()`` makes it look at once; otherwise it polls
    every ``poll_seconds`` (and reloads the recorder's subscriptions every
    ``refresh_seconds``, in case a change notice from another process was missed)."""

    def __init__(
        self,
        core: Core,
        store: WebhooksStore,
        poster: Poster,
        recorder: WebhookRecorder,
        *,
        retry: RetryPolicy | None = None,
        disable: DisablePolicy | None = None,
        poll_seconds: float = 1.0,
        refresh_seconds: float = 30.0,
        batch: int = 16,
        lease_seconds: float = 120.0,
        rng: random.Random | None = None,
        observer: AttemptObserver | None = None,
        owners: LeaseOwners | None = None,
        reclaim_seconds: float = 10.0,
    ) -> None:
        self._core = core
        self._store = store
        self._poster = poster
        self._recorder = recorder
        self._retry = retry or RetryPolicy()
        self._disable = disable or DisablePolicy()
        self._poll = poll_seconds
        self._refresh = refresh_seconds
        self._batch = batch
        self._lease = timedelta(seconds=lease_seconds)
        self._rng = rng or random.Random()
        self._observer = observer
        owners = owners if owners is not None else RandomOwners()
        self._owner = owners.new("webhooks")
        self._reclaiming = Reclaiming(owners, self._owner, reclaim_seconds)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def recorder(self) -> WebhookRecorder:
        return self._recorder

    async def on_event(self, event: Event) -> None:
        if self._recorder.take_recorded():
            self.wake()

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="webhook-worker")

    async def stop(self) -> None:
        """Stop the loop; a delivery being posted is abandoned and its lease runs out, so
        another worker (or this one after a restart) sends it again."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._poster.close()

    async def _loop(self) -> None:
        refreshed = time.monotonic()
        while True:
            try:
                if time.monotonic() - refreshed >= self._refresh:
                    refreshed = time.monotonic()
                    await self._recorder.load()
                claimed = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("webhook round failed; retrying after %.1fs", self._poll)
                claimed = 0
            if claimed:
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll):
                    await self._wake.wait()
            self._wake.clear()

    async def run_once(self) -> int:
        """Claim due deliveries and post them concurrently; returns how many were claimed.
        On the first round and every ``reclaim_seconds`` the leases of ended processes are
        dropped first, so their deliveries go out now (inbox.owners)."""
        now = self._core.clock.now()
        if self._reclaiming.due():

            async def reclaim(tx: WebhooksTx) -> int:
                gone = self._reclaiming.gone(await tx.webhooks.lease_owners(now))
                return await tx.webhooks.release_owners(gone) if gone else 0

            if freed := await self._store.transact(reclaim):
                logger.warning("took over %d webhook deliveries of ended processes", freed)

        async def claim(tx: WebhooksTx) -> list[DueDelivery]:
            return await tx.webhooks.claim_due(
                now, limit=self._batch, lease_until=now + self._lease, owner=self._owner
            )

        due = await self._store.transact(claim)
        if due:
            await asyncio.gather(*(self._deliver(item) for item in due))
        return len(due)

    async def _deliver(self, due: DueDelivery) -> None:
        body = due.delivery.body.encode("utf-8")
        stamp = int(self._core.clock.now().timestamp())
        headers = {
            SIGNATURE_HEADER: signature_header(due.secret, stamp, body),
            "X-Inbox-Event": due.delivery.event,
            "X-Inbox-Delivery": due.delivery.id,
        }
        started = time.monotonic()
        result = await self._poster.post(due.url, body, headers)
        elapsed_ms = int((time.monotonic() - started) * 1000)
        outcome = await self._record(due, result, elapsed_ms)
        if self._observer is not None:
            self._observer(outcome)

    async def _record(self, due: DueDelivery, result: PostResult, elapsed_ms: int) -> str:
        now = self._core.clock.now()
        before = due.delivery
        number = before.attempts + 1
        attempt = Attempt(before.id, number, now, result.status, result.error, elapsed_ms)
        delivery: Delivery
        if result.ok:
            delivery = dataclasses.replace(
                before,
                state=DeliveryState.DELIVERED,
                attempts=number,
                last_status=result.status,
                last_error="",
                delivered_at=now,
            )
            label = "delivered"
        elif number >= self._retry.max_attempts:
            delivery = dataclasses.replace(
                before,
                state=DeliveryState.FAILED,
                attempts=number,
                last_status=result.status,
                last_error=result.error,
            )
            label = "failed"
        else:
            delay = self._retry.delay(number, self._rng)
            delivery = dataclasses.replace(
                before,
                attempts=number,
                last_status=result.status,
                last_error=result.error,
                next_attempt_at=now + timedelta(seconds=delay),
            )
            label = "retry"

        async def work(tx: WebhooksTx) -> Outcome[str]:
            if not await tx.webhooks.finish_attempt(delivery, attempt, self._owner):
                return Outcome("dropped")
            webhook = await tx.webhooks.get_webhook(before.webhook_id, for_update=True)
            if webhook is None:
                return Outcome(label)
            changed, events = self._after_attempt(webhook, result, now)
            if changed is not webhook:
                await tx.webhooks.update_webhook(changed)
            return Outcome(label, events)

        outcome = await self._store.transact(work)
        if outcome.events:
            await self._core.bus.publish(outcome.events)
        return outcome.value

    def _after_attempt(
        self, webhook: Webhook, result: PostResult, now: datetime
    ) -> tuple[Webhook, list[Event]]:
        """The webhook's failure run after this attempt, and the alert when it ends in
        disabling it."""
        if result.ok:
            if webhook.consecutive_failures == 0 and webhook.failing_since is None:
                return webhook, []
            return dataclasses.replace(webhook, consecutive_failures=0, failing_since=None), []
        failures = webhook.consecutive_failures + 1
        since = webhook.failing_since or now
        changed = dataclasses.replace(
            webhook, consecutive_failures=failures, failing_since=since, updated_at=now
        )
        policy = self._disable
        if (
            not webhook.enabled
            or failures < policy.failures
            or now - since < timedelta(hours=policy.hours)
        ):
            return changed, []
        reason = f"{failures} failed attempts in a row since {since.isoformat()}"
        changed = dataclasses.replace(changed, enabled=False, disabled_reason=reason)
        host = urlsplit(webhook.url).hostname or ""
        # The host and counts only: never the URL's path or query, a body or the secret.
        logger.warning(
            "webhook %s (host %s) disabled after %d failed attempts since %s",
            webhook.id,
            host,
            failures,
            since.isoformat(),
        )
        alert = WebhookDisabled(webhook.id, host, failures, since, now, result.error)
        return changed, [alert, WebhooksChanged(webhook.id)]
