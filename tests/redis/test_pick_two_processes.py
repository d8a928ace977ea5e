"""Two server processes take the same waiting conversations by hand at the same moment:
each conversation is assigned exactly once (docs/routing.md, "Transfers, picking").

Two OS processes (``tests/redis/pick_worker.py``), each with its own store, Redis bus and
:class:`routing.RoutingService` on one PostgreSQL schema, are told ``go`` together and
claim every waiting conversation at once, each as its own operator (both members of the
queue, with room for all of them). ``pick`` runs under the routing lock, so for every
conversation exactly one process must succeed and the other must be refused with
``conflict``; the table and the decision log must agree on the one winner.

Needs ``INBOX_TEST_POSTGRES_URL`` and ``INBOX_TEST_REDIS_URL`` (skipped without them,
failed on ``CI=true``).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from inbox.domain.channels import ChannelKind
from inbox.domain.clock import SystemClock
from inbox.domain.content import Text
from inbox.domain.conversations import ConversationStatus
from inbox.domain.messages import InboundMessage, SenderProfile
from inbox.domain.operators import Role
from inbox.usecases import Core, add_channel, add_operator, ingest_inbound
from operator_ws import Argon2PasswordHasher
from routing import RoutingService, RoutingSettings
from server.channels import CATALOG
from server.events import event_registry
from storage import make_engine, open_store
from storage.redis_bus import RedisEventBus
from storage.tables import conversations, operators, routing_decisions

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
HASHER = Argon2PasswordHasher(fast_for_tests=True)
CONVERSATIONS = 40
START_TIMEOUT = 30.0
RUN_TIMEOUT = 60.0


async def _line(process: asyncio.subprocess.Process, want: str, stderr: Path) -> None:
    assert process.stdout is not None
    try:
        async with asyncio.timeout(START_TIMEOUT if want == "ready" else RUN_TIMEOUT):
            line = await process.stdout.readline()
    except TimeoutError:
        line = b"(timed out)"
    said = line.decode().strip()
    if said != want:
        text = await asyncio.to_thread(stderr.read_text, errors="replace")
        raise AssertionError(f"said {said!r}:\n{text[-4000:]}")


async def test_two_processes_picking_one_conversation_assign_it_once(
    redis_url: str, channel_prefix: str, schema_url: str, tmp_path: Path
) -> None:
    store = await open_store(schema_url)
    bus = RedisEventBus(redis_url, registry=event_registry(), channel_prefix=channel_prefix)
    core = Core(store=store, bus=bus, clock=SystemClock(), channels=CATALOG)
    router = RoutingService(core, store, settings=RoutingSettings(presence_stale_seconds=None))
    engine = make_engine(schema_url)
    processes: list[asyncio.subprocess.Process] = []
    try:
        boss = await add_operator(
            core, HASHER, login="boss", password="long enough", role=Role.SUPERVISOR
        )
        for login in ("ann", "bob"):  # offline: routing assigns nothing by itself
            await add_operator(core, HASHER, login=login, password="long enough", capacity=100)
        channel = await add_channel(core, ChannelKind("webchat"), "Chat", {})
        await router.save_queue(
            boss,
            "Desk",
            {"channels": [channel.id], "members": ["ann", "bob"], "allow_pick": True},
            create=True,
        )
        for n in range(CONVERSATIONS):
            await ingest_inbound(
                core,
                InboundMessage(
                    channel_id=channel.id,
                    external_id=f"m{n}",
                    sender=SenderProfile(f"customer-{n}"),
                    parts=(Text(f"hello {n}"),),
                ),
            )
        await router.run_pass()  # files them in the queue (nobody is online to get them)
        async with engine.connect() as conn:
            rows = (await conn.execute(select(conversations.c.id, conversations.c.status))).all()
        ids = [r.id for r in rows]
        assert len(ids) == CONVERSATIONS
        assert {r.status for r in rows} == {str(ConversationStatus.QUEUED)}

        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        for login in ("ann", "bob"):
            config = {
                "database_url": schema_url,
                "redis_url": redis_url,
                "channel_prefix": channel_prefix,
                "login": login,
                "conversations": ",".join(ids),
                "result_path": str(tmp_path / f"{login}.json"),
            }
            with (tmp_path / f"{login}.stderr").open("wb") as log:
                processes.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        "-m",
                        "tests.redis.pick_worker",
                        json.dumps(config),
                        stdin=asyncio.subprocess.PIPE,
                        stdout=asyncio.subprocess.PIPE,
                        stderr=log,
                        cwd=ROOT,
                        env=env,
                    )
                )
        names = ("ann", "bob")
        for name, process in zip(names, processes, strict=True):
            await _line(process, "ready", tmp_path / f"{name}.stderr")
        for process in processes:
            assert process.stdin is not None
            process.stdin.write(b"go\n")
        await asyncio.gather(*(p.stdin.drain() for p in processes if p.stdin is not None))
        for name, process in zip(names, processes, strict=True):
            await _line(process, "done", tmp_path / f"{name}.stderr")
            assert await process.wait() == 0
        reports = {n: json.loads((tmp_path / f"{n}.json").read_text()) for n in names}
        results = {n: r["outcomes"] for n, r in reports.items()}
        # The claims of the two processes ran at the same time (else this proves little).
        assert max(r["started"] for r in reports.values()) < min(
            r["ended"] for r in reports.values()
        ), reports

        by_login = {"ann": None, "bob": None}
        async with engine.connect() as conn:
            final = {
                r.id: r.assignee_id
                for r in await conn.execute(
                    select(conversations.c.id, conversations.c.assignee_id, conversations.c.status)
                )
            }
            picks = [
                r.conversation_id
                for r in await conn.execute(
                    select(routing_decisions.c.conversation_id).where(
                        routing_decisions.c.outcome == "pick"
                    )
                )
            ]
            for r in await conn.execute(select(operators.c.id, operators.c.login)):
                if r.login in by_login:
                    by_login[r.login] = r.id
        wins = {"ann": 0, "bob": 0}
        for cid in ids:
            outcomes = {name: results[name][cid] for name in names}
            winners = [name for name, outcome in outcomes.items() if outcome == "ok"]
            assert len(winners) == 1, (cid, outcomes)
            (winner,) = winners
            loser = "bob" if winner == "ann" else "ann"
            assert outcomes[loser] == "conflict", (cid, outcomes)
            assert final[cid] == by_login[winner], (cid, outcomes)
            wins[winner] += 1
        assert sorted(picks) == sorted(ids)  # one pick decision per conversation
        spans = {n: round(r["ended"] - r["started"], 3) for n, r in reports.items()}
        print(json.dumps({"wins": wins, "seconds": spans}))
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
            await process.wait()
        await engine.dispose()
        await store.close()
