"""Channel management: add, list, enable/disable; and the cached read of the hot paths.

Every change here drops the channel from ``core.channel_cache`` after its commit (also
when the transaction raised: whether it committed is not known then), so this process
never answers from a row it changed itself (inbox/usecases/channel_cache.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.errors import InvalidInput, NotFound
from inbox.domain.ids import ChannelId, new_id
from inbox.ports import Tx
from inbox.usecases.deps import Core, Outcome, run

__all__ = [
    "ChannelSetup",
    "add_channel",
    "cached_channel",
    "get_channel",
    "list_channels",
    "set_channel_enabled",
]

ChannelSetup = Callable[[Channel], Awaitable[Mapping[str, str]]]

T = TypeVar("T")


async def add_channel(
    core: Core,
    kind: ChannelKind,
    name: str,
    options: Mapping[str, str],
    setup: ChannelSetup | None = None,
) -> Channel:
    """Create a channel of an installed kind (``core.channels``) with the options its spec
    allows, plus the ones the spec generates (the web chat's visitor-token secret).

    ``setup`` (the adapter's, bound to the public URL) checks the options with the provider
    and registers the webhook; the options it returns (a generated webhook secret, the
    mode) are stored with the channel. It runs after the channel is stored, because some
    providers call the webhook URL while it is being registered (Viber refuses a URL that
    does not answer its check); if it raises, the channel is removed again and nothing is
    left behind."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("a channel name is 1..100 characters")
    spec = core.channels.get(kind)
    if spec is None:
        installed = ", ".join(core.channels.kinds()) or "none"
        raise InvalidInput(f"unknown channel kind {kind!r} (installed: {installed})")
    generated = dict(spec.generate()) if spec.generate is not None else {}
    unknown = sorted(set(options) - spec.options)
    if unknown:
        allowed = ", ".join(sorted(spec.options))
        raise InvalidInput(
            f"unknown option(s) for {kind}: {', '.join(unknown)} (allowed: {allowed})"
        )
    stored = {**options, **generated}
    channel = Channel(
        id=ChannelId(new_id()), kind=kind, name=name, created_at=core.clock.now(), options=stored
    )

    async def work(tx: Tx) -> Outcome[Channel]:
        await tx.channels.add(channel)
        return Outcome(channel)

    await _change(core, channel.id, work)
    if setup is None:
        return channel
    try:
        extra = await setup(channel)
    except BaseException:

        async def remove(tx: Tx) -> Outcome[None]:
            await tx.channels.delete(channel.id)
            return Outcome(None)

        await _change(core, channel.id, remove)
        raise
    configured = dataclasses.replace(channel, options={**stored, **extra})

    async def save(tx: Tx) -> Outcome[Channel]:
        await tx.channels.update(configured)
        return Outcome(configured)

    # A webhook the provider sent during the setup may have cached the channel without
    # the options the setup returned (its webhook secret): dropped here.
    return await _change(core, channel.id, save)


async def list_channels(core: Core) -> list[Channel]:
    async def work(tx: Tx) -> list[Channel]:
        return await tx.channels.list()

    return await core.store.read(work)


async def get_channel(core: Core, channel_id: ChannelId) -> Channel | None:
    """The row as stored now (the console, the CLI, rare reads); the hot paths use
    :func:`cached_channel`."""

    async def work(tx: Tx) -> Channel | None:
        return await tx.channels.get(channel_id)

    return await core.store.read(work)


async def cached_channel(core: Core, channel_id: ChannelId) -> Channel | None:
    """The channel for one message or connection, from ``core.channel_cache``: at most
    ``ttl`` seconds old for a change made by another process, current for one made in
    this one; ``None`` (no such channel) is always read from the database."""
    return await core.channel_cache.get(channel_id, lambda: get_channel(core, channel_id))


async def set_channel_enabled(core: Core, channel_id: ChannelId, enabled: bool) -> Channel:
    async def work(tx: Tx) -> Outcome[Channel]:
        channel = await tx.channels.get(channel_id)
        if channel is None:
            raise NotFound("no such channel")
        changed = dataclasses.replace(channel, enabled=enabled)
        await tx.channels.update(changed)
        return Outcome(changed)

    return await _change(core, channel_id, work)


async def _change(
    core: Core, channel_id: ChannelId, work: Callable[[Tx], Awaitable[Outcome[T]]]
) -> T:
    """``run`` a change of one channel, then drop it from this process's cache."""
    try:
        return await run(core, work)
    finally:
        core.channel_cache.forget(channel_id)
