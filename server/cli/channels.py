"""``inbox channel add | list | enable | disable`` (CONTRACT.md): channels as JSON, secrets
masked, with the URL the provider or the customer's page connects to."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from channels.webchat.spec import KIND as WEBCHAT
from inbox.domain.channel_errors import ChannelError
from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.errors import DomainError
from inbox.domain.ids import ChannelId
from inbox.usecases import add_channel, list_channels, set_channel_enabled
from server.channels import CATALOG
from server.cli import grammar
from server.cli.common import print_json, run_async, with_wiring
from server.config import Settings
from server.wiring import Wiring, supported_kinds

__all__ = ["channel_json", "register"]


def register(sub: Any) -> None:
    """Add ``channel`` and its actions to the top parser's subcommands ``sub``."""
    ch = sub.add_parser("channel", help="manage channels").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    cadd = ch.add_parser("add", help="create a channel; prints it as JSON")
    cadd.add_argument("kind", choices=CATALOG.kinds())
    cadd.add_argument("name")
    cadd.add_argument("--option", action="append", default=[], metavar="KEY=VALUE")
    cadd.set_defaults(handler=run_async(_add))
    ch.add_parser("list", help="channels as JSON lines").set_defaults(handler=run_async(_list))
    for verb in ("enable", "disable"):
        c = ch.add_parser(verb, help=f"{verb} a channel")
        c.add_argument("channel_id")
        c.set_defaults(handler=run_async(_toggle))


def channel_json(channel: Channel, settings: Settings) -> dict[str, Any]:
    """The channel's public view plus, for the web chat, its WebSocket URL and the embed
    snippet, else its webhook URL -- on ``public_url``, or on ``host:port`` without one."""
    view = CATALOG.public_view(channel)
    base = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    if channel.kind == WEBCHAT:
        ws_base = base.replace("https://", "wss://").replace("http://", "ws://")
        view["websocket_url"] = f"{ws_base}/ws/webchat/{channel.id}"
        view["embed"] = (
            f'<script src="{base}/widget.js" data-channel="{channel.id}" async></script>'
        )
    else:
        view["webhook_url"] = f"{base}/webhooks/{channel.kind}/{channel.id}"
    return view


async def _add(settings: Settings, args: argparse.Namespace) -> int:
    kind = ChannelKind(args.kind)
    supported = supported_kinds()
    if str(kind) not in supported:
        raise grammar.UsageError(
            f"channel kind {kind} is not available in this version yet "
            f"(available: {', '.join(sorted(supported))})"
        )
    options = grammar.options(args.option)

    async def add(wiring: Wiring) -> Channel:
        spec = wiring.core.channels.get(kind)
        if spec is None or not spec.needs_adapter:
            return await add_channel(wiring.core, kind, args.name, options)
        adapter = wiring.adapters[str(kind)]

        async def setup(channel: Channel) -> Mapping[str, str]:
            try:
                return await adapter.setup(channel, settings.public_url or None)
            except ChannelError as exc:
                raise DomainError(f"the provider refused the set-up: {exc.reason}") from exc

        return await add_channel(wiring.core, kind, args.name, options, setup)

    print_json(channel_json(await with_wiring(settings, add), settings))
    return 0


async def _list(settings: Settings, args: argparse.Namespace) -> int:
    async def listing(wiring: Wiring) -> list[Channel]:
        return await list_channels(wiring.core)

    for channel in await with_wiring(settings, listing):
        print_json(channel_json(channel, settings))
    return 0


async def _toggle(settings: Settings, args: argparse.Namespace) -> int:
    async def toggle(wiring: Wiring) -> Channel:
        return await set_channel_enabled(
            wiring.core, ChannelId(args.channel_id), args.action == "enable"
        )

    print_json(channel_json(await with_wiring(settings, toggle), settings))
    return 0
