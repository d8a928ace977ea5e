"""The e-mail channel end to end: the real app (its own PollerService and delivery
worker), real operator WebSockets, a real Dovecot and a real SMTP server (aiosmtpd).
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from channels.email import EmailAdapter
from inbox.domain.channels import Channel, ChannelKind
from inbox.ports import AdapterDeps, ConversationFilter, Tx
from inbox.usecases import add_channel
from operator_ws import Argon2PasswordHasher
from server.app import SERVICES, create_app
from tests.channels.email.support import Dovecot, SmtpSink, corpus
from tests.e2e.conftest import Live, OperatorClient, make_settings

CUSTOMER = "ivan@example.org"


def mail(
    body: str,
    *,
    sender: str = CUSTOMER,
    subject: str = "Order 42",
    message_id: str | None = None,
    in_reply_to: str | None = None,
) -> bytes:
    mid = message_id or f"<m{time.monotonic_ns()}@example.org>"
    headers = (
        f"From: Ivan Petrov <{sender}>\r\nTo: support@example.test\r\nSubject: {subject}\r\n"
        f"Message-ID: {mid}\r\nDate: Mon, 13 Jan 2025 10:00:00 +0300\r\n"
    )
    if in_reply_to:
        headers += f"In-Reply-To: {in_reply_to}\r\nReferences: {in_reply_to}\r\n"
    return (headers + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body).encode()


@dataclass
class Mailroom:
    live: Live
    channel: Channel
    dovecot: Dovecot
    user: str

    async def deliver(self, raw: bytes) -> None:
        await self.dovecot.append(self.user, raw)

    async def messages(self) -> list[Any]:
        async def work(tx: Tx) -> list[Any]:
            found = []
            for conv in await tx.conversations.list(
                __import__("inbox.ports").ports.ConversationFilter()
            ):
                found += await tx.messages.list(conv.id)
            return found

        return await self.live.core.store.read(work)


async def start_app(
    database_url: str, tmp_path: Path, factory: Callable[[AdapterDeps], EmailAdapter]
) -> tuple[web.Application, TestServer]:
    app = await create_app(
        make_settings(database_url, tmp_path),
        hasher=Argon2PasswordHasher(fast_for_tests=True),
        adapter_factories={"email": factory},
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return app, server


@pytest.fixture
async def room(
    database_url: str, tmp_path: Path, dovecot: Dovecot, mailbox: str, smtp: SmtpSink
) -> AsyncIterator[Mailroom]:
    app, server = await start_app(database_url, tmp_path, EmailAdapter)
    options = dovecot.options(mailbox, smtp_port=str(smtp.port))
    channel = await add_channel(app[SERVICES].core, ChannelKind("email"), "Lens Shop", options)
    await app[SERVICES].pollers.reconcile()  # start polling now, not at the next check
    async with aiohttp.ClientSession() as http:
        live = Live(app, server, channel.id, http)
        try:
            yield Mailroom(live, channel, dovecot, mailbox)
        finally:
            for ws in live._sockets:
                await ws.close()
            await server.close()


async def inbound(client: OperatorClient, timeout: float = 3.0) -> dict[str, Any]:
    """The next ``message.created`` of a customer message (the operator's own replies
    come as ``message.created`` too)."""
    while True:
        frame = await client.expect("message.created", timeout=timeout)
        if frame["message"]["direction"] == "inbound":
            return frame


async def online(room: Mailroom) -> OperatorClient:
    await room.live.add_operator("maria")
    client = await room.live.online_operator("maria")
    await asyncio.sleep(0.3)  # the poller is in IDLE by now
    return client


async def test_mail_reply_and_customer_answer_thread_together(
    room: Mailroom, smtp: SmtpSink
) -> None:
    maria = await online(room)
    await room.deliver(mail("Where is my order?", message_id="<first-1@example.org>"))
    created = await maria.expect("message.created")
    conversation_id = created["conversation_id"]
    assert created["message"]["parts"][0] == {"type": "text", "text": "Where is my order?"}
    assert created["message"]["parts"][-1]["caption"] == "Original message"
    await maria.expect("conversation.assigned")

    ack = await maria.command(
        "message.send",
        conversation_id=conversation_id,
        text="It ships today.",
        client_id="c1",
        buttons=[{"title": "Track", "url": "https://track.example/42"}],
    )
    assert ack["type"] == "ack", ack
    await smtp.wait_for(1)
    (sent,) = smtp.messages()
    assert sent["In-Reply-To"] == "<first-1@example.org>"
    assert sent["References"] == "<first-1@example.org>"
    assert sent["Subject"] == "Re: Order 42"
    assert sent["To"] == CUSTOMER
    html = sent.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert '<a href="https://track.example/42">Track</a>' in html
    our_id = str(sent["Message-ID"])
    updated = await maria.expect("message.updated")
    assert updated["message"]["status"] == "sent"

    quoted = (
        "Thanks!\r\n\r\nOn Mon, 13 Jan 2025, Lens Shop <support@example.test> wrote:\r\n"
        "> It ships today.\r\n"
    )
    await room.deliver(mail(quoted, subject="Re: Order 42", in_reply_to=our_id))
    answer = await inbound(maria)
    assert answer["conversation_id"] == conversation_id
    assert answer["message"]["parts"][0] == {"type": "text", "text": "Thanks!"}

    # Someone else answering the same thread gets a conversation of their own.
    await room.deliver(mail("I got this too?", sender="other@example.org", in_reply_to=our_id))
    other = await inbound(maria)
    assert other["conversation_id"] != conversation_id


async def test_auto_replies_and_bounces_open_nothing(room: Mailroom) -> None:
    maria = await online(room)
    await room.deliver(corpus("autoreply.eml"))
    await room.deliver(corpus("bounce_dsn.eml"))
    await room.deliver(mail("A real question"))
    created = await maria.expect("message.created", timeout=3.0)
    assert created["message"]["parts"][0]["text"] == "A real question"
    await maria.expect("conversation.assigned")
    await maria.no_frame(0.5)
    assert len(await room.messages()) == 1


async def test_restart_mid_fetch_loses_and_duplicates_nothing(
    database_url: str, tmp_path: Path, dovecot: Dovecot, mailbox: str, smtp: SmtpSink
) -> None:
    for n in range(5):
        await dovecot.append(mailbox, mail(f"Mail {n}", message_id=f"<restart-{n}@example.org>"))

    def small_batches(deps: AdapterDeps) -> EmailAdapter:
        return EmailAdapter(deps, batch=2)

    app, server = await start_app(database_url, tmp_path, small_batches)
    core = app[SERVICES].core
    options = dovecot.options(mailbox, smtp_port=str(smtp.port))
    await add_channel(core, ChannelKind("email"), "Shop", options)
    await app[SERVICES].pollers.reconcile()

    async def stored(app: web.Application) -> list[str]:
        async def work(tx: Tx) -> list[str]:
            ids: list[str] = []
            for conv in await tx.conversations.list(ConversationFilter()):
                ids += [m.external_id or "" for m in await tx.messages.list(conv.id)]
            return ids

        return await app[SERVICES].core.store.read(work)

    deadline = time.monotonic() + 5
    while not await stored(app):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    first = await stored(app)
    await server.close()  # stopped after the first batch, before the rest
    assert first  # mid-batch on some runs: the batch is stored mail by mail

    app2, server2 = await start_app(database_url, tmp_path, small_batches)
    try:
        await app2[SERVICES].pollers.reconcile()
        deadline = time.monotonic() + 10
        while len(await stored(app2)) < 5:
            assert time.monotonic() < deadline, await stored(app2)
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        ids = await stored(app2)
        assert sorted(ids) == [f"<restart-{n}@example.org>" for n in range(5)]
    finally:
        await server2.close()
