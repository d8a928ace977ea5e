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
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import make_url, text

from bench.http_clients import (
    ANSWER_TIMEOUT,
    Poster,
    chat,
    closed_loop,
    open_console,
    pct,
    update,
    visitor,
)
from bench.http_support import (
    Prepared,
    ServerProcess,
    machine,
    preload,
    prepare,
    print_result,
)
from storage import make_engine
from tests.fakes.telegram_api import TelegramApiFake


@dataclass(frozen=True, slots=True)
class Mode:
    messages: int  # throughput: Telegram webhook updates
    webchat: int  # throughput: web chat messages (on top)
    visitors: int
    clients: int
    rate: int  # latency: offered messages/s
    seconds: float
    preload: int  # growth: messages stored before the run
    overload_seconds: float  # each overload phase (2x and 5x the sustained rate)


MODES = {
    "full": Mode(
        messages=5000,
        webchat=500,
        visitors=10,
        clients=32,
        rate=1000,
        seconds=10.0,
        preload=50_000,
        overload_seconds=10.0,
    ),
    "quick": Mode(
        messages=800,
        webchat=80,
        visitors=4,
        clients=32,
        rate=200,
        seconds=3.0,
        preload=3000,
        overload_seconds=3.0,
    ),
    "tiny": Mode(
        messages=40,
        webchat=8,
        visitors=2,
        clients=8,
        rate=20,
        seconds=1.0,
        preload=0,
        overload_seconds=0.5,
    ),
}
#: The overload phases, as multiples of the rate the throughput run sustained.
OVERLOAD_MULTIPLES = (2, 5)
#: How long after the last send the run waits for the frames still missing.
DRAIN_TIMEOUT = 20.0


async def throughput(
    server: ServerProcess, prep: Prepared | None, mode: Mode, run: str
) -> dict[str, Any]:
    """Messages/s from the first send until the last frame reached the console (the real
    server), or until the last answer (the bare handler, ``prep`` None)."""
    # The console's and visitors' sockets hold pool connections all run: the POSTs get
    # ``clients`` of their own beside them (a pool of ``clients`` starved 11 of them).
    connector = aiohttp.TCPConnector(limit=mode.clients + mode.visitors + 1)
    async with aiohttp.ClientSession(connector=connector) as http:
        secret = prep.telegram_secret if prep else "bare"
        channel = prep.telegram_id if prep else "bare"
        poster = Poster(http, f"{server.url}/webhooks/telegram/{channel}", secret)
        base = int(uuid.uuid4().int % 10**9) * 1000
        bodies = [
            update(base + n, base + n, f"bench {run}t{n} {time.perf_counter()}")
            for n in range(mode.messages)
        ]
        console = await open_console(http, server, prep.supervisor) if prep else None
        reader = asyncio.create_task(console.read()) if console else None
        visitors = []
        if prep:
            visitors = [await visitor(http, server, prep.webchat_id) for _ in range(mode.visitors)]
        per = mode.webchat // max(1, mode.visitors) if prep else 0
        started = time.perf_counter()
        jobs = [chat(v, [f"{run}w{i}x{k}" for k in range(per)]) for i, v in enumerate(visitors)]
        results = await asyncio.gather(closed_loop(poster, bodies, mode.clients), *jobs)
        answered = time.perf_counter()
        expected = mode.messages + per * len(visitors)
        pushed = True
        if console:
            pushed = await console.wait_for(expected, DRAIN_TIMEOUT)
        # The last frame's arrival, not the end of the wait: when some never came (their
        # POST timed out), the rate counts what was pushed by the time the last one was.
        finished = max(console.arrived.values(), default=answered) if console else answered
        delivered = len(console.arrived) if console else expected - poster.errors - poster.timeouts
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
            "rate": round(delivered / elapsed, 1),
            "answer_seconds": round(answered - started, 3),
            "pushed": len(console.arrived) if console else None,
            "all_pushed": pushed,
            "errors": poster.errors + chat_errors,
            "timeouts": poster.timeouts,
        }


async def latency(
    server: ServerProcess, prep: Prepared, rate: float, seconds: float, tag: str = "l"
) -> dict[str, Any]:
    """Open loop: update i is due at ``start + i / rate`` and sent then, answered or not.

    Every answer counts in ``answer_*`` (a 503 from the admission gate is an answer: the
    provider resends later); ``accepted_*`` are the 2xx ones, and each of those must reach
    the supervisor (``accepted_frames_missing``: acknowledged but never pushed, which
    must stay 0). The frame figures are of the accepted messages."""
    total = int(rate * seconds)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        poster = Poster(
            http, f"{server.url}/webhooks/telegram/{prep.telegram_id}", prep.telegram_secret
        )
        console = await open_console(http, server, prep.supervisor)
        reader = asyncio.create_task(console.read())
        base = int(uuid.uuid4().int % 10**9) * 1000
        answers: list[float] = []
        accepted: list[str] = []
        tasks: list[asyncio.Task[None]] = []

        async def send(n: int, due: float) -> None:
            key = f"{tag}{n}"
            body = update(base + n, base + n % 500, f"bench {key} {due}")
            status = await poster.send(body)
            if status is not None:
                answers.append(time.perf_counter() - due)
                if 200 <= status < 300:
                    accepted.append(key)

        start = time.perf_counter() + 0.05
        for n in range(total):
            due = start + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(n, due)))
        await asyncio.gather(*tasks)
        await console.wait_for(len(accepted), DRAIN_TIMEOUT)
        await console.ws.close()
        reader.cancel()
        return {
            "offered_rate": round(rate, 1),
            "seconds": seconds,
            "sent": total,
            "accepted": len(accepted),
            "accepted_rate": round(len(accepted) / seconds, 1),
            "answer_p50_ms": pct(answers, 50),
            "answer_p99_ms": pct(answers, 99),
            "answer_max_ms": round(max(answers) * 1000, 3) if answers else None,
            "frame_p50_ms": pct(console.latency, 50),
            "frame_p99_ms": pct(console.latency, 99),
            "statuses": {str(k): v for k, v in sorted(poster.statuses.items())},
            "refused_with_retry_after": poster.retry_after,
            "non_2xx": poster.errors,
            "no_answer_in_time": poster.timeouts,
            "accepted_frames_missing": len(set(accepted) - set(console.arrived)),
        }


async def _sql(url: str, statement: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def _fresh_postgres(base: str) -> tuple[str, str]:
    """A schema of the benchmark's own (the URL's ``?schema=``, dropped afterwards), so
    runs never mix and the database given is left as it was."""
    schema = f"bench_{uuid.uuid4().hex[:16]}"
    await _sql(base, f"CREATE SCHEMA {schema}")
    url = make_url(base).update_query_dict({"schema": schema})
    return url.render_as_string(hide_password=False), schema


async def _on(
    url: str,
    tmp: Path,
    mode: Mode,
    *,
    with_latency: bool = False,
    profile: str | None = None,
    wrap: str | None = None,
    preloaded: int = 0,
) -> dict[str, Any]:
    tmp.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before measuring
    async with TelegramApiFake() as fake:
        prep = await prepare(url, tmp, fake)
        result: dict[str, Any] = {}
        if preloaded:
            result["preload_seconds"] = round(await preload(url, prep.webchat_id, preloaded), 1)
            result["preloaded_messages"] = preloaded
        async with ServerProcess.inbox(prep.env, profile, wrap) as server:
            result["throughput"] = await throughput(server, prep, mode, "a")
            if with_latency:
                result["latency"] = await latency(server, prep, mode.rate, mode.seconds)
                # Past what the server sustains (the closed-loop rate just measured), the
                # admission gate should keep every answer fast: 2xx for what it stored,
                # 503 + Retry-After for the rest.
                sustained = result["throughput"]["rate"]
                result["overload"] = {
                    f"{k}x": await latency(
                        server, prep, sustained * k, mode.overload_seconds, tag=f"o{k}x"
                    )
                    for k in OVERLOAD_MULTIPLES
                }
    return result


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    mode = MODES["tiny" if args.tiny else "quick" if args.quick else "full"]
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp_name:
        tmp = Path(tmp_name)
        async with ServerProcess.bare() as bare:
            # More POSTs than the server gets: the bare handler is ~30x faster, and a run
            # of a few milliseconds would measure the start more than the rate.
            bare_mode = replace(mode, messages=max(2000, mode.messages * 4))
            baseline = await throughput(bare, None, bare_mode, "b")
        sqlite = await _on(
            f"sqlite+aiosqlite:///{tmp / 'inbox.db'}",
            tmp,
            mode,
            with_latency=True,
            profile=args.profile,
            wrap=args.wrap,
        )
        figures: dict[str, Any] = {"baseline": baseline, "sqlite": sqlite}
        ratios: dict[str, Any] = {
            "sqlite_vs_bare": round(sqlite["throughput"]["rate"] / baseline["rate"], 3)
        }
        db = "sqlite"
        if args.postgres:
            pg_url, schema = await _fresh_postgres(args.postgres)
            try:
                pg = await _on(pg_url, tmp / "pg", mode, with_latency=False, profile=None)
            finally:
                await _sql(args.postgres, f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            figures["postgresql"] = pg
            ratios["postgresql_vs_sqlite"] = round(
                pg["throughput"]["rate"] / sqlite["throughput"]["rate"], 3
            )
            db = "sqlite+postgresql"
        preloaded = mode.preload if args.preload is None else args.preload
        if preloaded:
            grown = await _on(
                f"sqlite+aiosqlite:///{tmp / 'grown.db'}", tmp / "g", mode, preloaded=preloaded
            )
            figures["sqlite_preloaded"] = grown
            ratios["preloaded_vs_empty"] = round(
                grown["throughput"]["rate"] / sqlite["throughput"]["rate"], 3
            )
    lat = sqlite["latency"]
    goals = {
        "sqlite_vs_bare>=0.25": ratios["sqlite_vs_bare"] >= 0.25,
        "answer_p99<=10ms": lat["answer_p99_ms"] is not None and lat["answer_p99_ms"] <= 10,
        "frame_p99<=10ms": lat["frame_p99_ms"] is not None and lat["frame_p99_ms"] <= 10,
    }
    for name, phase in sqlite["overload"].items():
        # Bounded: every request answered within the provider's patience (no timeouts),
        # nothing acknowledged lost; the p99 figure itself is printed, not judged.
        goals[f"overload_{name}_all_answered"] = phase["no_answer_in_time"] == 0
        goals[f"overload_{name}_nothing_acknowledged_lost"] = phase["accepted_frames_missing"] == 0
    if "postgresql_vs_sqlite" in ratios:
        goals["postgresql_vs_sqlite>=0.6"] = ratios["postgresql_vs_sqlite"] >= 0.6
    if "preloaded_vs_empty" in ratios:
        # The goal is at 1,000,000 stored messages; this run preloads fewer.
        goals["preloaded_vs_empty>=0.8"] = ratios["preloaded_vs_empty"] >= 0.8
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
    if "sqlite_preloaded" in f:
        g = f["sqlite_preloaded"]
        print(
            f"inbox on SQLite with {g['preloaded_messages']} messages stored before: "
            f"{g['throughput']['rate']:.0f} messages/s ({r['preloaded_vs_empty']:.3f}x empty; "
            "goal >= 0.8x at 1,000,000)"
        )
    print(
        f"open loop at {lat['offered_rate']}/s for {lat['seconds']} s: answer p50/p99 "
        f"{lat['answer_p50_ms']}/{lat['answer_p99_ms']} ms, arrival->frame p50/p99 "
        f"{lat['frame_p50_ms']}/{lat['frame_p99_ms']} ms (goal p99 <= 10 ms); "
        f"non-2xx {lat['non_2xx']}, "
        f"no answer in {ANSWER_TIMEOUT:.0f} s {lat['no_answer_in_time']}, "
        f"acknowledged but not pushed {lat['accepted_frames_missing']}"
    )
    for name, o in f["sqlite"]["overload"].items():
        print(
            f"overload {name} the sustained rate ({o['offered_rate']}/s for {o['seconds']} s): "
            f"answer p50/p99/max {o['answer_p50_ms']}/{o['answer_p99_ms']}/"
            f"{o['answer_max_ms']} ms; accepted {o['accepted']} of {o['sent']} "
            f"({o['accepted_rate']}/s), statuses {o['statuses']}, with Retry-After "
            f"{o['refused_with_retry_after']}; no answer in {ANSWER_TIMEOUT:.0f} s "
            f"{o['no_answer_in_time']}; accepted frame p99 {o['frame_p99_ms']} ms; "
            f"acknowledged but not pushed {o['accepted_frames_missing']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (seconds)")
    parser.add_argument("--tiny", action="store_true", help="a few dozen messages (smoke test)")
    parser.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL")
    parser.add_argument(
        "--preload", type=int, metavar="N", help="messages stored before the growth run (0: none)"
    )
    parser.add_argument(
        "--wrap", metavar="CMD", help="run the SQLite server under CMD (e.g. py-spy record ... --)"
    )
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
