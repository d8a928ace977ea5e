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
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from inbox.app import DEFAULT_ADAPTER_FACTORIES, build_adapters, create_app
from inbox.bus import InProcessEventBus
from inbox.config import ConfigError, Settings, load_settings
from inbox.domain.channel_errors import ChannelError
from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.clock import SystemClock
from inbox.domain.content import Text
from inbox.domain.errors import DomainError, InvalidInput
from inbox.domain.ids import ChannelId
from inbox.domain.messages import InboundMessage, SenderProfile
from inbox.domain.operators import Role, parse_skills
from inbox.domain.views import operator_view
from inbox.usecases import (
    Core,
    add_channel,
    add_operator,
    ingest_inbound,
    list_channels,
    list_operators,
    set_channel_enabled,
)
from operator_ws import Argon2PasswordHasher
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
    return p


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
    if args.command == "operator" and args.action == "list":
        for operator in await _with_core(settings, list_operators):
            print(json.dumps(operator_view(operator), ensure_ascii=False))
        return 0
    if args.command == "channel":
        return await _channel_command(settings, args)
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
