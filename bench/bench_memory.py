"""Memory per idle operator socket, against a bare aiohttp WebSocket server in the same run.

The real application (``create_app``, SQLite or PostgreSQL) runs on a real socket in a
subprocess, so its RSS is measured alone; this process logs in ``--sessions`` console
sessions over HTTP and opens ``--sockets`` authenticated operator sockets (spread over the
sessions, as tabs of a few hundred operators would be), which then stay idle. The server's
RSS (``VmRSS`` in ``/proc/<pid>/status``) is read before and after; the difference over
the socket count is the cost of one idle socket. The baseline is a bare aiohttp server
subprocess holding the same number of idle sockets after the same exchange (one text frame
in, one out), once with aiohttp's defaults (``compress=True``) and once without
compression. Clients offer permessage-deflate as browsers do (``--no-client-deflate``:
they do not). Both processes raise ``RLIMIT_NOFILE`` to the hard limit, which caps the
socket count (said in the output when it does).

    python -m bench.bench_memory [--quick] [--sockets 10000] [--sessions 100]
        [--postgres URL] [--tracemalloc]

``--tracemalloc`` traces allocations in the application subprocess and prints the top
lines of the snapshot difference (what the sockets hold), at a cost in speed and memory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

PASSWORD = "bench password 1"
OPERATORS = 10
#: Logins unique to this run: a PostgreSQL database keeps the operators of earlier runs.
RUN = f"bench{os.getpid()}"
#: Descriptors kept for the process itself (database, listening socket, pipes).
SPARE_FDS = 200


def raise_nofile() -> int:
    """Raise the soft descriptor limit to the hard one; return it."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


# ---------------------------------------------------------------------- the subprocesses


async def _serve(kind: str, database_url: str, data_dir: str, run: str, trace: bool) -> None:
    raise_nofile()
    if trace:
        tracemalloc.start(8)
    if kind == "app":
        app = await _application(database_url, data_dir, run)
    else:
        app = _bare(compress=kind == "bare")
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
    await site.start()
    port = runner.addresses[0][1]
    print(f"READY {port}", flush=True)
    loop = asyncio.get_running_loop()
    baseline: tracemalloc.Snapshot | None = None
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        if line.strip() == "snap" and trace:
            snap = tracemalloc.take_snapshot()
            if baseline is None:
                baseline = snap
            else:
                stats = snap.compare_to(baseline, "traceback")
                total = sum(stat.size_diff for stat in stats)
                print(f"TRACE traced Python allocations: {total / 1024:+.0f} KiB", flush=True)
                for stat in stats[:12]:
                    print("TRACE", stat, flush=True)
                    for frame in stat.traceback.format()[-6:]:
                        print("TRACE    ", frame, flush=True)
        print("OK", flush=True)
    await runner.cleanup()


async def _application(database_url: str, data_dir: str, run: str) -> web.Application:
    from inbox.domain.operators import Role
    from inbox.usecases import add_operator
    from operator_ws import Argon2PasswordHasher
    from server.app import SERVICES, create_app
    from server.config import Settings

    hasher = Argon2PasswordHasher(fast_for_tests=True)
    app = await create_app(
        Settings(database_url=database_url, data_dir=data_dir, log_level="WARNING"),
        hasher=hasher,
    )
    for n in range(OPERATORS):
        await add_operator(
            app[SERVICES].core,
            hasher,
            login=f"{run}-op{n}",
            password=PASSWORD,
            display_name=f"Operator {n}",
            role=Role.OPERATOR,
            capacity=5,
        )
    return app


def _bare(*, compress: bool) -> web.Application:
    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=compress)
        await ws.prepare(request)
        await ws.receive()
        await ws.send_str('{"type": "auth.ok", "last_seq": 0}')
        async for _ in ws:
            pass
        return ws

    app = web.Application()
    app.router.add_get("/ws/operator", handle)
    return app


# ---------------------------------------------------------------------- the driver


class Server:
    def __init__(self, kind: str, database_url: str, data_dir: str, trace: bool) -> None:
        self.proc = subprocess.Popen(  # noqa: S603 (this very script, our own arguments)
            [sys.executable, "-m", "bench.bench_memory", "--serve", kind,
             "--database", database_url, "--data-dir", data_dir, "--run", RUN]
            + (["--tracemalloc"] if trace else []),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        line = self._line()
        if not line.startswith("READY "):
            raise RuntimeError(f"the {kind} server did not start: {line!r}")
        self.port = int(line.split()[1])

    def _line(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def command(self, text: str) -> list[str]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        out = []
        while (line := self._line()) != "OK":
            if not line:
                raise RuntimeError("the server went away")
            out.append(line)
        return out

    def rss(self) -> int:
        return rss_kib(self.proc.pid)

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


async def _login(http: aiohttp.ClientSession, base: str, n: int) -> str:
    async with http.post(
        f"{base}/api/v1/auth/login",
        json={"login": f"{RUN}-op{n % OPERATORS}", "password": PASSWORD},
    ) as resp:
        body = await resp.json()
        if resp.status != 200:
            raise RuntimeError(f"login failed: {resp.status} {body}")
        return str(body["token"])


async def _open(
    http: aiohttp.ClientSession, url: str, tokens: list[str], count: int, deflate: bool
) -> list[aiohttp.ClientWebSocketResponse]:
    sockets: list[aiohttp.ClientWebSocketResponse] = []
    gate = asyncio.Semaphore(64)

    async def one(n: int) -> None:
        async with gate:
            ws = await http.ws_connect(url, compress=15 if deflate else 0, autoping=True)
            await ws.send_str(json.dumps({"type": "auth", "token": tokens[n % len(tokens)]}))
            ok = json.loads((await ws.receive(timeout=60)).data)
            if ok.get("type") != "auth.ok":
                raise RuntimeError(f"not authenticated: {ok}")
            sockets.append(ws)

    await asyncio.gather(*(one(n) for n in range(count)))
    return sockets


async def measure(
    kind: str, count: int, sessions: int, database_url: str, data_dir: str, args: Any
) -> dict[str, Any]:
    server = Server(kind, database_url, data_dir, args.tracemalloc and kind == "app")
    base = f"http://127.0.0.1:{server.port}"
    connector = aiohttp.TCPConnector(limit=0)
    try:
        async with aiohttp.ClientSession(connector=connector) as http:
            tokens = (
                [await _login(http, base, n) for n in range(sessions)] if kind == "app" else ["-"]
            )
            url = base.replace("http", "ws") + "/ws/operator"
            # Warm up: first-connection imports and caches are not a per-socket cost.
            for ws in await _open(http, url, tokens, 20, not args.no_client_deflate):
                await ws.close()
            await asyncio.sleep(0.5)
            server.command("snap")
            before = server.rss()
            sockets = await _open(http, url, tokens, count, not args.no_client_deflate)
            await asyncio.sleep(1.0)
            after = server.rss()
            trace = server.command("snap")
            for ws in sockets:
                await ws.close()
    finally:
        server.stop()
    for line in trace:
        print(line.removeprefix("TRACE "))
    return {
        "rss_before_kib": before,
        "rss_after_kib": after,
        "per_socket_kib": round((after - before) / count, 2),
    }


async def main(args: argparse.Namespace) -> None:
    hard = raise_nofile()
    wanted = 1000 if args.quick and args.sockets is None else (args.sockets or 10_000)
    count = min(wanted, hard - SPARE_FDS)
    if count < wanted:
        print(f"the descriptor hard limit ({hard}) caps the sockets at {count} (asked {wanted})")
    sessions = min(args.sessions, count)
    with tempfile.TemporaryDirectory() as tmp:
        database_url = args.postgres or f"sqlite+aiosqlite:///{tmp}/bench.db"
        database = "postgresql" if args.postgres else "sqlite"
        app = await measure("app", count, sessions, database_url, tmp, args)
        bare = await measure("bare", count, sessions, database_url, tmp, args)
        plain = await measure("bare-nocompress", count, sessions, database_url, tmp, args)
    goal = 32.0
    print(
        f"{count} idle operator sockets ({sessions} sessions, {database}): "
        f"{app['per_socket_kib']} KiB each (goal <= {goal:g}); "
        f"bare aiohttp {bare['per_socket_kib']} KiB "
        f"(ratio {_ratio(app, bare)}), bare without compression "
        f"{plain['per_socket_kib']} KiB (ratio {_ratio(app, plain)})"
    )
    print(
        json.dumps(
            {
                "name": "memory_per_idle_socket",
                "figures": {
                    "sockets": count,
                    "sessions": sessions,
                    "client_deflate": not args.no_client_deflate,
                    "app": app,
                    "bare_aiohttp": bare,
                    "bare_aiohttp_no_compress": plain,
                    "goal_per_socket_kib": goal,
                },
                "ratios": {
                    "app_over_bare": _ratio(app, bare),
                    "app_over_bare_no_compress": _ratio(app, plain),
                    "app_over_goal": round(app["per_socket_kib"] / goal, 2),
                },
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "database": database,
                    "nofile_hard_limit": hard,
                },
            }
        )
    )


def _ratio(a: dict[str, Any], b: dict[str, Any]) -> float | None:
    return round(a["per_socket_kib"] / b["per_socket_kib"], 2) if b["per_socket_kib"] > 0 else None


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 sockets")
    parser.add_argument("--sockets", type=int, default=None, help="default 10,000")
    parser.add_argument("--sessions", type=int, default=100, help="console logins to spread over")
    parser.add_argument("--postgres", default="", help="a PostgreSQL URL instead of SQLite")
    parser.add_argument("--tracemalloc", action="store_true", help="what the sockets hold")
    parser.add_argument("--no-client-deflate", action="store_true")
    parser.add_argument(
        "--serve", choices=["app", "bare", "bare-nocompress"], help=argparse.SUPPRESS
    )
    parser.add_argument("--database", default="", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", default="", help=argparse.SUPPRESS)
    parser.add_argument("--run", default="", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = _args()
    if arguments.serve:
        asyncio.run(
            _serve(
                arguments.serve,
                arguments.database,
                arguments.data_dir,
                arguments.run,
                arguments.tracemalloc,
            )
        )
    else:
        asyncio.run(main(arguments))
