"""``inbox report summary | breakdown | hours`` (docs/reports.md): the reports of the REST
API, printed as JSON (one line) or, with ``--csv``, as the same CSV. The command line
reads them with the machine owner's authority."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from reports import ReportQuery, hours_csv, parse_group, rows_csv
from server.cli.common import CLI_ADMIN, print_json, run_async, with_wiring
from server.config import Settings
from server.wiring import Wiring

__all__ = ["register"]


def _period_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="first", required=True, metavar="YYYY-MM-DD")
    p.add_argument("--to", dest="last", required=True, metavar="YYYY-MM-DD")
    p.add_argument("--tz", help="IANA zone of the dates (default: the inbox's hours, else UTC)")
    p.add_argument("--channel", metavar="CHANNEL_ID")
    p.add_argument("--queue", metavar="QUEUE_ID")
    p.add_argument("--operator", metavar="OPERATOR_ID")
    p.add_argument("--tag")
    p.add_argument("--csv", action="store_true", help="CSV instead of JSON")


def register(sub: Any) -> None:
    report = sub.add_parser("report", help="reports for a period").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    summary = report.add_parser("summary", help="every figure of the period")
    _period_flags(summary)
    summary.set_defaults(handler=run_async(_summary))
    breakdown = report.add_parser("breakdown", help="the figures per channel, queue, ...")
    _period_flags(breakdown)
    breakdown.add_argument("--by", required=True, choices=["channel", "queue", "operator", "tag"])
    breakdown.set_defaults(handler=run_async(_breakdown))
    heat = report.add_parser("hours", help="requests per weekday and hour")
    _period_flags(heat)
    heat.set_defaults(handler=run_async(_hours))


def _query(args: argparse.Namespace) -> ReportQuery:
    return ReportQuery(
        args.first, args.last, args.tz, args.channel, args.queue, args.operator, args.tag
    )


async def _summary(settings: Settings, args: argparse.Namespace) -> int:
    async def go(w: Wiring) -> dict[str, Any]:
        return await w.reports.summary(CLI_ADMIN, _query(args))

    report = await with_wiring(settings, go)
    if args.csv:
        sys.stdout.write(rows_csv([report]))
    else:
        print_json(report)
    return 0


async def _breakdown(settings: Settings, args: argparse.Namespace) -> int:
    by = parse_group(args.by)

    async def go(w: Wiring) -> dict[str, Any]:
        return await w.reports.breakdown(CLI_ADMIN, _query(args), by)

    report = await with_wiring(settings, go)
    if args.csv:
        sys.stdout.write(rows_csv(report["rows"], ("group", "name")))
    else:
        print_json(report)
    return 0


async def _hours(settings: Settings, args: argparse.Namespace) -> int:
    async def go(w: Wiring) -> dict[str, Any]:
        return await w.reports.hours(CLI_ADMIN, _query(args))

    report = await with_wiring(settings, go)
    if args.csv:
        sys.stdout.write(hours_csv(report))
    else:
        print_json(report)
    return 0
