"""``inbox operator add | update | list`` (CONTRACT.md): operators as JSON, never with a
password or its hash."""

from __future__ import annotations

import argparse
from typing import Any

from inbox.domain.operators import Operator, Role
from inbox.domain.views import operator_view
from inbox.usecases import add_operator, list_operators, update_operator
from server.cli import grammar
from server.cli.common import CLI_ADMIN, print_json, run_async, with_wiring
from server.config import Settings
from server.wiring import Wiring

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add ``operator`` and its actions to the top parser's subcommands ``sub``."""
    op = sub.add_parser("operator", help="manage operators").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    add = op.add_parser("add", help="create an operator; prints it as JSON")
    add.add_argument("login")
    add.add_argument("--password", required=True)
    add.add_argument("--name", default="")
    add.add_argument("--role", choices=[r.value for r in Role], default=Role.OPERATOR.value)
    add.add_argument("--skills", default="", help="a,b or a=3,b (levels 1..10)")
    add.add_argument("--capacity", type=int, default=5)
    add.set_defaults(handler=run_async(_add))
    upd = op.add_parser("update", help="change an operator's skills, capacity, name, role")
    upd.add_argument("login")
    upd.add_argument("--skills", help="replaces the skills: a,b or a=3,b (levels 1..10)")
    upd.add_argument("--capacity", type=int)
    upd.add_argument("--name")
    upd.add_argument("--role", choices=[r.value for r in Role])
    upd.add_argument("--disabled", action=argparse.BooleanOptionalAction, default=None)
    upd.set_defaults(handler=run_async(_update))
    op.add_parser("list", help="operators as JSON lines").set_defaults(handler=run_async(_list))


async def _add(settings: Settings, args: argparse.Namespace) -> int:
    skills = grammar.skills(args.skills)  # bad input writes nothing

    async def add(wiring: Wiring) -> Operator:
        return await add_operator(
            wiring.core,
            wiring.hasher,
            login=args.login,
            password=args.password,
            display_name=args.name,
            role=Role(args.role),
            skills=skills,
            capacity=args.capacity,
        )

    print_json(operator_view(await with_wiring(settings, add)))
    return 0


async def _update(settings: Settings, args: argparse.Namespace) -> int:
    skills = grammar.skills(args.skills) if args.skills is not None else None

    async def change(wiring: Wiring) -> Operator:
        return await update_operator(
            wiring.core,
            CLI_ADMIN,
            args.login,
            skills=skills,
            capacity=args.capacity,
            display_name=args.name,
            role=Role(args.role) if args.role else None,
            disabled=args.disabled,
        )

    print_json(operator_view(await with_wiring(settings, change)))
    return 0


async def _list(settings: Settings, args: argparse.Namespace) -> int:
    async def listing(wiring: Wiring) -> list[Operator]:
        return await list_operators(wiring.core)

    for operator in await with_wiring(settings, listing):
        print_json(operator_view(operator))
    return 0
