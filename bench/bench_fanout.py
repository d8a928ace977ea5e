"""Fan-out: one event to many supervisor sockets, against a bare aiohttp server that
unicasts the same frame bytes to as many sockets in the same run (docs/performance.md).

The real server (``inbox serve`` on SQLite) runs in a subprocess with ``--sockets``
supervisor sockets on ``/ws/operator`` (a few logins of one supervisor, sockets spread
over them). Each event is one Telegram webhook update in one chat; its time is from the
POST until the ``message.created`` frame carrying its stamp reached the first and the last
socket. The baseline (``bench.fanout_bare``) gets the frame bytes the real server sent,
re-stamped, in one ``POST /trigger`` and writes them to each of its sockets; timed the same
way. The ratio is baseline / server on the median "last socket" time (goal >= 0.6).

    python -m bench.bench_fanout [--quick] [--sockets N] [--events N]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.http_clients import Poster, pct, update
from bench.http_support import PASSWORD, ServerProcess, free_port, machine, prepare, print_result
from tests.fakes.telegram_api import TelegramApiFake

#: One event's frames must all arrive within this, or the event counts as incomplete.
EVENT_TIMEOUT = 10.0


@dataclass
class Sink:
    """Every socket's reader records when the frame carrying ``marker`` reached it."""

    expected: int = 0
    marker: str = "\x00"
    arrivals: list[float] = field(default_factory=list)
    frame: str = ""
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def arm(self, marker: str) -> None:
        self.marker, self.frame = marker, ""
        self.arrivals = []
        self.done.clear()

    async def read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            data = msg.data
            # A substring test, the same cost for both servers; the stamp is unique per event.
            if self.marker in data and '"message.created"' in data:
                self.arrivals.append(time.perf_counter())
                self.frame = self.frame or data
                if len(self.arrivals) >= self.expected:
                    self.done.set()


async def _connect_all(
    http: aiohttp.ClientSession, url: str, tokens: list[str], count: int, sink: Sink
) -> tuple[list[aiohttp.ClientWebSocketResponse], list[asyncio.Task[None]]]:
    """Open ``count`` sockets, 50 at a time, each authenticated before its reader starts."""
    sockets: list[aiohttp.ClientWebSocketResponse] = []
    gate = asyncio.Semaphore(50)

    async def one(n: int) -> aiohttp.ClientWebSocketResponse:
        async with gate:
            ws = await http.ws_connect(url, compress=0, autoping=True, max_msg_size=0)
            if tokens:
                await ws.send_json({"type": "auth", "token": tokens[n % len(tokens)]})
            reply = await ws.receive_json(timeout=30)
            if reply.get("type") != "auth.ok":
                raise RuntimeError(f"socket {n} refused: {reply}")
            return ws

    sockets = list(await asyncio.gather(*(one(n) for n in range(count))))
    readers = [asyncio.create_task(sink.read(ws)) for ws in sockets]
    return sockets, readers


async def _events(
    sink: Sink, count: int, fire: Callable[[int, str], Awaitable[bool]], marker: str
) -> dict[str, Any]:
    """Fire ``count`` events one after another; first/last arrival after each fire."""
    first: list[float] = []
    last: list[float] = []
    spread: list[float] = []  # last - first: the fan-out alone, without the write before it
    incomplete = failed = missed = 0
    for n in range(count):
        stamp = f"{marker}{n}z"
        sink.arm(stamp)
        started = time.perf_counter()
        if not await fire(n, stamp):
            failed += 1
        try:
            await asyncio.wait_for(sink.done.wait(), EVENT_TIMEOUT)
        except TimeoutError:
            incomplete += 1
            missed += sink.expected - len(sink.arrivals)
        if sink.arrivals:
            first.append(sink.arrivals[0] - started)
            last.append(max(sink.arrivals) - started)
            spread.append(max(sink.arrivals) - sink.arrivals[0])
        await asyncio.sleep(0.02)  # let the sockets settle between events
    return {
        "events": count,
        "first_p50_ms": pct(first, 50),
        "last_p50_ms": pct(last, 50),
        "last_p99_ms": pct(last, 99),
        "spread_p50_ms": pct(spread, 50),
        "failed_requests": failed,
        "incomplete_events": incomplete,
        "frames_missed": missed,
    }


async def _server_run(
    tmp: Path, sockets: int, events: int, logins: int
) -> tuple[dict[str, Any], str]:
    url = f"sqlite+aiosqlite:///{tmp / 'inbox.db'}"
    async with TelegramApiFake() as fake:
        prep = await prepare(url, tmp, fake)
    async with ServerProcess.inbox(prep.env) as server:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            tokens = []
            for _ in range(logins):
                async with http.post(
                    server.url + "/api/v1/auth/login",
                    json={"login": prep.supervisor, "password": PASSWORD},
                ) as resp:
                    body = await resp.json()
                    if resp.status != 200:
                        raise RuntimeError(f"login failed: {resp.status} {body}")
                    tokens.append(str(body["token"]))
            sink = Sink(expected=sockets)
            ws_url = server.url.replace("http", "ws") + "/ws/operator"
            conns, readers = await _connect_all(http, ws_url, tokens, sockets, sink)
            poster = Poster(
                http, f"{server.url}/webhooks/telegram/{prep.telegram_id}", prep.telegram_secret
            )
            base = int(uuid.uuid4().int % 10**9) * 1000
            chat = base + 1
            sent = iter(range(base + 10, base + 1000))  # a fresh update_id each (no dedup)

            async def fire(n: int, stamp: str) -> bool:
                return await poster.post(update(next(sent), chat, f"bench {stamp}"))

            await _events(sink, 2, fire, "warm")  # opens the conversation; not measured
            result = await _events(sink, events, fire, "e")
            frame = sink.frame
            for ws in conns:
                await ws.close()
            for task in readers:
                task.cancel()
    result["sockets"] = sockets
    result["frame_bytes"] = len(frame.encode())
    return result, frame


async def _bare_run(sockets: int, events: int, frame: str, stamp: str) -> dict[str, Any]:
    port = free_port()
    bare = ServerProcess([sys.executable, "-m", "bench.fanout_bare", str(port)], {}, port)
    async with bare:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            sink = Sink(expected=sockets)
            conns, readers = await _connect_all(http, bare.url + "/ws", [], sockets, sink)

            async def fire(n: int, marker: str) -> bool:
                body = frame.replace(stamp, marker)
                async with http.post(bare.url + "/trigger", data=body) as resp:
                    await resp.read()
                    return resp.status == 200

            await _events(sink, 2, fire, "warm")
            result = await _events(sink, events, fire, "e")
            for ws in conns:
                await ws.close()
            for task in readers:
                task.cancel()
    result["sockets"] = sockets
    return result


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp_name:
        server, frame = await _server_run(Path(tmp_name), args.sockets, args.events, args.logins)
    if not frame:
        raise RuntimeError("no message.created frame reached any socket")
    # The frame kept is the last measured event's; the baseline re-stamps it per event.
    stamp = f"e{args.events - 1}z"
    baseline = await _bare_run(args.sockets, args.events, frame, stamp)
    ratio = (
        round(baseline["last_p50_ms"] / server["last_p50_ms"], 3)
        if baseline["last_p50_ms"] and server["last_p50_ms"]
        else None
    )
    return {
        "figures": {"server": server, "baseline": baseline},
        "ratios": {"baseline_vs_server_last_p50": ratio},
        "goals": {"ratio>=0.6": ratio is not None and ratio >= 0.6},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 sockets, 20 events")
    parser.add_argument("--sockets", type=int, help="supervisor sockets (default 1000)")
    parser.add_argument("--events", type=int, help="events measured (default 50)")
    parser.add_argument("--logins", type=int, default=5, help="sessions to spread sockets over")
    args = parser.parse_args()
    args.sockets = args.sockets or (200 if args.quick else 1000)
    args.events = args.events or (20 if args.quick else 50)
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # inherited by the servers
    result = asyncio.run(main_async(args))
    s, b = result["figures"]["server"], result["figures"]["baseline"]
    ratio = result["ratios"]["baseline_vs_server_last_p50"]
    for label, r in (("inbox serve", s), ("bare unicast", b)):
        print(
            f"{label:13} {r['sockets']} sockets, {r['events']} events: first p50 "
            f"{r['first_p50_ms']} ms, last p50/p99 {r['last_p50_ms']}/{r['last_p99_ms']} ms, "
            f"last-first p50 {r['spread_p50_ms']} ms; "
            f"failed requests {r['failed_requests']}, incomplete events {r['incomplete_events']} "
            f"(frames missed {r['frames_missed']})"
        )
    print(f"baseline/server (last socket, p50): {ratio}x (goal >= 0.6x)")
    print_result(
        "bench_fanout",
        result["figures"],
        result["ratios"],
        goals=result["goals"],
        machine=machine("sqlite"),
        mode={"sockets": args.sockets, "events": args.events, "logins": args.logins},
    )


if __name__ == "__main__":
    main()
