"""The benchmark's clients: Telegram's webhook POSTs, web chat visitors and the
supervisor's console socket, each counting what failed instead of hiding it."""

from __future__ import annotations

import asyncio
import copy
import json
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.http_support import PASSWORD, ServerProcess

__all__ = [
    "ANSWER_TIMEOUT",
    "Console",
    "Poster",
    "chat",
    "closed_loop",
    "open_console",
    "pct",
    "update",
    "visitor",
]

#: A webhook answer later than this counts as no answer (Telegram itself waits about this).
ANSWER_TIMEOUT = 15.0

_FIXTURE = Path("/work/shared/fixtures/telegram/telegram_update_text.json")
_UPDATE: dict[str, Any] = {
    "update_id": 1,
    "message": {
        "message_id": 1,
        "from": {"id": 1, "is_bot": False, "first_name": "Bench", "language_code": "en"},
        "chat": {"id": 1, "first_name": "Bench", "type": "private"},
        "date": 1735689600,
        "text": "",
    },
}


if _FIXTURE.is_file():  # the shared fixture when present, else the same shape inline
    _UPDATE = json.loads(_FIXTURE.read_text("utf-8"))


def update(n: int, chat: int, body: str) -> bytes:
    update = copy.deepcopy(_UPDATE)
    update["update_id"] = n
    message = update["message"]
    message["message_id"] = n
    message["from"]["id"] = chat
    message["chat"]["id"] = chat
    message["text"] = body
    return json.dumps(update, ensure_ascii=False).encode()


def pct(values: list[float], q: int) -> float | None:
    """The q-th percentile in milliseconds (None without data)."""
    if not values:
        return None
    if len(values) == 1:
        return round(values[0] * 1000, 3)
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000, 3)


@dataclass
class Console:
    """The supervisor's socket: every inbound ``message.created`` frame whose text carries
    a benchmark stamp ``bench <key> <perf_counter>`` is recorded with its arrival time."""

    ws: aiohttp.ClientWebSocketResponse
    arrived: dict[str, float] = field(default_factory=dict)
    latency: list[float] = field(default_factory=list)
    _waiter: asyncio.Event = field(default_factory=asyncio.Event)
    _want: int = 0

    async def read(self) -> None:
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            frame = json.loads(msg.data)
            if frame.get("type") != "message.created":
                continue
            words = str(frame.get("message", {}).get("text", "")).split()
            if len(words) == 3 and words[0] == "bench":
                now = time.perf_counter()
                self.arrived[words[1]] = now
                self.latency.append(now - float(words[2]))
                if len(self.arrived) >= self._want:
                    self._waiter.set()

    async def wait_for(self, count: int, within: float) -> bool:
        self._want = count
        if len(self.arrived) >= count:
            return True
        self._waiter.clear()
        try:
            await asyncio.wait_for(self._waiter.wait(), within)
        except TimeoutError:
            return False
        return True

    def reset(self) -> None:
        self.arrived.clear()
        self.latency.clear()


async def open_console(http: aiohttp.ClientSession, server: ServerProcess, login: str) -> Console:
    async with http.post(
        server.url + "/api/v1/auth/login", json={"login": login, "password": PASSWORD}
    ) as resp:
        token = (await resp.json())["token"]
    ws = await http.ws_connect(server.url.replace("http", "ws") + "/ws/operator")
    await ws.send_json({"type": "auth", "token": token})
    ok = await ws.receive_json(timeout=10)
    if ok.get("type") != "auth.ok":
        raise RuntimeError(f"the supervisor's socket was refused: {ok}")
    return Console(ws)


class Poster:
    """Webhook POSTs as Telegram sends them, counting what did not get a 2xx."""

    def __init__(self, http: aiohttp.ClientSession, url: str, secret: str) -> None:
        self._http = http
        self._url = url
        self._headers = {
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": secret,
        }
        self.errors = 0
        self.timeouts = 0
        #: Answers by status code (``Retry-After`` counted for the 429s and 503s).
        self.statuses: dict[int, int] = {}
        self.retry_after = 0

    async def post(self, body: bytes) -> bool:
        status = await self.send(body)
        return status is not None and 200 <= status < 300

    async def send(self, body: bytes) -> int | None:
        """POST ``body``; the status code, or ``None`` for no answer in time / a broken
        connection."""
        try:
            timeout = aiohttp.ClientTimeout(total=ANSWER_TIMEOUT)
            async with self._http.post(
                self._url, data=body, headers=self._headers, timeout=timeout
            ) as resp:
                await resp.read()
                self.statuses[resp.status] = self.statuses.get(resp.status, 0) + 1
                if 200 <= resp.status < 300:
                    return resp.status
                if resp.status in (429, 503) and resp.headers.get("Retry-After"):
                    self.retry_after += 1
                self.errors += 1
                return resp.status
        except TimeoutError:
            self.timeouts += 1
        except aiohttp.ClientError:
            self.errors += 1
        return None


async def closed_loop(poster: Poster, bodies: list[bytes], clients: int) -> None:
    queue = iter(bodies)

    async def worker() -> None:
        for body in queue:
            await poster.post(body)

    await asyncio.gather(*(worker() for _ in range(clients)))


async def visitor(http: aiohttp.ClientSession, server: ServerProcess, channel: str) -> Any:
    ws = await http.ws_connect(server.url.replace("http", "ws") + f"/ws/webchat/{channel}")
    await ws.send_json({"type": "hello", "name": "Bench visitor"})
    while (await ws.receive_json(timeout=10)).get("type") != "welcome":
        pass
    return ws


async def chat(ws: Any, keys: list[str]) -> int:
    """Send each message after the ack of the one before, as a typing visitor does; the
    number that got an error frame, or no ack in time (then the visitor gives up, and the
    messages it did not send count as failed too)."""
    failed = 0
    for sent, key in enumerate(keys):
        await ws.send_json(
            {"type": "message", "text": f"bench {key} {time.perf_counter()}", "client_id": key}
        )
        while True:
            try:
                frame = await ws.receive_json(timeout=ANSWER_TIMEOUT)
            except TimeoutError:
                return failed + len(keys) - sent
            if frame.get("type") == "ack":
                break
            if frame.get("type") == "error":
                failed += 1
                break
    return failed
