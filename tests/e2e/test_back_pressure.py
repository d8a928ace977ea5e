"""Back-pressure end to end (docs/reliability.md): a real server with a tiny admission
bound and a real store whose writes are held by a gate the test opens. Webhooks past the
bound get 503 + ``Retry-After`` at once and are stored exactly once when resent; a web
chat visitor gets ``slow_down`` and the resent message arrives once. SQLite and
PostgreSQL. No timings: the tests wait for states, never for durations."""

from __future__ import annotations

import asyncio
import copy
import json
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from channels.telegram import create_adapter
from channels.telegram.converter import message_external_id
from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.content import plain_text
from inbox.domain.ids import ChannelId, ConversationId, MessageId
from inbox.domain.messages import Direction, Message
from inbox.usecases import Core, add_channel
from operator_ws import Argon2PasswordHasher
from server.app import SERVICES, create_app
from storage.store import SqlStore
from tests.channels.telegram.support import load
from tests.channels.telegram.test_telegram_e2e import add_telegram_channel
from tests.e2e.conftest import Customer, Live, make_settings
from tests.fakes.telegram_api import TelegramApiFake

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

BOUND = 2


class WriteGate:
    """A transaction hook that holds every write transaction while closed. SQLite's writer
    is a thread driving the transaction itself, so it blocks there on a thread event; on
    PostgreSQL the writers are tasks on the loop, so they await an asyncio event."""

    def __init__(self, store: SqlStore) -> None:
        self._sqlite = store.dialect_name == "sqlite"
        self._thread_open = threading.Event()
        self._loop_open = asyncio.Event()
        self.open()

    def close(self) -> None:
        self._thread_open.clear()
        self._loop_open.clear()

    def open(self) -> None:
        self._thread_open.set()
        self._loop_open.set()

    async def __call__(self, tx: object, work: object) -> None:
        if self._sqlite:
            self._thread_open.wait(30)
        else:
            await self._loop_open.wait()


async def until(done: Callable[[], bool]) -> None:
    for _ in range(500):
        if done():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")


class Env:
    def __init__(
        self, live: Live, gate: WriteGate, telegram: Channel, fake: TelegramApiFake
    ) -> None:
        self.live = live
        self.gate = gate
        self.telegram = telegram
        self.fake = fake

    @property
    def core(self) -> Core:
        return self.live.core

    async def deliver(self, update: dict[str, Any]) -> tuple[int, Any, str | None]:
        headers = {
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": self.telegram.options["webhook_secret"],
        }
        async with self.live.http.post(
            self.live.url(f"/webhooks/telegram/{self.telegram.id}"),
            data=json.dumps(update).encode(),
            headers=headers,
        ) as resp:
            return resp.status, await resp.json(), resp.headers.get("Retry-After")

    async def stored(self, channel_id: str, external_id: str) -> Message | None:
        return await self.core.store.read(
            lambda tx: tx.messages.find_by_external(ChannelId(channel_id), external_id)
        )

    async def messages(self, conversation_id: str) -> list[Message]:
        return await self.core.store.read(
            lambda tx: tx.messages.list(ConversationId(conversation_id))
        )


@pytest.fixture
async def env(database_url: str, tmp_path: Path) -> AsyncIterator[Env]:
    async with TelegramApiFake() as fake:
        app = await create_app(
            make_settings(
                database_url, tmp_path, ingest_max_pending=BOUND, ingest_retry_after_seconds=0.05
            ),
            hasher=Argon2PasswordHasher(fast_for_tests=True),
            adapter_factories={"telegram": create_adapter},
        )
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        store = app[SERVICES].core.store
        assert isinstance(store, SqlStore)
        gate = WriteGate(store)
        store.add_transaction_hook(gate)
        webchat = await add_channel(app[SERVICES].core, ChannelKind("webchat"), "Shop", {})
        telegram = await add_telegram_channel(app, fake)
        async with aiohttp.ClientSession() as http:
            live = Live(app, server, webchat.id, http)
            try:
                yield Env(live, gate, telegram, fake)
            finally:
                gate.open()
                for ws in live._sockets:
                    await ws.close()
                await server.close()


def update(n: int) -> dict[str, Any]:
    """The recorded text update, as the n-th message of one chat."""
    body: dict[str, Any] = copy.deepcopy(load("telegram_update_text.json"))
    body["update_id"] += n
    body["message"]["message_id"] += n
    body["message"]["text"] = f"message {n}"
    return body


def external(body: dict[str, Any]) -> str:
    return message_external_id(body["message"]["chat"]["id"], body["message"]["message_id"])


async def test_webhooks_past_the_bound_get_503_and_are_stored_once_when_resent(
    env: Env,
) -> None:
    updates = [update(n) for n in range(4)]
    env.gate.close()
    admitted = [asyncio.create_task(env.deliver(u)) for u in updates[:BOUND]]
    await until(lambda: env.core.admission.pending == BOUND)

    # Past the bound: refused while the writes are still held -- promptly, not queued.
    for body in updates[BOUND:]:
        status, answer, retry_after = await env.deliver(body)
        assert status == 503, answer
        assert answer["error"]["code"] == "overloaded"
        assert retry_after is not None
        assert int(retry_after) >= 1
        assert await env.stored(env.telegram.id, external(body)) is None
    assert env.core.admission.refused == len(updates) - BOUND
    assert not any(task.done() for task in admitted)
    async with env.live.http.get(env.live.url("/metrics")) as resp:
        scraped = await resp.text()
    assert f"inbox_ingest_pending {float(BOUND)}" in scraped
    assert f"inbox_ingest_refused_total {float(len(updates) - BOUND)}" in scraped

    env.gate.open()
    for task in admitted:
        assert (await task)[:2] == (200, {"ok": True})
    # The provider resends what was refused (and, say, one that was answered 200).
    for body in [*updates[BOUND:], updates[0]]:
        assert (await env.deliver(body))[:2] == (200, {"ok": True})

    first = await env.stored(env.telegram.id, external(updates[0]))
    assert first is not None
    stored = await env.messages(first.conversation_id)
    assert sorted(m.external_id or "" for m in stored) == sorted(external(u) for u in updates)
    assert env.core.admission.pending == 0


async def test_past_the_wait_bound_a_webhook_is_refused_at_the_door_and_stored_once_resent(
    env: Env,
) -> None:
    # Only the wait bound: any number may be in flight, none admitted while the oldest
    # has waited longer than a millisecond.
    gate = env.core.admission
    gate.max_pending, gate.max_wait = 0, 0.001
    first, late = update(0), update(1)
    env.gate.close()
    admitted = asyncio.create_task(env.deliver(first))
    await until(lambda: gate.pending == 1 and gate.oldest_wait() > 0.001)

    status, answer, retry_after = await env.deliver(late)
    assert (status, answer["error"]["code"]) == (503, "overloaded")
    assert retry_after is not None
    # Refused before the payload is parsed: a body that is not even JSON gets the same
    # 503, not the 400 it gets once the gate admits again.
    headers = {
        "Content-Type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": env.telegram.options["webhook_secret"],
    }
    url = env.live.url(f"/webhooks/telegram/{env.telegram.id}")
    async with env.live.http.post(url, data=b"{not json", headers=headers) as resp:
        assert resp.status == 503
    # The door comes before the adapter's secret check too: a caller without the secret
    # learns that the server is busy and nothing else, and nothing is stored.
    wrong = {**headers, "X-Telegram-Bot-Api-Secret-Token": "wrong"}
    async with env.live.http.post(url, data=b"{}", headers=wrong) as resp:
        assert resp.status == 503
    assert await env.stored(env.telegram.id, external(late)) is None

    env.gate.open()
    assert (await admitted)[:2] == (200, {"ok": True})
    await until(lambda: gate.pending == 0)
    async with env.live.http.post(url, data=b"{not json", headers=headers) as resp:
        assert resp.status == 400
    async with env.live.http.post(url, data=b"{}", headers=wrong) as resp:
        assert resp.status == 403
    assert (await env.deliver(late))[:2] == (200, {"ok": True})
    assert (await env.deliver(late))[:2] == (200, {"ok": True})  # a resend: deduplicated
    stored = await env.stored(env.telegram.id, external(late))
    assert stored is not None
    messages = await env.messages(stored.conversation_id)
    assert sorted(m.external_id or "" for m in messages) == sorted(
        external(u) for u in (first, late)
    )


async def test_a_visitor_past_the_bound_gets_slow_down_and_the_resend_arrives_once(
    env: Env,
) -> None:
    env.gate.close()
    held = [await env.live.customer() for _ in range(BOUND)]
    for n, customer in enumerate(held):
        await customer.hello(name=f"Held {n}")
        await customer.send(type="message", text="held", client_id=f"held-{n}")
    await until(lambda: env.core.admission.pending == BOUND)

    visitor: Customer = await env.live.customer()
    await visitor.hello(name="Visitor")
    await visitor.send(type="message", text="hello?", client_id="c-1")
    refused = await visitor.expect("error")
    assert refused["code"] == "slow_down"
    assert refused["client_id"] == "c-1"
    assert refused["retry_after_ms"] >= 1

    env.gate.open()
    for customer in held:
        assert (await customer.expect("ack"))["client_id"].startswith("held-")
    # The widget resends the same client id after retry_after_ms; a second resend (a
    # reconnect racing the timer) is acknowledged as the same message.
    ack = await visitor.say("hello?", "c-1")
    again = await visitor.say("hello?", "c-1")
    assert ack["message"]["id"] == again["message"]["id"]
    found = await env.core.store.read(lambda tx: tx.messages.get(MessageId(ack["message"]["id"])))
    assert found is not None
    in_conversation = await env.messages(found.conversation_id)
    assert [plain_text(m.parts) for m in in_conversation if m.direction is Direction.INBOUND] == [
        "hello?"
    ]


async def test_a_poller_refused_does_not_move_its_cursor_and_stores_the_update_once(
    env: Env,
) -> None:
    polled = await add_telegram_channel(env.live.app, env.fake, mode="polling")
    # The poller writes its lease every round, so holding the store would stop it before
    # it polls; here the bound is taken by ingests in flight without holding the writes.
    held = [env.core.admission.enter() for _ in range(BOUND)]

    body = update(7)
    env.fake.push_update(body)
    await env.live.app[SERVICES].pollers.reconcile()
    # Refused at least twice: the poller came back for the same update after waiting.
    await until(lambda: env.core.admission.refused >= 2)
    offsets = [c.params.get("offset") for c in env.fake.calls("getUpdates")]
    assert all(o is None or o <= body["update_id"] for o in offsets), offsets
    assert await env.stored(polled.id, external(body)) is None

    for ticket in held:
        env.core.admission.leave(ticket)

    async def stored() -> Message | None:
        return await env.stored(polled.id, external(body))

    for _ in range(500):
        if (found := await stored()) is not None:
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the refused update was never stored")
    messages = await env.messages(found.conversation_id)
    assert [m.external_id for m in messages] == [external(body)]
    # Only after it was stored did the cursor move past it.
    await until(
        lambda: any(
            (c.params.get("offset") or 0) > body["update_id"] for c in env.fake.calls("getUpdates")
        )
    )
