"""The real server process killed mid-flow (docs/reliability.md, "Crashes and restarts").

* SIGKILL while Telegram, VK, WhatsApp and Viber callbacks and web chat messages stream
  in: every callback answered 200 is stored exactly once at that moment already, and after
  the restart and the providers' redelivery (of everything unanswered, and of some answered
  ones) every message is stored exactly once.
* SIGKILL while replies go out: after the restart every reply reaches its provider; VK's
  ``random_id`` makes a resend harmless, and a Telegram reply goes out twice only if its
  send was in flight (or answered within the last second) when the process died.
* SIGTERM under the same load drains: the process exits 0, the sends in flight finish and
  are recorded (no reply twice), every 200 is stored, and the web chat sockets are closed
  with 1001 so the widget reconnects.

CI runs one round of each (a few seconds); ``INBOX_CHAOS_ROUNDS=20 pytest tests/chaos``
runs more kills at other points (the seed is printed, ``INBOX_CHAOS_SEED`` repeats one).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.chaos.harness import (
    DEADLINE,
    PASSWORD,
    Customers,
    Hook,
    Providers,
    Server,
    Visitor,
    all_hooks,
    inbound_counts,
    kill_after,
    providers,
    seed,
)

ROUNDS = int(os.environ.get("INBOX_CHAOS_ROUNDS", "1"))
SEED = int(os.environ.get("INBOX_CHAOS_SEED", str(random.randrange(1 << 30))))


@pytest.fixture
def rng() -> random.Random:
    print(f"INBOX_CHAOS_SEED={SEED}")
    return random.Random(SEED)


@pytest.fixture
async def fakes() -> Any:
    async with providers() as found:
        yield found


async def _running(database_url: str, tmp_path: Path, fakes: Providers) -> tuple[Server, Any]:
    data = tmp_path / "data"
    data.mkdir()
    seeded = await seed(database_url, data, fakes)
    server = Server(database_url, data, tmp_path)
    await server.start()
    return server, seeded


def _exactly_once(counts: Counter[str], texts: list[str]) -> None:
    missing = [t for t in texts if counts[t] == 0]
    doubled = {t: n for t, n in counts.items() if n > 1}
    assert not missing, f"{len(missing)} lost, e.g. {missing[:3]}"
    assert not doubled, f"stored more than once: {list(doubled.items())[:3]}"


async def test_sigkill_while_callbacks_and_web_chat_stream_in(
    database_url: str, tmp_path: Path, fakes: Providers, rng: random.Random
) -> None:
    server, seeded = await _running(database_url, tmp_path, fakes)
    try:
        every_hook: list[Hook] = []
        visitors: list[Visitor] = []
        for round_ in range(ROUNDS):
            # Distinct texts and provider ids per round: ``n`` runs on from the last round.
            hooks = [h for h in all_hooks(seeded, fakes, 30 * (round_ + 1))][len(every_hook) :]
            every_hook.extend(hooks)
            customers = Customers(server)
            round_visitors = [
                Visitor(server, seeded.channels["webchat"], f"r{round_}v{i}") for i in range(3)
            ]
            visitors.extend(round_visitors)
            target = rng.randint(len(hooks) // 5, len(hooks) * 7 // 10)
            on_answer, killed = kill_after(target, server)
            await asyncio.gather(
                customers.stream(hooks, concurrency=12, on_answer=on_answer),
                *(v.chat(15) for v in round_visitors),
            )
            assert killed.is_set()
            assert await server.wait() == -signal.SIGKILL

            # Acknowledged means stored: before any redelivery, every 200 is in the
            # database once, and nothing is there twice.
            counts = await inbound_counts(database_url)
            _exactly_once(counts, [h.text for h in customers.answered])
            acked_chat = [v.text(int(c.rsplit("-", 1)[1])) for v in round_visitors for c in v.acked]
            _exactly_once(counts, acked_chat)

            await server.start()
            await customers.redeliver(hooks, also_answered=8)
            for v in round_visitors:
                await v.resend(15)
            print(
                f"round {round_}: killed after {target} of {len(hooks)} callbacks;"
                f" {len(customers.answered)} answered, statuses {dict(customers.statuses)},"
                f" {customers.errors} connection errors"
            )

        counts = await inbound_counts(database_url)
        texts = [h.text for h in every_hook] + [v.text(n) for v in visitors for n in range(15)]
        _exactly_once(counts, texts)
        assert sum(counts.values()) == len(texts)
    finally:
        await server.stop()


# ------------------------------------------------------------------------- replies


async def _login(http: aiohttp.ClientSession, server: Server) -> dict[str, str]:
    async with http.post(
        f"{server.url}/api/v1/auth/login", json={"login": "admin", "password": PASSWORD}
    ) as resp:
        assert resp.status == 200, await resp.text()
        return {"Authorization": f"Bearer {(await resp.json())['token']}"}


async def _conversations(
    http: aiohttp.ClientSession, server: Server, auth: dict[str, str], channel: str
) -> list[str]:
    async with http.get(
        f"{server.url}/api/v1/conversations", params={"channel": channel}, headers=auth
    ) as resp:
        assert resp.status == 200, await resp.text()
        return [c["id"] for c in (await resp.json())["conversations"]]


async def _reply(
    http: aiohttp.ClientSession, server: Server, auth: dict[str, str], conv: str, text: str
) -> None:
    async with http.post(
        f"{server.url}/api/v1/conversations/{conv}/messages",
        json={"text": text, "client_id": text},
        headers=auth,
    ) as resp:
        assert resp.status in (200, 201), await resp.text()


def _telegram_replies(fakes: Providers) -> Counter[str]:
    return Counter(
        r.params["text"]
        for r in fakes.telegram.requests
        if r.method.lower() == "sendmessage"
        and r.status == 200
        and str(r.params.get("text", "")).startswith("chaos reply")
    )


def _vk_replies(fakes: Providers) -> Counter[str]:
    return Counter(
        m["message"] for m in fakes.vk.messages if m.get("message", "").startswith("chaos reply")
    )


async def _queue_replies(
    server: Server, seeded: Any, fakes: Providers, per_conversation: int
) -> tuple[list[str], list[str]]:
    """A customer message in 10 Telegram and 10 VK conversations, then replies to each;
    returns the Telegram and the VK reply texts."""
    customers = Customers(server)
    hooks = [h for h in all_hooks(seeded, fakes, 10) if h.kind in ("telegram", "vk")]
    await customers.redeliver(hooks)
    tg: list[str] = []
    vk: list[str] = []
    async with aiohttp.ClientSession() as http:
        auth = await _login(http, server)
        for kind, texts in (("telegram", tg), ("vk", vk)):
            conversations = await _conversations(http, server, auth, seeded.channels[kind])
            assert len(conversations) == 10
            for i in range(per_conversation):
                for c, conv in enumerate(conversations):
                    text = f"chaos reply {kind} {c}.{i}"
                    texts.append(text)
                    await _reply(http, server, auth, conv, text)
    return tg, vk


async def _until_sent(fakes: Providers, tg: list[str], vk: list[str]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not (set(tg) <= set(_telegram_replies(fakes)) and set(vk) <= set(_vk_replies(fakes))):
        assert time.monotonic() < deadline, "replies never sent"
        await asyncio.sleep(0.05)


async def test_sigkill_while_replies_go_out(
    database_url: str, tmp_path: Path, fakes: Providers, rng: random.Random
) -> None:
    server, seeded = await _running(database_url, tmp_path, fakes)
    try:
        for _ in range(2000):
            fakes.telegram.stall_next(0.05, "sendmessage")  # sends take a while, as real ones
        tg, vk = await _queue_replies(server, seeded, fakes, per_conversation=3 * ROUNDS)
        target = rng.randint(len(tg) // 5, len(tg) * 3 // 5)
        answered_then: set[str] = set()
        history: list[tuple[float, frozenset[str]]] = []
        deadline = time.monotonic() + DEADLINE
        while len(_telegram_replies(fakes)) < target:
            history.append((time.monotonic(), frozenset(_telegram_replies(fakes))))
            assert time.monotonic() < deadline, "replies never went out"
            await asyncio.sleep(0.02)
        server.kill(signal.SIGKILL)
        killed_at = time.monotonic()
        assert await server.wait() == -signal.SIGKILL
        # Answered by the provider more than a second before the kill: recorded as sent.
        settled = [seen for at, seen in history if at <= killed_at - 1.0]
        answered_then = set(settled[-1]) if settled else set()

        await server.start()
        await _until_sent(fakes, tg, vk)
        await asyncio.sleep(0)  # nothing more is due; every reply was counted above
        telegram = _telegram_replies(fakes)
        twice = {t for t, n in telegram.items() if n > 1}
        print(f"killed after {target} of {len(tg)} Telegram replies; sent twice: {len(twice)}")
        assert not twice & answered_then, "a reply recorded as sent went out again"
        assert len(twice) <= 12, twice  # at most the sends in flight (10 conversations)
        assert set(_vk_replies(fakes)) == set(vk)
        assert all(n == 1 for n in _vk_replies(fakes).values())  # random_id: VK sent each once
    finally:
        await server.stop()


# ------------------------------------------------------------------------- SIGTERM


async def test_sigterm_drains_callbacks_sockets_and_replies(
    database_url: str, tmp_path: Path, fakes: Providers, rng: random.Random
) -> None:
    server, seeded = await _running(database_url, tmp_path, fakes)
    try:
        for _ in range(2000):
            fakes.telegram.stall_next(0.2, "sendmessage")
        tg, vk = await _queue_replies(server, seeded, fakes, per_conversation=2)
        url = f"ws://127.0.0.1:{server.port}/ws/webchat/{seeded.channels['webchat']}"
        async with connect(url) as chat:
            await chat.send('{"type": "hello"}')
            await asyncio.wait_for(chat.recv(), DEADLINE)
            deadline = time.monotonic() + DEADLINE
            while not _telegram_replies(fakes):  # replies are going out now
                assert time.monotonic() < deadline
                await asyncio.sleep(0.02)
            hooks = [h for h in all_hooks(seeded, fakes, 60) if h.kind in ("whatsapp", "viber")][
                40:
            ]
            customers = Customers(server)
            on_answer, stopped = kill_after(rng.randint(5, 30), server, signal.SIGTERM)
            await customers.stream(hooks, concurrency=8, on_answer=on_answer)
            assert stopped.is_set()
            assert await server.wait() == 0
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(chat.recv(), DEADLINE)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1001

        counts = await inbound_counts(database_url)
        _exactly_once(counts, [h.text for h in customers.answered])
        # Drained: every send in flight was recorded, so none goes out again.
        sent_before = _telegram_replies(fakes)
        await server.start()
        await customers.redeliver(hooks)
        await _until_sent(fakes, tg, vk)
        telegram = _telegram_replies(fakes)
        print(
            f"SIGTERM: {sum(sent_before.values())} of {len(tg)} Telegram replies sent before;"
            f" statuses {dict(customers.statuses)}, {customers.errors} connection errors"
        )
        assert all(n == 1 for n in telegram.values()), telegram
        counts = await inbound_counts(database_url)
        assert all(counts[h.text] == 1 for h in hooks)
    finally:
        await server.stop()
