"""The dependencies every use case takes: built once by the composition root."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from inbox.domain.channel_spec import ChannelCatalog
from inbox.domain.clock import Clock
from inbox.domain.events import Event
from inbox.ports import EventBus, IntakePolicy, QueueRestrictionSource, Store, Tx
from inbox.usecases.admission import Admission
from inbox.usecases.channel_cache import ChannelCache
from inbox.usecases.intake import RouteEverything

__all__ = ["Core", "Outcome", "run"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Core:
    """``intake`` decides who takes a new or reopened conversation (a bot flow or
    routing); the default sends everything to routing. ``channels`` are the installed
    channel kinds' declarations (options, secrets, reply window, threading), collected by
    the root; empty for a core without channels. ``restrictions`` tells which queues hide
    their waiting conversations from whom (routing's, given by the root); ``None``: no
    queue restricts visibility. ``admission`` bounds the inbound messages in flight to the
    durable write (back-pressure, docs/reliability.md); the default has no bound.
    ``channel_cache`` keeps channel rows read on the hot paths for a short while
    (:func:`~inbox.usecases.channels.cached_channel`); one per process, shared by every
    copy of the core, so that this process's channel changes drop its entries at once."""

    store: Store
    bus: EventBus
    clock: Clock
    intake: IntakePolicy = field(default_factory=RouteEverything)
    channels: ChannelCatalog = field(default_factory=ChannelCatalog)
    restrictions: QueueRestrictionSource | None = None
    admission: Admission = field(default_factory=Admission)
    channel_cache: ChannelCache = field(default_factory=ChannelCache)


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """What a transaction produced: its result and the events to publish after commit."""

    value: T
    events: Sequence[Event] = ()


async def run(core: Core, work: Callable[[Tx], Awaitable[Outcome[T]]]) -> T:
    """Run ``work`` in a (possibly batched) transaction, then publish its events.

    Events go out only after the commit: a subscriber never sees a change that could
    still roll back.
    """
    outcome = await core.store.transact(work)
    if outcome.events:
        await core.bus.publish(outcome.events)
    return outcome.value
