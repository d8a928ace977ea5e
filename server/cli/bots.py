"""``inbox hours set | show`` and ``inbox bot set | show`` (CONTRACT.md, "Business hours,
the bot and CSAT"; docs/bots.md). QUEUE is a routing queue's name or id, or ``default``
(the whole inbox). Bad input exits non-zero with a message and changes nothing.

A running server reads what these commands save within its sweep interval (30 s); the
REST routes take effect at once."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bots import Scope, settings_view
from bots.flow import parse_flow
from bots.hours import parse_schedule, schedule_to_json, status
from inbox.domain.errors import InvalidInput
from server.bots import scope_named
from server.cli.common import print_json, run_async, with_wiring
from server.config import Settings
from server.wiring import Wiring
from storage.repositories.tx import SqlTx

__all__ = ["register"]

#: A flow file larger than this is refused before it is read.
MAX_FLOW_BYTES = 1 << 20


def register(sub: Any) -> None:
    """Add ``hours`` and ``bot`` to the top parser's subcommands ``sub``."""
    hours = sub.add_parser("hours", help="business hours per queue").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    hs = hours.add_parser("set", help="set a queue's hours; prints them as JSON")
    hs.add_argument("queue", help="a queue's name or id, or default (the whole inbox)")
    hs.add_argument("--tz", required=True, help="an IANA time zone, e.g. Europe/Moscow")
    hs.add_argument(
        "--week", required=True, help='e.g. "mon-fri 09:00-13:00,14:00-20:00; sat 10:00-16:00"'
    )
    hs.add_argument("--holiday", action="append", default=[], metavar="YYYY-MM-DD[..YYYY-MM-DD]")
    hs.add_argument("--open", action="append", default=[], metavar="YYYY-MM-DD=HH:MM-HH:MM")
    hs.set_defaults(handler=run_async(_hours_set))
    hw = hours.add_parser("show", help="a queue's hours with open_now, next_open, closes_at")
    hw.add_argument("queue", nargs="?", default="default")
    hw.set_defaults(handler=run_async(_hours_show))

    bot = sub.add_parser("bot", help="the bot flow per queue").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    bs = bot.add_parser("set", help="set a queue's bot flow from a YAML or JSON file")
    bs.add_argument("queue", help="a queue's name or id, or default (the whole inbox)")
    bs.add_argument("--file", required=True, type=Path, metavar="FLOW.yaml")
    bs.set_defaults(handler=run_async(_bot_set))
    bw = bot.add_parser("show", help="a queue's bot flow as JSON")
    bw.add_argument("queue", nargs="?", default="default")
    bw.set_defaults(handler=run_async(_bot_show))


async def _scope(wiring: Wiring, name: str) -> Scope:
    async def work(tx: SqlTx) -> Scope:
        return await scope_named(tx, name)

    return await wiring.store.read(work)


async def _hours_set(settings: Settings, args: argparse.Namespace) -> int:
    # Parsed before anything is opened: bad input changes nothing.
    schedule = parse_schedule(args.tz, args.week, args.holiday, args.open)

    async def run(wiring: Wiring) -> dict[str, Any]:
        scope = await _scope(wiring, args.queue)
        await wiring.bots.settings.save_hours(scope, schedule)
        return {"queue": args.queue, "scope": scope, **schedule_to_json(schedule)}

    print_json(await with_wiring(settings, run))
    return 0


async def _hours_show(settings: Settings, args: argparse.Namespace) -> int:
    async def run(wiring: Wiring) -> dict[str, Any]:
        scope = await _scope(wiring, args.queue)
        found = wiring.bots.settings.settings_for(scope).hours
        now = wiring.core.clock.now()
        if found is None:
            return {
                "queue": args.queue,
                "scope": scope,
                "hours": None,
                "open_now": True,
                "next_open": None,
                "closes_at": None,
            }
        return {
            "queue": args.queue,
            "scope": scope,
            **schedule_to_json(found),
            **status(found, now),
        }

    print_json(await with_wiring(settings, run))
    return 0


def _read_flow_file(path: Path) -> str:
    """The file's text; :class:`InvalidInput` when it cannot be read, is too large or is
    not UTF-8 (before anything is opened: bad input changes nothing)."""
    try:
        if path.stat().st_size > MAX_FLOW_BYTES:
            raise InvalidInput(f"{path}: a flow file is at most 1 MiB")
        return path.read_text("utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path} is not UTF-8 text") from exc


async def _bot_set(settings: Settings, args: argparse.Namespace) -> int:
    flow = parse_flow(_read_flow_file(args.file))

    async def run(wiring: Wiring) -> dict[str, Any]:
        scope = await _scope(wiring, args.queue)
        saved = await wiring.bots.settings.save_flow(scope, flow)
        return {"queue": args.queue, "scope": scope, **settings_view(saved)}

    print_json(await with_wiring(settings, run))
    return 0


async def _bot_show(settings: Settings, args: argparse.Namespace) -> int:
    async def run(wiring: Wiring) -> dict[str, Any]:
        scope = await _scope(wiring, args.queue)
        return {
            "queue": args.queue,
            "scope": scope,
            **settings_view(wiring.bots.settings.stored(scope)),
        }

    print_json(await with_wiring(settings, run))
    return 0
