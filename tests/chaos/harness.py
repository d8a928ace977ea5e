"""The chaos tests' harness: the real ``inbox serve`` in a child process, the providers'
fakes in this one, customers writing through every channel kind, and the database read
behind the server's back to count what was stored.

A *provider* here behaves as the real ones do: it keeps a webhook until it gets a 2xx and
then sends it again (Telegram, VK, WhatsApp and Viber all redeliver), and it may redeliver
one that was answered too (a 2xx lost on the way). The web chat widget keeps a message
until its ``ack`` and resends it with the same ``client_id`` after a reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import aiohttp
from sqlalchemy import text as sql
from websockets.asyncio.client import connect

from channels.viber.webhook import sign as viber_sign
from channels.whatsapp.webhook import SIGNATURE_HEADER as WHATSAPP_SIGNATURE
from channels.whatsapp.webhook import sign as whatsapp_sign
from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.operators import Role
from inbox.usecases import add_channel, add_operator
from operator_ws import Argon2PasswordHasher
from server.config import Settings
from server.wiring import open_wiring
from storage.engine import make_engine
from tests.fakes.telegram_api import FAKE_TOKEN, TelegramApiFake
from tests.fakes.viber_api import FakeViberApi
from tests.fakes.vk_api import VkFake
from tests.fakes.whatsapp_api import FakeWhatsAppApi

__all__ = [
    "PASSWORD",
    "Customers",
    "Providers",
    "Server",
    "inbound_counts",
    "providers",
    "seed",
]

PASSWORD = "chaos horse battery staple"
TG_SECRET = "chaos_secret-1"
VK_SECRET = "vk_chaos_secret"
VK_CONFIRMATION = "c0nf1rm"
WA_APP_SECRET = "wa_chaos_app_secret"
WA_PHONE_ID = "1122334455667"
ROOT = Path(__file__).resolve().parents[2]
#: A deadline only: a passing run never waits it out.
DEADLINE = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Providers:
    telegram: TelegramApiFake
    vk: VkFake
    whatsapp: FakeWhatsAppApi
    viber: FakeViberApi


@contextlib.asynccontextmanager
async def providers() -> AsyncIterator[Providers]:
    async with TelegramApiFake() as tg, FakeWhatsAppApi() as wa, FakeViberApi() as vb:
        vk = VkFake()
        await vk.start()
        try:
            yield Providers(tg, vk, wa, vb)
        finally:
            await vk.close()


@dataclass
class Seeded:
    channels: dict[str, str]  # kind -> channel id


async def seed(database_url: str, data_dir: Path, fakes: Providers) -> Seeded:
    """An admin and one channel of every kind, each pointed at its fake provider."""
    settings = Settings(database_url=database_url, data_dir=str(data_dir))
    wiring = await open_wiring(
        settings, hasher=Argon2PasswordHasher(fast_for_tests=True), local_bus=True
    )
    try:
        core = wiring.core
        await add_operator(
            core, wiring.hasher, login="admin", password=PASSWORD, role=Role.ADMIN, capacity=50
        )
        options: dict[str, dict[str, str]] = {
            "telegram": {
                "token": FAKE_TOKEN,
                "api_base": fakes.telegram.url,
            },
            "vk": {
                "token": fakes.vk.token,
                "group_id": str(fakes.vk.group_id),
                "secret": VK_SECRET,
                "confirmation": VK_CONFIRMATION,
                "api_base": fakes.vk.base_url,
            },
            "whatsapp": {
                "token": fakes.whatsapp.token,
                "phone_number_id": WA_PHONE_ID,
                "app_secret": WA_APP_SECRET,
                "verify_token": "chaos-verify",
                "api_base": fakes.whatsapp.api_base,
            },
            "viber": {"token": fakes.viber.token, "api_base": fakes.viber.api_base},
            "webchat": {},
        }

        async def telegram_setup(channel: Channel) -> Mapping[str, str]:
            # What the adapter's setup stores after setWebhook (which wants an HTTPS URL).
            return {"mode": "webhook", "webhook_secret": TG_SECRET}

        channels = {}
        for kind, values in options.items():
            setup = telegram_setup if kind == "telegram" else None
            channel = await add_channel(core, ChannelKind(kind), f"chaos {kind}", values, setup)
            channels[kind] = str(channel.id)
        return Seeded(channels)
    finally:
        await wiring.close()


@dataclass
class Server:
    """``inbox serve`` as a child process on a port of its own."""

    database_url: str
    data_dir: Path
    log_dir: Path
    port: int = field(default_factory=free_port)
    process: asyncio.subprocess.Process | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.starts += 1
        env = {
            **os.environ,
            "INBOX_DATABASE_URL": self.database_url,
            "INBOX_DATA_DIR": str(self.data_dir),
            "INBOX_HOST": "127.0.0.1",
            "INBOX_PORT": str(self.port),
            "INBOX_PUBLIC_URL": self.url,
            "INBOX_REDIS_URL": "",
            "INBOX_PRESENCE_STALE_SECONDS": "0",
            # A loaded CI machine stalls single writes for longer than any wait bound;
            # the chaos runs test crashes, not back-pressure.
            "INBOX_INGEST_MAX_WAIT_MS": "0",
            "INBOX_ACCESS_LOG": "off",
        }
        env.pop("INBOX_CONFIG", None)
        log = self._log_file()
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "import sys; from server.cli import main; sys.exit(main())",
            "serve",
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
        log.close()
        await self.ready()

    def _log_file(self) -> IO[bytes]:
        return (self.log_dir / f"server-{self.starts}.log").open("wb")

    async def ready(self) -> None:
        deadline = time.monotonic() + DEADLINE
        async with aiohttp.ClientSession() as http:
            while True:
                assert self.process is not None
                if self.process.returncode is not None:
                    raise AssertionError(f"the server exited: {self.log_tail()}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{self.url}/readyz") as resp:
                        if resp.status == 200:
                            return
                assert time.monotonic() < deadline, f"not ready: {self.log_tail()}"
                await asyncio.sleep(0.05)

    def kill(self, sig: signal.Signals = signal.SIGKILL) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    async def wait(self, timeout: float = DEADLINE) -> int:
        assert self.process is not None
        return await asyncio.wait_for(self.process.wait(), timeout)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    def log_tail(self) -> str:
        path = self.log_dir / f"server-{self.starts}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


# ------------------------------------------------------------------------- customers


@dataclass(frozen=True, eq=False)
class Hook:
    """One provider callback: where it goes, its body and headers, the text it carries."""

    kind: str
    path: str
    body: bytes
    headers: dict[str, str]
    text: str


def telegram_hook(channel: str, n: int, chat: int) -> Hook:
    text = f"chaos telegram {n}"
    update = {
        "update_id": 500_000 + n,
        "message": {
            "message_id": 10_000 + n,
            "from": {"id": chat, "is_bot": False, "first_name": f"Tg{chat}"},
            "chat": {"id": chat, "first_name": f"Tg{chat}", "type": "private"},
            "date": 1735689600 + n,
            "text": text,
        },
    }
    return Hook(
        "telegram",
        f"/webhooks/telegram/{channel}",
        json.dumps(update).encode(),
        {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TG_SECRET},
        text,
    )


def vk_hook(channel: str, n: int, peer: int, group_id: int) -> Hook:
    text = f"chaos vk {n}"
    event = {
        "group_id": group_id,
        "type": "message_new",
        "event_id": f"ev{n:038d}",
        "v": "5.199",
        "secret": VK_SECRET,
        "object": {
            "message": {
                "date": 1735689600 + n,
                "from_id": peer,
                "id": 1000 + n,
                "out": 0,
                "peer_id": peer,
                "conversation_message_id": 100 + n,
                "attachments": [],
                "fwd_messages": [],
                "random_id": 0,
                "text": text,
            },
            "client_info": {"keyboard": True, "inline_keyboard": True, "lang_id": 0},
        },
    }
    return Hook(
        "vk",
        f"/webhooks/vk/{channel}",
        json.dumps(event).encode(),
        {"Content-Type": "application/json"},
        text,
    )


def whatsapp_hook(channel: str, n: int, wa_id: str) -> Hook:
    text = f"chaos whatsapp {n}"
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1234567890987654321",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "972123456789",
                                "phone_number_id": WA_PHONE_ID,
                            },
                            "contacts": [{"profile": {"name": f"Wa{wa_id}"}, "wa_id": wa_id}],
                            "messages": [
                                {
                                    "from": wa_id,
                                    "id": f"wamid.chaos{n}",
                                    "timestamp": str(1697043223 + n),
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    body = json.dumps(payload).encode()
    return Hook(
        "whatsapp",
        f"/webhooks/whatsapp/{channel}",
        body,
        {
            "Content-Type": "application/json",
            WHATSAPP_SIGNATURE: whatsapp_sign(body, WA_APP_SECRET),
        },
        text,
    )


def viber_hook(channel: str, n: int, sender: str, token: str) -> Hook:
    text = f"chaos viber {n}"
    payload = {
        "event": "message",
        "timestamp": 1767259800123 + n,
        "chat_hostname": "SN-CHAT-03_",
        "message_token": 5741311803571721087 + n,
        "sender": {"id": sender, "name": f"Vb{sender}", "api_version": 10},
        "message": {"type": "text", "text": text},
        "silent": False,
    }
    body = json.dumps(payload).encode()
    return Hook(
        "viber",
        f"/webhooks/viber/{channel}",
        body,
        {"Content-Type": "application/json", "X-Viber-Content-Signature": viber_sign(token, body)},
        text,
    )


def all_hooks(seeded: Seeded, fakes: Providers, per_kind: int) -> list[Hook]:
    """``per_kind`` callbacks of every webhook kind from 10 customers each, interleaved."""
    ch = seeded.channels
    rows = [
        [
            telegram_hook(ch["telegram"], n, 7_000_000 + n % 10),
            vk_hook(ch["vk"], n, 326_000_000 + n % 10, fakes.vk.group_id),
            whatsapp_hook(ch["whatsapp"], n, f"97250000{n % 10:04d}"),
            viber_hook(ch["viber"], n, f"chaosViber{n % 10}==", fakes.viber.token),
        ]
        for n in range(per_kind)
    ]
    return [hook for row in rows for hook in row]


@dataclass
class Customers:
    """Sends provider callbacks like a provider: every one until it is answered 200."""

    server: Server
    answered: set[Hook] = field(default_factory=set)  # got a 200 at least once
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0

    async def deliver(self, http: aiohttp.ClientSession, hook: Hook) -> bool:
        try:
            async with http.post(
                self.server.url + hook.path, data=hook.body, headers=hook.headers
            ) as resp:
                await resp.read()
                self.statuses[resp.status] += 1
                if resp.status == 200:
                    self.answered.add(hook)
                    return True
                assert resp.status == 503, (resp.status, hook.kind)
                return False
        except (TimeoutError, aiohttp.ClientError):
            self.errors += 1
            return False

    async def stream(
        self, hooks: list[Hook], *, concurrency: int, on_answer: Callable[[int], None]
    ) -> None:
        """Each hook once, ``concurrency`` at a time; ``on_answer(count)`` after each 200."""
        queue: asyncio.Queue[Hook] = asyncio.Queue()
        for hook in hooks:
            queue.put_nowait(hook)
        timeout = aiohttp.ClientTimeout(total=20)

        async def worker() -> None:
            async with aiohttp.ClientSession(timeout=timeout) as http:
                while not queue.empty():
                    hook = queue.get_nowait()
                    if await self.deliver(http, hook):
                        on_answer(len(self.answered))

        await asyncio.gather(*(worker() for _ in range(concurrency)))

    async def redeliver(self, hooks: list[Hook], *, also_answered: int = 0) -> None:
        """What a provider does after the server is back: every callback without a 200
        again until it gets one, and ``also_answered`` of the answered ones once more
        (their 200 may have been lost)."""
        timeout = aiohttp.ClientTimeout(total=20)
        again = [h for h in hooks if h in self.answered][:also_answered]
        async with aiohttp.ClientSession(timeout=timeout) as http:
            for hook in again:
                assert await self.deliver(http, hook), hook.kind
            deadline = time.monotonic() + DEADLINE
            while missing := [h for h in hooks if h not in self.answered]:
                assert time.monotonic() < deadline, f"{len(missing)} never answered 200"
                await asyncio.gather(*(self.deliver(http, h) for h in missing[:32]))


class Visitor:
    """A web chat customer that keeps each message until its ``ack`` (the widget's rule)."""

    def __init__(self, server: Server, channel_id: str, name: str) -> None:
        self.server = server
        self.channel_id = channel_id
        self.name = name
        self.token: str | None = None
        self.acked: set[str] = set()
        self.sent: list[str] = []

    def text(self, n: int) -> str:
        return f"chaos webchat {self.name} {n}"

    async def chat(self, count: int) -> None:
        """Send ``count`` messages, one after another, until the socket drops."""
        url = f"ws://127.0.0.1:{self.server.port}/ws/webchat/{self.channel_id}"
        with contextlib.suppress(OSError, Exception):
            async with connect(url, open_timeout=10) as ws:
                await self._hello(ws)
                for n in range(count):
                    cid = f"{self.name}-{n}"
                    if cid not in self.sent:
                        self.sent.append(cid)
                    await self._say(ws, cid, n)

    async def resend(self, count: int) -> None:
        """After the restart: the same token, every message of the ``count`` not acked."""
        url = f"ws://127.0.0.1:{self.server.port}/ws/webchat/{self.channel_id}"
        async with connect(url, open_timeout=10) as ws:
            await self._hello(ws)
            for n in range(count):
                cid = f"{self.name}-{n}"
                if cid not in self.acked or n == count - 1:  # the last one twice anyway
                    await self._say(ws, cid, n)

    async def _hello(self, ws: Any) -> None:
        hello: dict[str, Any] = {"type": "hello"}
        if self.token:
            hello["visitor_token"] = self.token
        await ws.send(json.dumps(hello))
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), DEADLINE))
            if frame["type"] == "welcome":
                self.token = frame["visitor_token"]
                return

    async def _say(self, ws: Any, cid: str, n: int) -> None:
        while True:
            await ws.send(json.dumps({"type": "message", "text": self.text(n), "client_id": cid}))
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), DEADLINE))
                if frame.get("client_id") == cid and frame["type"] in ("ack", "error"):
                    break
            if frame["type"] == "ack":
                self.acked.add(cid)
                return
            assert frame.get("code") == "slow_down", frame
            await asyncio.sleep(frame.get("retry_after_ms", 100) / 1000)


# ------------------------------------------------------------------------- the database


async def inbound_counts(database_url: str) -> Counter[str]:
    """How many inbound messages the database holds per chaos text."""
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(sql("SELECT parts FROM messages WHERE direction = 'inbound'"))
            counts: Counter[str] = Counter()
            for (parts,) in rows:
                value = json.loads(parts) if isinstance(parts, str) else parts
                counts.update(s for s in _strings(value) if s.startswith("chaos "))
            return counts
    finally:
        await engine.dispose()


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def kill_after(
    answered_target: int, server: Server, sig: signal.Signals = signal.SIGKILL
) -> tuple[Callable[[int], None], asyncio.Event]:
    """An ``on_answer`` that signals the server once ``answered_target`` callbacks got
    their 200, and the event set when it did."""
    killed = asyncio.Event()

    def on_answer(count: int) -> None:
        if count >= answered_target and not killed.is_set():
            server.kill(sig)
            killed.set()

    return on_answer, killed
