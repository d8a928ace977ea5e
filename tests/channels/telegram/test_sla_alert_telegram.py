"""A queue's SLA breach also reaches a supervisor's Telegram chat, through one of our
Telegram channels and the fake Bot API; a failing Bot API loses the alert but never the
routing pass. Runs on SQLite and PostgreSQL with an injected clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from inbox.domain.channels import ChannelKind
from inbox.domain.clock import FixedClock
from inbox.domain.content import Text
from inbox.domain.messages import InboundMessage, SenderProfile
from inbox.domain.operators import Role
from inbox.usecases import add_channel, add_operator, ingest_inbound
from operator_ws import Argon2PasswordHasher
from server.app import SERVICES
from tests.channels.telegram.test_telegram_e2e import add_telegram_channel, start_app
from tests.fakes.telegram_api import TelegramApiFake

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

SUPERVISOR_CHAT = "-1001234567890"


async def _until(done: Callable[[], bool]) -> None:
    for _ in range(250):
        if done():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


async def test_a_breach_is_sent_to_the_supervisors_telegram_chat(
    database_url: str, tmp_path: Path
) -> None:
    clock = FixedClock()
    async with TelegramApiFake() as fake:
        app, server = await start_app(database_url, tmp_path, clock)
        try:
            services = app[SERVICES]
            core = services.core
            bot = await add_telegram_channel(app, fake)
            chat = await add_channel(core, ChannelKind("webchat"), "Shop chat", {})
            boss = await add_operator(
                core,
                Argon2PasswordHasher(fast_for_tests=True),
                login="boss",
                password="long enough",
                role=Role.SUPERVISOR,
            )
            await services.router.save_queue(
                boss,
                "Shop",
                {
                    "channels": [chat.id],
                    "sla": {"0": {"first_response": 60}},
                    "alert_telegram": {"channel_id": bot.id, "chat_id": SUPERVISOR_CHAT},
                },
                create=True,
            )
            for n, name in enumerate(("Maria", "Oleg")):
                await ingest_inbound(
                    core,
                    InboundMessage(
                        channel_id=chat.id,
                        external_id=f"m{n}",
                        sender=SenderProfile(f"v{n}", display_name=name),
                        parts=(Text("Hello?"),),
                    ),
                )
                await services.router.run_pass()
                if n == 0:
                    clock.advance(30)
            fake.fail_next("server_error", method="sendMessage")
            clock.advance(31)  # Maria has waited 61 s: her alert fails at the Bot API
            await services.router.run_pass()
            clock.advance(30)  # Oleg has waited 61 s: his alert gets through
            await services.router.run_pass()

            def sent() -> list[str]:
                return [
                    str(c.params.get("text"))
                    for c in fake.calls("sendMessage", ok=True)
                    if str(c.params.get("chat_id")) == SUPERVISOR_CHAT
                ]

            await _until(lambda: len(sent()) == 1)
            assert "[Shop] SLA breached (first response)" in sent()[0]
            assert "Oleg" in sent()[0]
            assert len(fake.calls("sendMessage", ok=False)) == 1
            # The pass went on: both breaches are recorded, once each.
            await services.router.run_pass()
            assert len(sent()) == 1
        finally:
            await server.close()
