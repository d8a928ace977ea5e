"""``inbox payment add | list`` and ``inbox order add | list | status | link`` (CONTRACT.md,
"Orders and payments"; docs/payments.md). Orders are made with the command line's admin
authority; money is a decimal string."""

from __future__ import annotations

import argparse
from typing import Any

from inbox.domain.ids import ConversationId
from payments.records import OrderId, ProviderId
from payments.views import order_view
from server.cli import grammar
from server.cli.common import CLI_ADMIN, print_json, run_async, with_wiring
from server.config import Settings
from server.wiring import Wiring

__all__ = ["parse_line", "register"]


def register(sub: Any) -> None:
    pay = sub.add_parser("payment", help="payment providers").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    add = pay.add_parser("add", help="add a provider; prints it with its webhook URL")
    add.add_argument("provider", choices=["sandbox", "yookassa", "stripe"])
    add.add_argument("name")
    add.add_argument("--option", action="append", default=[], metavar="KEY=VALUE")
    add.set_defaults(handler=run_async(_provider_add))
    pay.add_parser("list", help="providers as JSON lines").set_defaults(
        handler=run_async(_provider_list)
    )

    order = sub.add_parser("order", help="orders").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    oa = order.add_parser("add", help="an order in a conversation; prints it as JSON")
    oa.add_argument("conversation_id")
    oa.add_argument("--currency", default="RUB")
    oa.add_argument(
        "--line",
        action="append",
        required=True,
        metavar="NAME;QUANTITY;PRICE[;SKU]",
        help='e.g. "Acuvue Oasys;2;1725.00;AO-6" (repeat for each line)',
    )
    oa.add_argument("--external-id")
    oa.set_defaults(handler=run_async(_order_add))
    ol = order.add_parser("list", help="orders as JSON lines, newest first")
    ol.add_argument("--conversation")
    ol.set_defaults(handler=run_async(_order_list))
    os_ = order.add_parser("status", help="shipped, delivered, cancelled or draft")
    os_.add_argument("order_id")
    os_.add_argument("status")
    os_.add_argument("--tracking")
    os_.set_defaults(handler=run_async(_order_status))
    ok = order.add_parser("link", help="send the order's payment link to the customer")
    ok.add_argument("order_id")
    ok.add_argument("--provider", required=True, metavar="PROVIDER_ID")
    ok.set_defaults(handler=run_async(_order_link))


def parse_line(spec: str) -> dict[str, Any]:
    """``NAME;QUANTITY;PRICE[;SKU]`` → a line for the service (which checks the values)."""
    parts = [p.strip() for p in spec.split(";")]
    if len(parts) not in (3, 4) or not parts[0]:
        raise grammar.UsageError(f"--line takes NAME;QUANTITY;PRICE[;SKU], got {spec!r}")
    try:
        quantity = int(parts[1])
    except ValueError as exc:
        raise grammar.UsageError(f"the quantity in {spec!r} is not a whole number") from exc
    line: dict[str, Any] = {"name": parts[0], "quantity": quantity, "unit_price": parts[2]}
    if len(parts) == 4 and parts[3]:
        line["sku"] = parts[3]
    return line


async def _provider_add(settings: Settings, args: argparse.Namespace) -> int:
    options = grammar.options(args.option)

    async def run(wiring: Wiring) -> dict[str, Any]:
        record = await wiring.payments.add_provider(args.provider, args.name, options)
        return wiring.payments.provider_view(record)

    print_json(await with_wiring(settings, run))
    return 0


async def _provider_list(settings: Settings, args: argparse.Namespace) -> int:
    async def run(wiring: Wiring) -> list[dict[str, Any]]:
        return [wiring.payments.provider_view(p) for p in await wiring.payments.list_providers()]

    for view in await with_wiring(settings, run):
        print_json(view)
    return 0


async def _order_add(settings: Settings, args: argparse.Namespace) -> int:
    body: dict[str, Any] = {
        "currency": args.currency,
        "lines": [parse_line(spec) for spec in args.line],
    }
    if args.external_id:
        body["external_id"] = args.external_id

    async def run(wiring: Wiring) -> dict[str, Any]:
        order = await wiring.payments.create_order(
            CLI_ADMIN, ConversationId(args.conversation_id), body
        )
        return order_view(order)

    print_json(await with_wiring(settings, run))
    return 0


async def _order_list(settings: Settings, args: argparse.Namespace) -> int:
    async def run(wiring: Wiring) -> list[dict[str, Any]]:
        conversation = ConversationId(args.conversation) if args.conversation else None
        return [order_view(o) for o in await wiring.payments.list_orders(CLI_ADMIN, conversation)]

    for view in await with_wiring(settings, run):
        print_json(view)
    return 0


async def _order_status(settings: Settings, args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"status": args.status}
    if args.tracking is not None:
        body["tracking_number"] = args.tracking

    async def run(wiring: Wiring) -> dict[str, Any]:
        order = await wiring.payments.update_order(CLI_ADMIN, OrderId(args.order_id), body)
        return order_view(order)

    print_json(await with_wiring(settings, run))
    return 0


async def _order_link(settings: Settings, args: argparse.Namespace) -> int:
    async def run(wiring: Wiring) -> dict[str, Any]:
        order = await wiring.payments.send_payment_link(
            CLI_ADMIN, OrderId(args.order_id), ProviderId(args.provider)
        )
        return order_view(order)

    print_json(await with_wiring(settings, run))
    return 0
