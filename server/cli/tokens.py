"""``inbox token add NAME --scope SCOPE[,SCOPE]``, ``inbox token list``, ``inbox token
revoke ID`` (CONTRACT.md, "Accounts, tokens, reports and integrations"; docs/api.md).

``add`` prints ``{"id", "token"}`` once: only a hash of the token is stored."""

from __future__ import annotations

import argparse
from typing import Any

from inbox.domain.api_tokens import SCOPES
from inbox.usecases.api_tokens import create_api_token, list_api_tokens, revoke_api_token
from operator_ws.rest.tokens import token_view
from server.cli.common import CLI_ADMIN, print_json, run_async, with_wiring
from server.config import Settings
from server.wiring import Wiring

__all__ = ["register"]


def register(sub: Any) -> None:
    token = sub.add_parser("token", help="API tokens for machine clients").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    add = token.add_parser("add", help='create a token; prints {"id", "token"} once')
    add.add_argument("name")
    add.add_argument(
        "--scope",
        required=True,
        metavar="SCOPE[,SCOPE]",
        help="one or more of: " + ", ".join(sorted(SCOPES)),
    )
    add.set_defaults(handler=run_async(_add))
    token.add_parser("list", help="tokens as JSON lines (no secrets)").set_defaults(
        handler=run_async(_list)
    )
    revoke = token.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("id")
    revoke.set_defaults(handler=run_async(_revoke))


async def _add(settings: Settings, args: argparse.Namespace) -> int:
    async def run(wiring: Wiring) -> dict[str, Any]:
        token, secret = await create_api_token(wiring.core, CLI_ADMIN, args.name, args.scope)
        return {"id": token.id, "token": secret}

    print_json(await with_wiring(settings, run))
    return 0


async def _list(settings: Settings, args: argparse.Namespace) -> int:
    async def run(wiring: Wiring) -> list[dict[str, Any]]:
        return [token_view(t) for t in await list_api_tokens(wiring.core, CLI_ADMIN)]

    for view in await with_wiring(settings, run):
        print_json(view)
    return 0


async def _revoke(settings: Settings, args: argparse.Namespace) -> int:
    async def run(wiring: Wiring) -> dict[str, Any]:
        return token_view(await revoke_api_token(wiring.core, CLI_ADMIN, args.id))

    print_json(await with_wiring(settings, run))
    return 0
