"""What every ``inbox`` command shares: how a command is run (:data:`Handler`,
:func:`run_async`), the wiring it runs with (:func:`with_wiring`), the authority it acts
with (:data:`CLI_ADMIN`) and its output (:func:`print_json`)."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

from inbox.domain.ids import OperatorId
from inbox.domain.operators import Operator, Role
from server.config import Settings
from server.wiring import Wiring, wired

__all__ = ["CLI_ADMIN", "AsyncCommand", "Handler", "print_json", "run_async", "with_wiring"]

T = TypeVar("T")

#: A command: settings and parsed flags in, the exit code out. Each leaf parser names its
#: own with ``set_defaults(handler=...)``. It raises ``UsageError`` (exit 2) or a
#: ``DomainError`` (exit 1, or 2 for invalid input); ``main`` prints them.
Handler = Callable[[Settings, argparse.Namespace], int]
AsyncCommand = Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]

#: The command line acts with the machine owner's authority.
CLI_ADMIN = Operator(
    id=OperatorId("cli"),
    login="cli",
    display_name="Administrator (command line)",
    role=Role.ADMIN,
    password_hash="",
    created_at=datetime(2026, 1, 1, tzinfo=UTC),
)


def run_async(command: AsyncCommand) -> Handler:
    """A :data:`Handler` that runs ``command`` in a fresh event loop."""

    def handler(settings: Settings, args: argparse.Namespace) -> int:
        return asyncio.run(command(settings, args))

    return handler


async def with_wiring(settings: Settings, fn: Callable[[Wiring], Awaitable[T]]) -> T:
    """Migrate, wire, run ``fn`` and close everything again. A command's events stay in
    its own process (``local_bus``), where nothing subscribes to them, as before the
    wiring was shared."""
    async with wired(settings, local_bus=True) as wiring:
        return await fn(wiring)


def print_json(value: object) -> None:
    """One JSON document on one line, non-ASCII kept readable."""
    print(json.dumps(value, ensure_ascii=False))
