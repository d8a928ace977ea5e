"""``inbox serve``, ``inbox demo`` and ``inbox migrate`` (CONTRACT.md): run the server
(``demo`` seeds the demo data first) or bring the database to the newest schema."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from aiohttp import web

from server.access_log import InboxAccessLogger
from server.app import create_app
from server.cli.common import run_async, with_wiring
from server.cli.demo import prepare_demo
from server.cli.grammar import UsageError
from server.config import Settings
from storage import migrate

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add ``serve``, ``demo`` and ``migrate`` to the top parser's subcommands ``sub``."""
    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(handler=_serve)

    demo = sub.add_parser("demo", help="serve with demo operators, channel and a conversation")
    demo.add_argument("--host")
    demo.add_argument("--port", type=int)
    demo.set_defaults(handler=_demo)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(
        handler=run_async(_migrate)
    )


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    return _run_server(settings, args, demo=False)


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    return _run_server(settings, args, demo=True)


def _run_server(settings: Settings, args: argparse.Namespace, *, demo: bool) -> int:
    """Serve until interrupted; the application owns and stops everything it started."""
    host = args.host or settings.host
    port = args.port or settings.port
    if not 0 < port < 65536:
        raise UsageError("--port must be 1..65535")
    if demo:
        asyncio.run(with_wiring(settings, lambda wiring: prepare_demo(wiring, host, port)))
    web.run_app(
        create_app(settings),
        host=host,
        port=port,
        print=None,
        access_log_class=InboxAccessLogger.configure(settings.access_log),
    )
    return 0


async def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    await migrate(settings.database_url)
    print("database is up to date")
    return 0
