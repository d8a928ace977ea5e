"""Channel management: add, list, enable/disable."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Awaitable, Callable, Mapping

from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.errors import InvalidInput, NotFound
from inbox.domain.ids import ChannelId, new_id
from inbox.ports import Tx
from inbox.usecases.deps import Core, Outcome, run

__all__ = [
    "KNOWN_OPTIONS",
    "ChannelSetup",
    "add_channel",
    "get_channel",
    "list_channels",
    "set_channel_enabled",
]

#: The options each kind accepts (CONTRACT.md, "Channel options"). Unknown options are
#: refused so that a typo does not silently leave a channel misconfigured.
KNOWN_OPTIONS: Mapping[ChannelKind, frozenset[str]] = {
    ChannelKind.WEBCHAT: frozenset({"origin", "title", "greeting"}),
    ChannelKind.TELEGRAM: frozenset({"token", "api_base", "mode"}),
    ChannelKind.VK: frozenset({"token", "group_id", "secret", "confirmation", "api_base"}),
    ChannelKind.WHATSAPP: frozenset(
        {"token", "phone_number_id", "app_secret", "verify_token", "api_base", "templates"}
    ),
    ChannelKind.VIBER: frozenset({"token", "api_base", "sender_name"}),
    ChannelKind.EMAIL: frozenset(
        {
            "imap_host",
            "imap_port",
            "imap_tls",
            "smtp_host",
            "smtp_port",
            "smtp_tls",
            "username",
            "password",
            "address",
            "folder",
        }
    ),
}


ChannelSetup = Callable[[Channel], Awaitable[Mapping[str, str]]]


async def add_channel(
    core: Core,
    kind: ChannelKind,
    name: str,
    options: Mapping[str, str],
    setup: ChannelSetup | None = None,
) -> Channel:
    """Create a channel. A web chat channel gets a fresh secret that signs visitor tokens.

    ``setup`` (the adapter's, bound to the public URL) checks the options with the provider
    and registers the webhook; the options it returns (a generated webhook secret, the
    mode) are stored with the channel. It runs after the channel is stored, because some
    providers call the webhook URL while it is being registered (Viber refuses a URL that
    does not answer its check); if it raises, the channel is removed again and nothing is
    left behind."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("a channel name is 1..100 characters")
    unknown = sorted(set(options) - KNOWN_OPTIONS[kind])
    if unknown:
        allowed = ", ".join(sorted(KNOWN_OPTIONS[kind]))
        raise InvalidInput(
            f"unknown option(s) for {kind}: {', '.join(unknown)} (allowed: {allowed})"
        )
    stored = dict(options)
    if kind is ChannelKind.WEBCHAT:
        stored["visitor_secret"] = secrets.token_urlsafe(32)
    channel = Channel(
        id=ChannelId(new_id()), kind=kind, name=name, created_at=core.clock.now(), options=stored
    )

    async def work(tx: Tx) -> Outcome[Channel]:
        await tx.channels.add(channel)
        return Outcome(channel)

    await run(core, work)
    if setup is None:
        return channel
    try:
        extra = await setup(channel)
    except BaseException:

        async def remove(tx: Tx) -> Outcome[None]:
            await tx.channels.delete(channel.id)
            return Outcome(None)

        await run(core, remove)
        raise
    configured = dataclasses.replace(channel, options={**stored, **extra})

    async def save(tx: Tx) -> Outcome[Channel]:
        await tx.channels.update(configured)
        return Outcome(configured)

    return await run(core, save)


async def list_channels(core: Core) -> list[Channel]:
    async def work(tx: Tx) -> list[Channel]:
        return await tx.channels.list()

    return await core.store.read(work)


async def get_channel(core: Core, channel_id: ChannelId) -> Channel | None:
    async def work(tx: Tx) -> Channel | None:
        return await tx.channels.get(channel_id)

    return await core.store.read(work)


async def set_channel_enabled(core: Core, channel_id: ChannelId, enabled: bool) -> Channel:
    async def work(tx: Tx) -> Outcome[Channel]:
        channel = await tx.channels.get(channel_id)
        if channel is None:
            raise NotFound("no such channel")
        changed = dataclasses.replace(channel, enabled=enabled)
        await tx.channels.update(changed)
        return Outcome(changed)

    return await run(core, work)
