"""The ``inbox`` command (CONTRACT.md, "Set-up and commands"); the console script is
``server.cli:main``.

One module per resource registers its subcommands and their handlers: ``serve`` (serve,
demo, migrate), ``operators``, ``channels``, ``queues``, ``bots`` (``hours``, ``bot``),
``payments`` (``payment``, ``order``), ``tokens`` (``token``), ``reports``
(``report``), ``backup`` (``backup``, ``restore``); the flag grammars are in
``grammar``, the demo data in ``demo``. Every command wires the core through
``server.wiring``, as the server does.

Exit codes: 0 success, 1 the operation failed (for example a taken login), 2 bad usage
(also for a configuration error), 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from inbox.domain.errors import DomainError, InvalidInput
from server.cli import (
    backup,
    bots,
    channels,
    operators,
    payments,
    queues,
    reports,
    serve,
    tokens,
)
from server.cli.common import Handler
from server.cli.grammar import UsageError
from server.config import ConfigError, load_settings

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; each leaf parser carries its ``handler``."""
    p = argparse.ArgumentParser(prog="inbox", description="Omnichannel contact-center inbox")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve.register(sub)
    operators.register(sub)
    channels.register(sub)
    queues.register(sub)
    bots.register(sub)
    payments.register(sub)
    tokens.register(sub)
    reports.register(sub)
    backup.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``), load the settings, run the command and
    return its exit code; messages go to stderr, results (JSON) to stdout."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"inbox: configuration error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    handler: Handler = args.handler
    try:
        return handler(settings, args)
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
