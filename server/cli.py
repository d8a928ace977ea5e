"""The ``inbox`` command (CONTRACT.md, "Set-up and commands").

Exit codes: 0 success, 1 the operation failed (for example a taken login), 2 bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import secrets
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from inbox.bus import InProcessEventBus
from inbox.domain.channel_errors import ChannelError
from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.clock import SystemClock
from inbox.domain.content import Text
from inbox.domain.errors import DomainError, InvalidInput
from inbox.domain.ids import ChannelId, OperatorId
from inbox.domain.messages import InboundMessage, SenderProfile
from inbox.domain.operators import Operator, Role, parse_skills
from inbox.domain.views import operator_view
from inbox.usecases import (
    Core,
    add_channel,
    add_operator,
    ingest_inbound,
    list_channels,
    list_operators,
    set_channel_enabled,
    update_operator,
)
from operator_ws import Argon2PasswordHasher
from routing import RoutingService, parse_weights
from server.app import create_app
from server.config import ConfigError, Settings, load_settings
from server.wiring import DEFAULT_ADAPTER_FACTORIES, build_adapters
from storage import FileMediaStore, migrate, open_store

__all__ = ["main"]

T = TypeVar("T")


def _supported_kinds() -> frozenset[str]:
    """Kinds this server can run: the web chat and every kind with an adapter."""
    return frozenset({str(ChannelKind.WEBCHAT), *DEFAULT_ADAPTER_FACTORIES})


DEMO_OPERATORS = (
    ("anna", "Anna Petrova", Role.OPERATOR, "ru,lenses=3"),
    ("boris", "Boris Ivanov", Role.OPERATOR, "ru,repairs=2"),
    ("sveta", "Svetlana Orlova", Role.SUPERVISOR, "ru"),
    ("admin", "Administrator", Role.ADMIN, ""),
)
DEMO_CHANNEL = "Demo shop"


class UsageError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="inbox", description="Omnichannel contact-center inbox")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)

    demo = sub.add_parser("demo", help="serve with demo operators, channel and a conversation")
    demo.add_argument("--host")
    demo.add_argument("--port", type=int)

    sub.add_parser("migrate", help="apply database migrations")

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
    upd = op.add_parser("update", help="change an operator's skills, capacity, name, role")
    upd.add_argument("login")
    upd.add_argument("--skills", help="replaces the skills: a,b or a=3,b (levels 1..10)")
    upd.add_argument("--capacity", type=int)
    upd.add_argument("--name")
    upd.add_argument("--role", choices=[r.value for r in Role])
    upd.add_argument("--disabled", action=argparse.BooleanOptionalAction, default=None)
    op.add_parser("list", help="operators as JSON lines")

    ch = sub.add_parser("channel", help="manage channels").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    cadd = ch.add_parser("add", help="create a channel; prints it as JSON")
    cadd.add_argument("kind", choices=[k.value for k in ChannelKind])
    cadd.add_argument("name")
    cadd.add_argument("--option", action="append", default=[], metavar="KEY=VALUE")
    ch.add_parser("list", help="channels as JSON lines")
    for verb in ("enable", "disable"):
        c = ch.add_parser(verb, help=f"{verb} a channel")
        c.add_argument("channel_id")

    qu = sub.add_parser("queue", help="manage routing queues").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    for verb in ("add", "update"):
        q = qu.add_parser(verb, help=f"{verb} a queue; prints it as JSON")
        q.add_argument("name", help="the queue's name (update: its name or id)")
        _queue_options(q, update=verb == "update")
    qu.add_parser("list", help="queues as JSON lines, with live numbers")
    return p


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


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _queue_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings document from the flags that were given (docs/routing.md)."""
    out: dict[str, Any] = {}
    try:
        if args.channels is not None:
            out["channels"] = _csv(args.channels)
        if args.members is not None:
            out["members"] = _csv(args.members)
        if args.skills is not None:
            out["skills"] = parse_skills(args.skills)
        if args.strategy is not None:
            out["strategy"] = args.strategy.replace("-", "_")
        if args.accept_timeout is not None:
            out["accept_timeout"] = args.accept_timeout or None
        if args.escalation is not None:
            out["escalation"] = [_step(spec) for spec in args.escalation]
        if args.sla is not None:
            out["sla"] = dict(_sla(spec) for spec in args.sla)
        if args.sla_warning is not None:
            out["sla_warning_before"] = args.sla_warning
        if args.response_timeout is not None:
            out["response_timeout"] = args.response_timeout or None
        if args.response_action is not None:
            out["response_action"] = args.response_action
        if args.pick is not None:
            out["allow_pick"] = args.pick
        if args.priority is not None:
            out["priority"] = [_priority(spec) for spec in args.priority]
        if args.position_interval is not None or args.language is not None:
            position: dict[str, Any] = {"interval": args.position_interval or None}
            if args.position_interval is None:
                position["interval"] = 180
            if args.language is not None:
                position["language"] = args.language
            out["position"] = position
        if args.alert_telegram is not None:
            channel_id, _, chat_id = args.alert_telegram.partition(":")
            if not channel_id or not chat_id:
                raise UsageError("--alert-telegram takes CHANNEL_ID:CHAT_ID")
            out["alert_telegram"] = {"channel_id": channel_id, "chat_id": chat_id}
    except DomainError as exc:
        raise UsageError(exc.message) from exc
    return out


def _step(spec: str) -> dict[str, Any]:
    after, colon, target = spec.partition(":")
    try:
        seconds = float(after)
    except ValueError:
        seconds = -1.0
    if not colon or seconds < 0:
        raise UsageError(f"--escalation takes AFTER:TARGET, got {spec!r}")
    if target == "last":
        return {"after": seconds, "target": "last_operator"}
    if target == "any":
        return {"after": seconds, "target": "any"}
    if target.startswith("overflow="):
        return {"after": seconds, "target": "overflow", "queue": target.removeprefix("overflow=")}
    return {"after": seconds, "target": "skills", "skills": parse_skills(target)}


def _sla(spec: str) -> tuple[str, dict[str, float | None]]:
    priority, colon, targets = spec.partition(":")
    first, _, resolution = targets.partition("/")
    try:
        int(priority)
        values = [None if v in ("", "-") else float(v) for v in (first, resolution)]
    except ValueError:
        values = []
    if not colon or len(values) != 2:
        raise UsageError(f"--sla takes PRIORITY:FIRST/RESOLUTION, got {spec!r}")
    return priority, {"first_response": values[0], "resolution": values[1]}


def _priority(spec: str) -> dict[str, Any]:
    rule, eq, bonus = spec.partition("=")
    try:
        value = int(bonus)
    except ValueError:
        eq = ""
    if not eq:
        raise UsageError(f"--priority takes RULE=BONUS, got {spec!r}")
    if rule.startswith("tag:"):
        return {"rule": "tag", "tag": rule.removeprefix("tag:"), "bonus": value}
    return {"rule": rule, "bonus": value}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"inbox: configuration error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command in ("serve", "demo"):
            return _serve(settings, args, demo=args.command == "demo")
        return asyncio.run(_command(settings, args))
    except UsageError as exc:
        print(f"inbox: {exc}", file=sys.stderr)
        return 2
    except InvalidInput as exc:
        print(f"inbox: {exc.message}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"inbox: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


async def _command(settings: Settings, args: argparse.Namespace) -> int:
    if args.command == "migrate":
        await migrate(settings.database_url)
        print("database is up to date")
        return 0
    if args.command == "operator" and args.action == "add":
        # Check arguments before touching the database (bad input writes nothing).
        try:
            skills = parse_skills(args.skills)
        except DomainError as exc:
            raise UsageError(exc.message) from exc

        async def add(core: Core) -> Any:
            return await add_operator(
                core,
                Argon2PasswordHasher(),
                login=args.login,
                password=args.password,
                display_name=args.name,
                role=Role(args.role),
                skills=skills,
                capacity=args.capacity,
            )

        operator = await _with_core(settings, add)
        print(json.dumps(operator_view(operator), ensure_ascii=False))
        return 0
    if args.command == "operator" and args.action == "update":
        try:
            new_skills = parse_skills(args.skills) if args.skills is not None else None
        except DomainError as exc:
            raise UsageError(exc.message) from exc

        async def change(core: Core) -> Any:
            return await update_operator(
                core,
                _CLI_ADMIN,
                args.login,
                skills=new_skills,
                capacity=args.capacity,
                display_name=args.name,
                role=Role(args.role) if args.role else None,
                disabled=args.disabled,
            )

        operator = await _with_core(settings, change)
        print(json.dumps(operator_view(operator), ensure_ascii=False))
        return 0
    if args.command == "operator" and args.action == "list":
        for operator in await _with_core(settings, list_operators):
            print(json.dumps(operator_view(operator), ensure_ascii=False))
        return 0
    if args.command == "channel":
        return await _channel_command(settings, args)
    if args.command == "queue":
        return await _queue_command(settings, args)
    raise UsageError(f"unknown command {args.command}")  # pragma: no cover - argparse


async def _channel_command(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "add":
        kind = ChannelKind(args.kind)
        supported = _supported_kinds()
        if str(kind) not in supported:
            raise UsageError(
                f"channel kind {kind} is not available in this version yet "
                f"(available: {', '.join(sorted(supported))})"
            )
        options: dict[str, str] = {}
        for item in args.option:
            key, eq, value = item.partition("=")
            if not eq or not key.strip():
                raise UsageError(f"--option takes KEY=VALUE, got {item!r}")
            options[key.strip()] = value

        async def add(core: Core) -> Channel:
            if kind is ChannelKind.WEBCHAT:
                return await add_channel(core, kind, args.name, options)
            adapters = build_adapters(settings, FileMediaStore(settings.data_dir), core.clock)
            adapter = adapters[str(kind)]

            async def setup(channel: Channel) -> Mapping[str, str]:
                try:
                    return await adapter.setup(channel, settings.public_url or None)
                except ChannelError as exc:
                    raise DomainError(f"the provider refused the set-up: {exc.reason}") from exc

            try:
                return await add_channel(core, kind, args.name, options, setup)
            finally:
                close = getattr(adapter, "close", None)
                if close is not None:
                    await close()

        channel = await _with_core(settings, add)
        print(json.dumps(_channel_json(channel, settings), ensure_ascii=False))
        return 0
    if args.action == "list":
        for channel in await _with_core(settings, list_channels):
            print(json.dumps(_channel_json(channel, settings), ensure_ascii=False))
        return 0

    async def toggle(core: Core) -> Channel:
        return await set_channel_enabled(core, ChannelId(args.channel_id), args.action == "enable")

    channel = await _with_core(settings, toggle)
    print(json.dumps(_channel_json(channel, settings), ensure_ascii=False))
    return 0


#: The command line acts with the machine owner's authority.
_CLI_ADMIN = Operator(
    id=OperatorId("cli"),
    login="cli",
    display_name="Administrator (command line)",
    role=Role.ADMIN,
    password_hash="",
    created_at=datetime(2026, 1, 1, tzinfo=UTC),
)


async def _queue_command(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "list":

        async def listing(core: Core) -> list[dict[str, object]]:
            return await _router(core, settings).list_queues(_CLI_ADMIN)

        for queue in await _with_core(settings, listing):
            print(json.dumps(queue, ensure_ascii=False))
        return 0
    changes = _queue_settings(args)  # bad flags exit 2 before the database is touched

    async def save(core: Core) -> dict[str, object]:
        return await _router(core, settings).save_queue(
            _CLI_ADMIN,
            args.name,
            changes,
            create=args.action == "add",
            is_default=args.default,
            new_name=getattr(args, "rename", None),
        )

    queue = await _with_core(settings, save)
    print(json.dumps(queue, ensure_ascii=False))
    return 0


def _router(core: Core, settings: Settings) -> RoutingService:
    return RoutingService(core, weights=parse_weights(settings.channel_weights))


def _channel_json(channel: Channel, settings: Settings) -> dict[str, Any]:
    view = channel.public_view()
    base = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    if channel.kind is ChannelKind.WEBCHAT:
        ws_base = base.replace("https://", "wss://").replace("http://", "ws://")
        view["websocket_url"] = f"{ws_base}/ws/webchat/{channel.id}"
        view["embed"] = (
            f'<script src="{base}/widget.js" data-channel="{channel.id}" async></script>'
        )
    else:
        view["webhook_url"] = f"{base}/webhooks/{channel.kind}/{channel.id}"
    return view


async def _with_core(settings: Settings, fn: Callable[[Core], Awaitable[T]]) -> T:
    await migrate(settings.database_url)
    store = await open_store(settings.database_url)
    try:
        return await fn(Core(store=store, bus=InProcessEventBus(), clock=SystemClock()))
    finally:
        await store.close()


def _serve(settings: Settings, args: argparse.Namespace, *, demo: bool) -> int:
    host = args.host or settings.host
    port = args.port or settings.port
    if not 0 < port < 65536:
        raise UsageError("--port must be 1..65535")
    if demo:
        asyncio.run(_with_core(settings, lambda core: _prepare_demo(core, settings, host, port)))
    web.run_app(create_app(settings), host=host, port=port, print=None)
    return 0


async def _prepare_demo(core: Core, settings: Settings, host: str, port: int) -> None:
    """Idempotent demo data. Passwords are random on first run and kept in the data dir
    (mode 0600), so the demo never ships a well-known password."""
    creds_path = Path(settings.data_dir) / "demo-credentials.json"
    creds: dict[str, str] = {}
    if creds_path.is_file():
        creds = json.loads(creds_path.read_text("utf-8"))
    existing = {o.login for o in await list_operators(core)}
    hasher = Argon2PasswordHasher()
    for login_name, name, role, skills in DEMO_OPERATORS:
        if login_name in existing:
            continue
        creds[login_name] = creds.get(login_name) or secrets.token_urlsafe(9)
        await add_operator(
            core,
            hasher,
            login=login_name,
            password=creds[login_name],
            display_name=name,
            role=role,
            skills=parse_skills(skills),
        )
    creds_path.parent.mkdir(parents=True, exist_ok=True)
    creds_path.write_text(json.dumps(creds, indent=2), "utf-8")
    os.chmod(creds_path, 0o600)

    webchats = [c for c in await list_channels(core) if c.kind is ChannelKind.WEBCHAT]
    channel = next((c for c in webchats if c.name == DEMO_CHANNEL), None)
    if channel is None:
        channel = await add_channel(core, ChannelKind.WEBCHAT, DEMO_CHANNEL, {})
    await ingest_inbound(
        core,
        InboundMessage(
            channel_id=channel.id,
            external_id="demo:welcome-1",
            sender=SenderProfile("demo-visitor-1", display_name="Maria (demo)"),
            parts=(Text("Hello! Do you have progressive lenses for astigmatism in stock?"),),
            thread_key="demo-visitor-1",
        ),
    )
    url = f"http://{host}:{port}"
    print(f"Inbox demo on {url}  (console: {url}/   customer page: {url}/demo)")
    print("Operators (login / password):")
    for login_name, name, role, _ in DEMO_OPERATORS:
        shown = creds.get(login_name, "(set before this demo; unchanged)")
        print(f"  {login_name:6} / {shown:14}  {name}, {role}")
    sys.stdout.flush()
