"""The scopes' business hours and bot flows, kept in memory: the intake policy and the bot
read them on every new conversation and message, so they are parsed once, when loaded or
saved, never per message. Saving publishes ``BotSettingsChanged`` so that other processes
reload (the running service's sweep reloads too, for what the command line saved)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any, Literal

from bots.events import BotSettingsChanged
from bots.faq import FaqMatcher
from bots.flow import BotFlow, flow_from_json, flow_to_json
from bots.hours import Schedule, schedule_from_json, schedule_to_json
from bots.ports import BotsStore, BotsTx
from bots.records import DEFAULT_SCOPE, Scope, ScopeRecord
from inbox.usecases import Core

__all__ = ["BotSettings", "ScopeSettings", "settings_view"]

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class ScopeSettings:
    """A scope's settings as the service uses them (parsed once, when loaded)."""

    scope: Scope
    hours: Schedule | None = None
    flow: BotFlow | None = None
    matcher: FaqMatcher | None = None


class BotSettings:
    def __init__(self, core: Core, store: BotsStore) -> None:
        self._core = core
        self._store = store
        self._scopes: dict[Scope, ScopeSettings] = {}

    async def load(self) -> None:
        """Read every scope's settings into memory (at start and when another process
        saved some). A stored document that no longer parses is logged and skipped."""

        async def work(tx: BotsTx) -> list[ScopeRecord]:
            return await tx.bots.list_scopes()

        loaded: dict[Scope, ScopeSettings] = {}
        for record in await self._store.read(work):
            try:
                loaded[record.scope] = _parse(record)
            except Exception:
                logger.exception("the stored bot settings of scope %s do not parse", record.scope)
        self._scopes = loaded

    def settings_for(self, scope: Scope | None) -> ScopeSettings:
        """The scope's settings, each part falling back to the whole inbox's."""
        default = self._scopes.get(DEFAULT_SCOPE, ScopeSettings(DEFAULT_SCOPE))
        own = self._scopes.get(scope) if scope is not None else None
        if own is None:
            return default
        flow, matcher = (own.flow, own.matcher) if own.flow else (default.flow, default.matcher)
        return ScopeSettings(own.scope, own.hours or default.hours, flow, matcher)

    def all_settings(self) -> list[ScopeSettings]:
        """Every scope with settings of its own, by scope."""
        return [self._scopes[s] for s in sorted(self._scopes)]

    def stored(self, scope: Scope) -> ScopeSettings | None:
        """The scope's own settings, without the fallback (for ``show``)."""
        return self._scopes.get(scope)

    async def save_hours(self, scope: Scope, hours: Schedule | None) -> ScopeSettings:
        """Set (or, with ``None``, remove) the scope's own hours."""
        document = schedule_to_json(hours) if hours is not None else None
        return await self._save(scope, "hours", document)

    async def save_flow(self, scope: Scope, flow: BotFlow | None) -> ScopeSettings:
        """Set (or, with ``None``, remove) the scope's own flow."""
        return await self._save(scope, "flow", flow_to_json(flow) if flow is not None else None)

    async def _save(
        self, scope: Scope, part: Literal["hours", "flow"], document: Mapping[str, Any] | None
    ) -> ScopeSettings:
        now = self._core.clock.now()

        async def work(tx: BotsTx) -> ScopeRecord:
            record = await tx.bots.get_scope(scope) or ScopeRecord(scope, now)
            if part == "hours":
                record = dataclasses.replace(record, updated_at=now, hours=document)
            else:
                record = dataclasses.replace(record, updated_at=now, flow=document)
            await tx.bots.put_scope(record)
            return record

        parsed = _parse(await self._store.transact(work))
        self._scopes[scope] = parsed
        await self._core.bus.publish([BotSettingsChanged(str(scope))])
        return parsed


def _parse(record: ScopeRecord) -> ScopeSettings:
    hours = schedule_from_json(record.hours) if record.hours is not None else None
    flow = flow_from_json(record.flow) if record.flow is not None else None
    matcher = FaqMatcher(flow.faq, flow.language) if flow is not None else None
    return ScopeSettings(record.scope, hours, flow, matcher)


def settings_view(settings: ScopeSettings | None) -> Mapping[str, object]:
    """JSON of a scope's own settings (``None`` parts where it has none)."""
    if settings is None:
        return {"hours": None, "flow": None}
    return {
        "hours": schedule_to_json(settings.hours) if settings.hours else None,
        "flow": flow_to_json(settings.flow) if settings.flow else None,
    }
