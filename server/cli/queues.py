"""``inbox queue add | update | list`` (CONTRACT.md, docs/routing.md): routing queues as
JSON, through the routing service's own queue commands (so the checks are the API's)."""

from __future__ import annotations

import argparse
from typing import Any

from server.cli import grammar
from server.cli.common import CLI_ADMIN, print_json, run_async, with_wiring
from server.config import Settings
from server.wiring import Wiring

__all__ = ["queue_settings", "register"]


def register(sub: Any) -> None:
    """Add ``queue`` and its actions to the top parser's subcommands ``sub``."""
    qu = sub.add_parser("queue", help="manage routing queues").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    for verb in ("add", "update"):
        q = qu.add_parser(verb, help=f"{verb} a queue; prints it as JSON")
        q.add_argument("name", help="the queue's name (update: its name or id)")
        _queue_options(q, update=verb == "update")
        q.set_defaults(handler=run_async(_save))
    qu.add_parser("list", help="queues as JSON lines, with live numbers").set_defaults(
        handler=run_async(_list)
    )


def _queue_options(q: argparse.ArgumentParser, *, update: bool) -> None:
    q.add_argument("--channels", help="channel ids that feed the queue, comma separated")
    q.add_argument("--members", help="operator logins, comma separated (round-robin order)")
    q.add_argument("--skills", help="required skills: a,b or a=3,b (levels 1..10)")
    q.add_argument("--strategy", help="least-loaded|longest-idle|round-robin|ring-all")
    q.add_argument(
        "--accept-timeout", type=float, help="offer with this many seconds to accept; 0: assign"
    )
    q.add_argument(
        "--escalation",
        action="append",
        metavar="AFTER:TARGET",
        help="a step (repeat in order): 0:last, 60:lenses=3, 120:any, 600:overflow=QUEUE",
    )
    q.add_argument(
        "--sla",
        action="append",
        metavar="PRIORITY:FIRST/RESOLUTION",
        help="SLA targets in seconds for a priority and above, e.g. 0:300/86400 (- for none)",
    )
    q.add_argument("--sla-warning", type=float, help="warn the assignee this long before")
    q.add_argument("--response-timeout", type=float, help="seconds for the assignee to answer")
    q.add_argument("--response-action", choices=["reoffer", "alert"])
    q.add_argument("--pick", action=argparse.BooleanOptionalAction, default=None)
    q.add_argument(
        "--visible-to",
        choices=["everyone", "members"],
        help="who sees its waiting conversations: every operator, or its members only",
    )
    q.add_argument(
        "--priority",
        action="append",
        metavar="RULE=BONUS",
        help="returning=5, unpaid_order=3, tag:vip=10",
    )
    q.add_argument("--position-interval", type=float, help="queue position updates; 0: off")
    q.add_argument("--language", choices=["en", "ru"], help="language of position messages")
    q.add_argument("--alert-telegram", metavar="CHANNEL_ID:CHAT_ID")
    q.add_argument("--default", action=argparse.BooleanOptionalAction, default=None)
    if update:
        q.add_argument("--rename", help="a new name")


def queue_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings document from the flags that were given (docs/routing.md); flags not
    given are left out, so ``update`` keeps what the queue had. Raises ``UsageError``."""
    out: dict[str, Any] = {}
    if args.channels is not None:
        out["channels"] = grammar.csv(args.channels)
    if args.members is not None:
        out["members"] = grammar.csv(args.members)
    if args.skills is not None:
        out["skills"] = grammar.skills(args.skills)
    if args.strategy is not None:
        out["strategy"] = args.strategy.replace("-", "_")
    if args.accept_timeout is not None:
        out["accept_timeout"] = args.accept_timeout or None
    if args.escalation is not None:
        out["escalation"] = [grammar.escalation_step(spec) for spec in args.escalation]
    if args.sla is not None:
        out["sla"] = dict(grammar.sla_target(spec) for spec in args.sla)
    if args.sla_warning is not None:
        out["sla_warning_before"] = args.sla_warning
    if args.response_timeout is not None:
        out["response_timeout"] = args.response_timeout or None
    if args.response_action is not None:
        out["response_action"] = args.response_action
    if args.pick is not None:
        out["allow_pick"] = args.pick
    if args.visible_to is not None:
        out["visible_to"] = args.visible_to
    if args.priority is not None:
        out["priority"] = [grammar.priority_rule(spec) for spec in args.priority]
    if args.position_interval is not None or args.language is not None:
        # --language alone keeps the default interval of 180 s; --position-interval 0: off.
        position: dict[str, Any] = {"interval": args.position_interval or None}
        if args.position_interval is None:
            position["interval"] = 180
        if args.language is not None:
            position["language"] = args.language
        out["position"] = position
    if args.alert_telegram is not None:
        out["alert_telegram"] = grammar.alert_target(args.alert_telegram)
    return out


async def _list(settings: Settings, args: argparse.Namespace) -> int:
    async def listing(wiring: Wiring) -> list[dict[str, object]]:
        return await wiring.router.list_queues(CLI_ADMIN)

    for queue in await with_wiring(settings, listing):
        print_json(queue)
    return 0


async def _save(settings: Settings, args: argparse.Namespace) -> int:
    changes = queue_settings(args)  # bad flags exit 2 before the database is touched

    async def save(wiring: Wiring) -> dict[str, object]:
        return await wiring.router.save_queue(
            CLI_ADMIN,
            args.name,
            changes,
            create=args.action == "add",
            is_default=args.default,
            new_name=getattr(args, "rename", None),
        )

    print_json(await with_wiring(settings, save))
    return 0
