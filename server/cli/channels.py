"""``inbox channel add | list | enable | disable`` (CONTRACT.md): channels as JSON, secrets
masked, with the URL the provider or the customer's page connects to."""

from __future__ import annotations

import argparse
from typing import Any

from inbox.domain.channels import ChannelKind
from inbox.domain.ids import ChannelId
from inbox.usecases import list_channels, set_channel_enabled
from server.channel_admin import ChannelAdmin
from server.channels import CATALOG
from server.cli import grammar
from server.cli.common import print_json, run_async, with_wiring
from server.config import Settings
from server.wiring import Wiring, supported_kinds

__all__ = ["register"]


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


async def _add(settings: Settings, args: argparse.Namespace) -> int:
    kind = ChannelKind(args.kind)
    supported = supported_kinds()
    if str(kind) not in supported:
        raise grammar.UsageError(
            f"channel kind {kind} is not available in this version yet "
            f"(available: {', '.join(sorted(supported))})"
        )
    options = grammar.options(args.option)

    async def add(wiring: Wiring) -> dict[str, Any]:
        admin = ChannelAdmin(wiring.core, wiring.adapters, settings)
        return admin.view(await admin.add(str(kind), args.name, options))

    print_json(await with_wiring(settings, add))
    return 0


async def _list(settings: Settings, args: argparse.Namespace) -> int:
    async def listing(wiring: Wiring) -> list[dict[str, Any]]:
        admin = ChannelAdmin(wiring.core, wiring.adapters, settings)
        return [admin.view(c) for c in await list_channels(wiring.core)]

    for view in await with_wiring(settings, listing):
        print_json(view)
    return 0


async def _toggle(settings: Settings, args: argparse.Namespace) -> int:
    async def toggle(wiring: Wiring) -> dict[str, Any]:
        changed = await set_channel_enabled(
            wiring.core, ChannelId(args.channel_id), args.action == "enable"
        )
        return ChannelAdmin(wiring.core, wiring.adapters, settings).view(changed)

    print_json(await with_wiring(settings, toggle))
    return 0
