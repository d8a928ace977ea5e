"""The pieces of the HTTP benchmarks that are not measuring: the machine's description, a
server in its own process (the real ``inbox serve`` or the bare aiohttp baseline), the
channels and the supervisor it needs, and the one-JSON-line result.

The servers run as subprocesses so that the benchmark client's CPU is not the server's:
on a shared event loop the client's own parsing and scheduling would be billed to the
server and the bare baseline alike, and the ratio would say little about either.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text

from inbox.bus import InProcessEventBus
from inbox.domain.clock import SystemClock
from inbox.domain.content import Text
from inbox.domain.ids import ChannelId
from inbox.domain.messages import InboundMessage, SenderProfile
from inbox.domain.operators import Role
from inbox.usecases import Core, add_operator, ingest_inbound
from server.channel_admin import ChannelAdmin
from server.channels import CATALOG
from server.cli.common import with_wiring
from server.config import Settings
from server.wiring import Wiring
from storage import open_store
from storage.engine import make_engine
from tests.fakes.telegram_api import FAKE_TOKEN, TelegramApiFake

__all__ = [
    "PASSWORD",
    "Prepared",
    "ServerProcess",
    "database_name",
    "free_port",
    "machine",
    "preload",
    "prepare",
    "print_result",
]

PASSWORD = "bench password 42"
#: Where the fake Bot API is told the webhook lives; Telegram (and the fake) take HTTPS
#: only. The benchmark posts to the server's real port instead, as a proxy would.
PUBLIC_URL = "https://bench.invalid"
_ROOT = Path(__file__).resolve().parent.parent


def machine(database: str) -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "database": database,
    }


def database_name(url: str) -> str:
    return "postgresql" if url.startswith("postgresql") else "sqlite"


def print_result(
    name: str, figures: Mapping[str, Any], ratios: Mapping[str, Any], **extra: Any
) -> None:
    """The benchmark's one JSON line, last on stdout, so runs can be compared."""
    line = {"name": name, "figures": dict(figures), "ratios": dict(ratios), **extra}
    print(json.dumps(line, sort_keys=False), flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True, slots=True)
class Prepared:
    """What the benchmark needs to talk to a prepared database."""

    telegram_id: str
    telegram_secret: str
    webchat_id: str
    supervisor: str
    env: dict[str, str]


async def prepare(database_url: str, data_dir: Path, fake: TelegramApiFake) -> Prepared:
    """Migrate, then create what an installation would have: a Telegram channel in webhook
    mode (its ``setWebhook`` goes to the fake Bot API, whose record gives us the secret
    Telegram would echo), a web chat channel and a supervisor -- through the same
    ``ChannelAdmin`` and use case as ``inbox channel add`` / ``inbox operator add``."""
    login = f"bench-{os.getpid()}-{free_port()}"
    settings = Settings(database_url=database_url, data_dir=str(data_dir), public_url=PUBLIC_URL)

    async def setup(wiring: Wiring) -> tuple[str, str]:
        admin = ChannelAdmin(wiring.core, wiring.adapters, settings)
        options = {"token": FAKE_TOKEN, "api_base": fake.url, "mode": "webhook"}
        telegram = await admin.add("telegram", f"tg {login}", options)
        webchat = await admin.add("webchat", f"web {login}", {})
        await add_operator(
            wiring.core,
            wiring.hasher,
            login=login,
            password=PASSWORD,
            display_name="Bench Supervisor",
            role=Role.SUPERVISOR,
        )
        return str(telegram.id), str(webchat.id)

    telegram_id, webchat_id = await with_wiring(settings, setup)
    secret = str(fake.calls("setWebhook", ok=True)[-1].params["secret_token"])
    env = {
        "INBOX_DATABASE_URL": database_url,
        "INBOX_DATA_DIR": str(data_dir),
        "INBOX_PUBLIC_URL": PUBLIC_URL,
        # The supervisor's socket should not be closed for missing heartbeats mid-run.
        "INBOX_WS_HEARTBEAT_SECONDS": "60",
    }
    return Prepared(telegram_id, secret, webchat_id, login, env)


class ServerProcess:
    """A server in a subprocess on a free port: ``inbox serve`` (optionally under
    cProfile) or ``bench.bare_server``. Stopped with SIGINT so that aiohttp shuts down
    cleanly and cProfile writes its file."""

    def __init__(self, argv: list[str], env: Mapping[str, str], port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._argv = argv
        self._env = {**os.environ, **env, "PYTHONPATH": str(_ROOT)}
        self._proc: subprocess.Popen[bytes] | None = None
        # BENCH_SERVER_LOG_DIR keeps each server's output in a file there (to read what a
        # run's errors were); by default it is a temporary file, shown when the server
        # exits early.
        keep = os.environ.get("BENCH_SERVER_LOG_DIR")
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            self._log = (Path(keep) / f"server-{port}.log").open("w+b")
        else:
            self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __aexit__

    @classmethod
    def inbox(
        cls, env: Mapping[str, str], profile: str | None = None, wrap: str | None = None
    ) -> ServerProcess:
        """``profile``: cProfile the event loop's thread into that file. ``wrap``: a
        command the server runs under (``py-spy record -t -o FILE --`` samples every
        thread, the SQLite writer's too, which cProfile does not see)."""
        port = free_port()
        runner = ["-m", "cProfile", "-o", profile] if profile else []
        prefix = shlex.split(wrap) if wrap else []
        argv = [*prefix, sys.executable, *runner, "-m", "bench.serve_inbox", "--port", str(port)]
        return cls(argv, env, port)

    @classmethod
    def bare(cls) -> ServerProcess:
        port = free_port()
        return cls([sys.executable, "-m", "bench.bare_server", str(port)], {}, port)

    async def __aenter__(self) -> ServerProcess:
        self._proc = subprocess.Popen(  # noqa: S603, ASYNC220 - our own argv, started before measuring
            self._argv, env=self._env, stdout=self._log, stderr=subprocess.STDOUT, cwd=_ROOT
        )
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                if self._proc.poll() is not None:
                    raise RuntimeError(f"server exited early:\n{self.output()}")
                try:
                    async with http.get(self.url + "/healthz") as resp:
                        await resp.read()
                        return self
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
        raise RuntimeError(f"server did not start within 30 s:\n{self.output()}")

    async def __aexit__(self, *exc: object) -> None:
        assert self._proc is not None
        self._proc.send_signal(signal.SIGINT)
        for _attempt in range(200):
            if self._proc.poll() is not None:
                break
            await asyncio.sleep(0.05)
        else:
            self._proc.kill()
            self._proc.wait()
        self._log.close()

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-4000:]


async def preload(database_url: str, channel_id: str, messages: int) -> float:
    """Store ``messages`` web chat messages (ten per customer) before the server starts,
    through ``ingest_inbound`` with group commit as the server stores them, then mark
    their conversations resolved (one ``UPDATE``: a shop's stored history is mostly
    finished conversations, and a backlog of 100,000 waiting customers would measure the
    router filing them, not growth); the seconds it took. The growth run then measures the
    same throughput over a full database."""
    store = await open_store(database_url)
    core = Core(store=store, bus=InProcessEventBus(), clock=SystemClock(), channels=CATALOG)
    semaphore = asyncio.Semaphore(64)
    started = time.perf_counter()

    async def one(n: int) -> None:
        async with semaphore:
            await ingest_inbound(
                core,
                InboundMessage(
                    channel_id=ChannelId(channel_id),
                    external_id=f"pre{n}",
                    sender=SenderProfile(f"pre{n // 10}", display_name=f"Earlier {n // 10}"),
                    parts=(Text(f"an earlier message, number {n}"),),
                ),
            )

    try:
        for start in range(0, messages, 10_000):  # not a million coroutines at once
            end = min(messages, start + 10_000)
            await asyncio.gather(*(one(n) for n in range(start, end)))
    finally:
        await store.close()
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE conversations SET status = 'resolved', resolved_at = queued_at "
                    "WHERE status IN ('queued', 'bot')"
                )
            )
    finally:
        await engine.dispose()
    return time.perf_counter() - started
