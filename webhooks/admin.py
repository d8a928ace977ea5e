"""Managing webhooks: the admin's use cases (docs/webhooks.md). Who may call them is
decided by the caller's layer (the REST handlers' one admin check); these check the
input and keep every process's subscription list current."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from inbox.domain.errors import InvalidInput, NotFound
from inbox.domain.ids import new_id
from inbox.usecases import Core
from webhooks.events import WebhooksChanged
from webhooks.ports import WebhooksStore, WebhooksTx
from webhooks.recorder import WebhookRecorder
from webhooks.records import EVENT_NAMES, Attempt, Delivery, Webhook, WebhookId
from webhooks.signing import new_secret
from webhooks.urls import check_url

__all__ = ["MAX_LOG", "WebhookAdmin", "parse_events"]

#: The most deliveries one log page shows.
MAX_LOG = 200


def parse_events(raw: object) -> tuple[str, ...]:
    """A non-empty list of known event names (duplicates dropped, order kept)."""
    if not isinstance(raw, list) or not raw:
        raise InvalidInput(f"events must be a non-empty list of: {', '.join(EVENT_NAMES)}")
    names: list[str] = []
    for item in raw:
        if not isinstance(item, str):
            raise InvalidInput("events must be strings")
        if item not in EVENT_NAMES:
            shown = item[:60]
            raise InvalidInput(f"unknown event {shown!r}; known: {', '.join(EVENT_NAMES)}")
        if item not in names:
            names.append(item)
    return tuple(names)


class WebhookAdmin:
    def __init__(self, core: Core, store: WebhooksStore, recorder: WebhookRecorder) -> None:
        self._core = core
        self._store = store
        self._recorder = recorder

    async def create(self, url: object, events: object) -> Webhook:
        """A new enabled webhook with a fresh secret (the caller shows it once)."""
        now = self._core.clock.now()
        webhook = Webhook(
            id=WebhookId(new_id()),
            url=check_url(url),
            events=parse_events(events),
            secret=new_secret(),
            enabled=True,
            created_at=now,
            updated_at=now,
        )

        async def work(tx: WebhooksTx) -> None:
            await tx.webhooks.add_webhook(webhook)

        await self._store.transact(work)
        await self._changed(webhook.id)
        return webhook

    async def list(self) -> list[Webhook]:
        async def work(tx: WebhooksTx) -> list[Webhook]:
            return await tx.webhooks.list_webhooks()

        return await self._store.read(work)

    async def update(self, webhook_id: WebhookId, changes: Mapping[str, Any]) -> Webhook:
        """Change ``url``, ``events`` and/or ``enabled``; enabling starts a new failure run
        (the pending deliveries go out again)."""
        unknown = sorted(set(changes) - {"url", "events", "enabled"})
        if unknown:
            raise InvalidInput(f"unknown field(s): {', '.join(unknown)}; send url, events, enabled")
        url = check_url(changes["url"]) if "url" in changes else None
        events = parse_events(changes["events"]) if "events" in changes else None
        enabled = changes.get("enabled")
        if "enabled" in changes and not isinstance(enabled, bool):
            raise InvalidInput("enabled must be true or false")
        now = self._core.clock.now()

        async def work(tx: WebhooksTx) -> Webhook:
            webhook = await tx.webhooks.get_webhook(webhook_id, for_update=True)
            if webhook is None:
                raise NotFound("no such webhook")
            changed = dataclasses.replace(webhook, updated_at=now)
            if url is not None:
                changed = dataclasses.replace(changed, url=url)
            if events is not None:
                changed = dataclasses.replace(changed, events=events)
            if isinstance(enabled, bool) and enabled != webhook.enabled:
                changed = dataclasses.replace(
                    changed,
                    enabled=enabled,
                    disabled_reason="",
                    consecutive_failures=0,
                    failing_since=None,
                )
            await tx.webhooks.update_webhook(changed)
            return changed

        webhook = await self._store.transact(work)
        await self._changed(webhook.id)
        return webhook

    async def delete(self, webhook_id: WebhookId) -> None:
        async def work(tx: WebhooksTx) -> None:
            if await tx.webhooks.get_webhook(webhook_id, for_update=True) is None:
                raise NotFound("no such webhook")
            await tx.webhooks.delete_webhook(webhook_id)

        await self._store.transact(work)
        await self._changed(webhook_id)

    async def deliveries(
        self, webhook_id: WebhookId, *, limit: int = 50
    ) -> Sequence[tuple[Delivery, Sequence[Attempt]]]:
        """The newest ``limit`` deliveries with their attempts."""
        if not 1 <= limit <= MAX_LOG:
            raise InvalidInput(f"limit must be between 1 and {MAX_LOG}")

        async def work(tx: WebhooksTx) -> list[tuple[Delivery, Sequence[Attempt]]]:
            if await tx.webhooks.get_webhook(webhook_id) is None:
                raise NotFound("no such webhook")
            deliveries = await tx.webhooks.list_deliveries(webhook_id, limit=limit)
            attempts = await tx.webhooks.list_attempts([d.id for d in deliveries])
            return [(d, attempts.get(d.id, [])) for d in deliveries]

        return await self._store.read(work)

    async def _changed(self, webhook_id: WebhookId) -> None:
        """Reload here now, and tell the other processes (the bus calls this process's
        recorder too; loading twice is harmless)."""
        await self._recorder.load()
        await self._core.bus.publish([WebhooksChanged(webhook_id)])
