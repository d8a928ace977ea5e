"""End-to-end over HTTP: Telegram webhooks and web chat messages -> stored -> pushed to a
supervisor's socket, against a bare aiohttp handler answering the same client in the same
run (docs/performance.md).

The real server (``inbox serve``) and the baseline (``bench.bare_server``) each run in a
subprocess; this process is the providers, the visitors and the console. Throughput is
closed-loop (``--clients`` webhook POSTs in flight over keep-alive connections, plus web
chat visitors each sending their next message after the ack of the last); a message
counts once its ``message.created`` frame reached the supervisor. Latency is open-loop:
updates are sent on a fixed schedule whatever the answers, each stamped with its
scheduled time, so a slow answer delays nothing and is measured from when it was due.

    python -m bench.bench_http [--quick | --tiny] [--postgres URL] [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import make_url, text

from bench.http_support import (
    PASSWORD,
    Prepared,
    ServerProcess,
    database_name,
    machine,
    prepare,
    print_result,
)
from storage import make_engine
from tests.fakes.telegram_api import TelegramApiFake

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


@dataclass(frozen=True, slots=True)
class Mode:
    messages: int  # throughput: Telegram webhook updates
    webchat: int  # throughput: web chat messages (on top)
    visitors: int
    clients: int
    rate: int  # latency: offered messages/s
    seconds: float


MODES = {
    "full": Mode(messages=5000, webchat=500, visitors=10, clients=32, rate=1000, seconds=10.0),
    "quick": Mode(messages=800, webchat=80, visitors=4, clients=32, rate=200, seconds=3.0),
    "tiny": Mode(messages=40, webchat=8, visitors=2, clients=8, rate=20, seconds=1.0),
}
#: A webhook answer later than this counts as no answer (Telegram itself waits about this).
ANSWER_TIMEOUT = 15.0
#: How long after the last send the run waits for the frames still missing.
DRAIN_TIMEOUT = 20.0


if _FIXTURE.is_file():  # the shared fixture when present, else the same shape inline
    _UPDATE = json.loads(_FIXTURE.read_text("utf-8"))


def _update(n: int, chat: int, body: str) -> bytes:
    update = copy.deepcopy(_UPDATE)
    update["update_id"] = n
    message = update["message"]
    message["message_id"] = n
    message["from"]["id"] = chat
    message["chat"]["id"] = chat
    message["text"] = body
    return json.dumps(update, ensure_ascii=False).encode()


def _pct(values: list[float], q: int) -> float | None:
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

    async def wait_for(self, count: int, timeout: float) -> bool:
        self._want = count
        if len(self.arrived) >= count:
            return True
        self._waiter.clear()
        try:
            await asyncio.wait_for(self._waiter.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def reset(self) -> None:
        self.arrived.clear()
        self.latency.clear()


async def _console(http: aiohttp.ClientSession, server: ServerProcess, login: str) -> Console:
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

    async def post(self, body: bytes) -> bool:
        try:
            timeout = aiohttp.ClientTimeout(total=ANSWER_TIMEOUT)
            async with self._http.post(
                self._url, data=body, headers=self._headers, timeout=timeout
            ) as resp:
                await resp.read()
                if 200 <= resp.status < 300:
                    return True
                self.errors += 1
        except TimeoutError:
            self.timeouts += 1
        except aiohttp.ClientError:
            self.errors += 1
        return False


async def _closed_loop(poster: Poster, bodies: list[bytes], clients: int) -> None:
    queue = iter(bodies)

    async def worker() -> None:
        for body in queue:
            await poster.post(body)

    await asyncio.gather(*(worker() for _ in range(clients)))


async def _visitor(http: aiohttp.ClientSession, server: ServerProcess, channel: str) -> Any:
    ws = await http.ws_connect(server.url.replace("http", "ws") + f"/ws/webchat/{channel}")
    await ws.send_json({"type": "hello", "name": "Bench visitor"})
    while (await ws.receive_json(timeout=10)).get("type") != "welcome":
        pass
    return ws


async def _chat(ws: Any, keys: list[str]) -> int:
    """Send each message after the ack of the one before, as a typing visitor does."""
    failed = 0
    for key in keys:
        await ws.send_json(
            {"type": "message", "text": f"bench {key} {time.perf_counter()}", "client_id": key}
        )
        while True:
            frame = await ws.receive_json(timeout=ANSWER_TIMEOUT)
            if frame.get("type") == "ack":
                break
            if frame.get("type") == "error":
                failed += 1
                break
    return failed


async def throughput(
    server: ServerProcess, prep: Prepared | None, mode: Mode, run: str
) -> dict[str, Any]:
    """Messages/s from the first send until the last frame reached the console (the real
    server), or until the last answer (the bare handler, ``prep`` None)."""
    connector = aiohttp.TCPConnector(limit=mode.clients)
    async with aiohttp.ClientSession(connector=connector) as http:
        secret = prep.telegram_secret if prep else "bare"
        channel = prep.telegram_id if prep else "bare"
        poster = Poster(http, f"{server.url}/webhooks/telegram/{channel}", secret)
        base = int(uuid.uuid4().int % 10**9) * 1000
        bodies = [
            _update(base + n, base + n, f"bench {run}t{n} {time.perf_counter()}")
            for n in range(mode.messages)
        ]
        console = await _console(http, server, prep.supervisor) if prep else None
        reader = asyncio.create_task(console.read()) if console else None
        visitors = []
        if prep:
            visitors = [await _visitor(http, server, prep.webchat_id) for _ in range(mode.visitors)]
        per = mode.webchat // max(1, mode.visitors) if prep else 0
        started = time.perf_counter()
        jobs = [_chat(v, [f"{run}w{i}x{k}" for k in range(per)]) for i, v in enumerate(visitors)]
        results = await asyncio.gather(_closed_loop(poster, bodies, mode.clients), *jobs)
        answered = time.perf_counter()
        expected = mode.messages + per * len(visitors)
        pushed = True
        if console:
            pushed = await console.wait_for(expected, DRAIN_TIMEOUT)
        finished = time.perf_counter()
        chat_errors = sum(r for r in results[1:] if isinstance(r, int))
        for v in visitors:
            await v.close()
        if console and reader:
            await console.ws.close()
            reader.cancel()
        elapsed = finished - started
        return {
            "messages": expected,
            "seconds": round(elapsed, 3),
            "rate": round(expected / elapsed, 1),
            "answer_seconds": round(answered - started, 3),
            "pushed": len(console.arrived) if console else None,
            "all_pushed": pushed,
            "errors": poster.errors + chat_errors,
            "timeouts": poster.timeouts,
        }


async def latency(server: ServerProcess, prep: Prepared, mode: Mode) -> dict[str, Any]:
    """Open loop: update i is due at ``start + i / rate`` and sent then, answered or not."""
    total = int(mode.rate * mode.seconds)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        poster = Poster(
            http, f"{server.url}/webhooks/telegram/{prep.telegram_id}", prep.telegram_secret
        )
        console = await _console(http, server, prep.supervisor)
        reader = asyncio.create_task(console.read())
        base = int(uuid.uuid4().int % 10**9) * 1000
        answers: list[float] = []
        tasks: list[asyncio.Task[None]] = []

        async def send(n: int, due: float) -> None:
            body = _update(base + n, base + n % 500, f"bench l{n} {due}")
            if await poster.post(body):
                answers.append(time.perf_counter() - due)

        start = time.perf_counter() + 0.05
        for n in range(total):
            due = start + n / mode.rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(n, due)))
        await asyncio.gather(*tasks)
        await console.wait_for(total, DRAIN_TIMEOUT)
        await console.ws.close()
        reader.cancel()
        return {
            "offered_rate": mode.rate,
            "seconds": mode.seconds,
            "sent": total,
            "answer_p50_ms": _pct(answers, 50),
            "answer_p99_ms": _pct(answers, 99),
            "frame_p50_ms": _pct(console.latency, 50),
            "frame_p99_ms": _pct(console.latency, 99),
            "non_2xx": poster.errors,
            "no_answer_in_time": poster.timeouts,
            "frames_missing": total - len(console.arrived),
        }


async def _fresh_postgres(base: str) -> str:
    """A schema of the benchmark's own (the URL's ``?schema=``), so runs never mix."""
    schema = f"bench_{uuid.uuid4().hex[:16]}"
    engine = make_engine(base)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"CREATE SCHEMA {schema}"))
    finally:
        await engine.dispose()
    url = make_url(base).update_query_dict({"schema": schema})
    return url.render_as_string(hide_password=False)


async def _on(
    url: str, tmp: Path, mode: Mode, *, with_latency: bool, profile: str | None
) -> dict[str, Any]:
    async with TelegramApiFake() as fake:
        prep = await prepare(url, tmp, fake)
        async with ServerProcess.inbox(prep.env, profile) as server:
            result = {"throughput": await throughput(server, prep, mode, "a")}
            if with_latency:
                result["latency"] = await latency(server, prep, mode)
    return result


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    mode = MODES["tiny" if args.tiny else "quick" if args.quick else "full"]
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp_name:
        tmp = Path(tmp_name)
        async with ServerProcess.bare() as bare:
            baseline = await throughput(bare, None, mode, "b")
        sqlite = await _on(
            f"sqlite+aiosqlite:///{tmp / 'inbox.db'}",
            tmp,
            mode,
            with_latency=True,
            profile=args.profile,
        )
        figures: dict[str, Any] = {"baseline": baseline, "sqlite": sqlite}
        ratios: dict[str, Any] = {
            "sqlite_vs_bare": round(sqlite["throughput"]["rate"] / baseline["rate"], 3)
        }
        db = "sqlite"
        if args.postgres:
            pg_url = await _fresh_postgres(args.postgres)
            pg = await _on(pg_url, tmp / "pg", mode, with_latency=False, profile=None)
            figures["postgresql"] = pg
            ratios["postgresql_vs_sqlite"] = round(
                pg["throughput"]["rate"] / sqlite["throughput"]["rate"], 3
            )
            db = "sqlite+postgresql"
    lat = sqlite["latency"]
    goals = {
        "sqlite_vs_bare>=0.25": ratios["sqlite_vs_bare"] >= 0.25,
        "answer_p99<=10ms": lat["answer_p99_ms"] is not None and lat["answer_p99_ms"] <= 10,
        "frame_p99<=10ms": lat["frame_p99_ms"] is not None and lat["frame_p99_ms"] <= 10,
    }
    if "postgresql_vs_sqlite" in ratios:
        goals["postgresql_vs_sqlite>=0.6"] = ratios["postgresql_vs_sqlite"] >= 0.6
    return {
        "figures": figures,
        "ratios": ratios,
        "goals": goals,
        "machine": machine(db),
        "mode": mode,
    }


def _report(result: dict[str, Any]) -> None:
    f, r = result["figures"], result["ratios"]
    t, lat = f["sqlite"]["throughput"], f["sqlite"]["latency"]
    print(f"bare aiohttp handler: {f['baseline']['rate']:.0f} POSTs/s")
    print(
        f"inbox on SQLite:      {t['rate']:.0f} messages/s stored and pushed "
        f"({r['sqlite_vs_bare']:.3f}x the bare handler; goal >= 0.25x); "
        f"errors {t['errors']}, timeouts {t['timeouts']}, all pushed: {t['all_pushed']}"
    )
    if "postgresql" in f:
        pt = f["postgresql"]["throughput"]
        print(
            f"inbox on PostgreSQL:  {pt['rate']:.0f} messages/s "
            f"({r['postgresql_vs_sqlite']:.3f}x SQLite; goal >= 0.6x)"
        )
    print(
        f"open loop at {lat['offered_rate']}/s for {lat['seconds']} s: answer p50/p99 "
        f"{lat['answer_p50_ms']}/{lat['answer_p99_ms']} ms, arrival->frame p50/p99 "
        f"{lat['frame_p50_ms']}/{lat['frame_p99_ms']} ms (goal p99 <= 10 ms); "
        f"non-2xx {lat['non_2xx']}, no answer in {ANSWER_TIMEOUT:.0f} s {lat['no_answer_in_time']}, "
        f"frames missing {lat['frames_missing']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (seconds)")
    parser.add_argument("--tiny", action="store_true", help="a few dozen messages (smoke test)")
    parser.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL")
    parser.add_argument("--profile", metavar="FILE", help="cProfile the SQLite server into FILE")
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    _report(result)
    mode = result.pop("mode")
    print_result(
        "bench_http",
        result["figures"],
        result["ratios"],
        goals=result["goals"],
        machine=result["machine"],
        mode={"messages": mode.messages, "webchat": mode.webchat, "clients": mode.clients},
    )


if __name__ == "__main__":
    main()
