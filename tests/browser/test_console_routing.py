"""The console's routing features in a real browser (Debian's chromium, Playwright): offers
with a live countdown on the server's clock (accept, decline, expiry, a reload keeps
them), no "Claim" in a queue without picking by hand, transfers from the
conversation header, SLA alerts as banners, and the supervisors' "Queues" view and "Why?"
explanation. Customers write through the web chat WebSocket (the ``websockets`` package);
queues are configured through the router's own ``save_queue``."""

from __future__ import annotations

import asyncio
import json
import os
import re
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, expect
from websockets.asyncio.client import ClientConnection, connect

from inbox.domain.channels import ChannelKind
from inbox.domain.ids import ChannelId
from inbox.domain.operators import Operator, Presence, Role
from inbox.usecases import add_channel, add_operator, set_presence
from operator_ws import Argon2PasswordHasher
from server.app import SERVICES, Services, create_app
from tests.e2e.conftest import PASSWORD, make_settings

TIMEOUT_MS = 10_000
pytestmark = pytest.mark.browser


@dataclass
class Env:
    server: TestServer
    services: Services
    webchat_id: ChannelId
    anna: Operator  # an operator
    bob: Operator  # an operator with no room (capacity 0)
    sam: Operator  # a supervisor

    @property
    def base(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    async def queue(self, **settings: Any) -> None:
        """The queue "Sales" for the web chat with these settings, Anna and Bob its members."""
        await self.services.router.save_queue(
            self.sam,
            "Sales",
            {"channels": [self.webchat_id], "members": ["anna", "bob"], **settings},
            create=True,
        )


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    hasher = Argon2PasswordHasher(fast_for_tests=True)
    app = await create_app(
        # Each console sets its presence itself (``_console(online=...)``).
        make_settings(
            f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}", tmp_path, online_on_login=False
        ),
        hasher=hasher,
    )
    services = app[SERVICES]
    core = services.core
    anna = await add_operator(core, hasher, login="anna", password=PASSWORD, display_name="Anna")
    bob = await add_operator(
        core, hasher, login="bob", password=PASSWORD, display_name="Bob", capacity=0
    )
    sam = await add_operator(
        core, hasher, login="sam", password=PASSWORD, display_name="Sam", role=Role.SUPERVISOR
    )
    webchat = await add_channel(core, ChannelKind("webchat"), "Shop", {})
    srv = TestServer(app, host="127.0.0.1")
    await srv.start_server()
    try:
        yield Env(srv, services, webchat.id, anna, bob, sam)
    finally:
        await srv.close()


class Customer:
    """A web chat visitor on a raw WebSocket (docs/webchat-protocol.md)."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.pending: list[dict[str, Any]] = []

    async def send(self, **frame: Any) -> None:
        await self.ws.send(json.dumps(frame))

    async def expect(self, type_: str, **match: Any) -> dict[str, Any]:
        def fits(frame: Mapping[str, Any]) -> bool:
            return frame.get("type") == type_ and all(frame.get(k) == v for k, v in match.items())

        for kept in self.pending:
            if fits(kept):
                self.pending.remove(kept)
                return kept
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), TIMEOUT_MS / 1000)
            frame: dict[str, Any] = json.loads(raw)
            assert frame.get("type") != "error", frame
            if fits(frame):
                return frame
            self.pending.append(frame)

    async def say(self, text: str) -> None:
        client_id = uuid.uuid4().hex
        await self.send(type="message", text=text, client_id=client_id)
        await self.expect("ack", client_id=client_id)


@asynccontextmanager
async def customer(env: Env, name: str) -> AsyncIterator[Customer]:
    url = str(env.server.make_url(f"/ws/webchat/{env.webchat_id}")).replace("http", "ws", 1)
    async with connect(url) as ws:
        visitor = Customer(ws)
        await visitor.send(type="hello", name=name)
        await visitor.expect("welcome")
        yield visitor


async def _console(
    browser: Browser, env: Env, login: str, *, online: bool = True, clock: datetime | None = None
) -> Page:
    """A logged-in console page (online unless told otherwise; ``clock``: the browser's
    time, running from there)."""
    context = await browser.new_context(viewport={"width": 1280, "height": 860})
    if clock is not None:
        await context.clock.install(time=clock)
    page = await context.new_page()
    await page.goto(env.base + "/")
    await page.get_by_test_id("login-login").fill(login)
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("conn-status")).to_have_attribute(
        "data-state", "up", timeout=TIMEOUT_MS
    )
    if online:
        await page.get_by_test_id("presence-select").select_option("online")
        await expect(page.locator("#presence-dot")).to_have_attribute("data-status", "online")
    return page


async def _screenshot(page: Page, name: str) -> None:
    """Saved only when INBOX_TEST_SCREENSHOTS names a directory (to look at the layout)."""
    folder = os.environ.get("INBOX_TEST_SCREENSHOTS")
    if folder:
        await page.screenshot(path=str(Path(folder) / f"{name}.png"))


async def _seconds_left(page: Page) -> int:
    value = await page.get_by_test_id("offer-countdown").get_attribute("data-seconds")
    assert value is not None
    return int(value)


async def test_offer_counts_down_survives_a_reload_and_is_accepted(
    browser: Browser, env: Env
) -> None:
    await env.queue(accept_timeout=60)
    page = await _console(browser, env, "anna")
    # Operators see neither the supervisors' buttons nor an empty offers panel.
    await expect(page.get_by_test_id("btn-queues")).to_be_hidden()
    await expect(page.get_by_test_id("offers")).to_be_hidden()

    async with customer(env, "Maria") as maria:
        hostile = "<b>lenses</b> for astigmatism?"
        await maria.say(hostile)

        offer = page.get_by_test_id("offer")
        await expect(offer).to_have_count(1, timeout=TIMEOUT_MS)
        await expect(offer).to_have_attribute("role", "alert")
        await expect(offer.get_by_test_id("offer-contact")).to_contain_text("Maria")
        await expect(offer.get_by_test_id("offer-queue")).to_have_text("Queue: Sales")
        await expect(offer.get_by_test_id("offer-preview")).to_have_text(hostile)  # as text
        assert await offer.locator("b").count() == 0
        await expect(offer).to_contain_text("Web chat")
        await expect(page.get_by_test_id("count-offers")).to_have_text("1")

        # A countdown in whole seconds that goes down.
        countdown = offer.get_by_test_id("offer-countdown")
        await expect(countdown).to_have_text(re.compile(r"^\d+ s$"))
        first = await _seconds_left(page)
        assert 50 <= first <= 60, first
        await expect(countdown).not_to_have_attribute("data-seconds", str(first), timeout=3_000)
        assert await _seconds_left(page) < first
        await _screenshot(page, "routing-offer")

        # A reload loads the pending offer over REST.
        await page.reload()
        await expect(page.get_by_test_id("conn-status")).to_have_attribute(
            "data-state", "up", timeout=TIMEOUT_MS
        )
        offer = page.get_by_test_id("offer")
        await expect(offer).to_have_count(1, timeout=TIMEOUT_MS)
        assert 40 <= await _seconds_left(page) < first

        await offer.get_by_test_id("offer-accept").click()
        await expect(page.get_by_test_id("offer")).to_have_count(0, timeout=TIMEOUT_MS)
        await expect(page.get_by_test_id("offers")).to_be_hidden()
        mine = page.get_by_test_id("list-mine").get_by_test_id("conversation-item")
        await expect(mine.filter(has_text="Maria")).to_have_count(1, timeout=TIMEOUT_MS)
        # Accepting opens the conversation, now Anna's.
        await expect(page.get_by_test_id("conv-name")).to_contain_text("Maria")
        await expect(page.get_by_test_id("conv-status")).to_have_text("Assigned")
        await expect(page.get_by_test_id("conv-assignee")).to_have_text("Assignee: Anna")
        await expect(page.get_by_test_id("btn-why")).to_be_hidden()
        await expect(page.get_by_test_id("btn-transfer")).to_be_visible()


async def test_declined_and_expired_offers_disappear(browser: Browser, env: Env) -> None:
    await env.queue(accept_timeout=60)
    page = await _console(browser, env, "anna")
    async with customer(env, "Ivan") as ivan:
        await ivan.say("Hello?")
        offer = page.get_by_test_id("offer").filter(has_text="Ivan")
        await expect(offer).to_have_count(1, timeout=TIMEOUT_MS)
        await offer.get_by_test_id("offer-decline").click()
        await expect(page.get_by_test_id("offer")).to_have_count(0, timeout=TIMEOUT_MS)
        await expect(page.get_by_test_id("offers")).to_be_hidden()
        # Still waiting in the queue, and not offered to Anna again.
        queued = page.get_by_test_id("list-queue").get_by_test_id("conversation-item")
        await expect(queued.filter(has_text="Ivan")).to_have_count(1, timeout=TIMEOUT_MS)
        await expect(
            page.get_by_test_id("list-mine").get_by_test_id("conversation-item")
        ).to_have_count(0)

        # A queue that does not allow picking by hand offers no "Claim", and says why
        # (tests/browser/test_console_take.py has the whole story).
        await env.services.router.save_queue(env.sam, "Sales", {"allow_pick": False}, create=False)
        await queued.filter(has_text="Ivan").click()
        await expect(page.get_by_test_id("conv-notice")).to_contain_text(
            "Taking by hand is off in the queue Sales", timeout=TIMEOUT_MS
        )
        await expect(page.get_by_test_id("btn-claim")).to_be_hidden()
        await expect(page.get_by_test_id("conv-status")).to_have_text("Queued")

    # A short accept timeout: the offer goes by itself when the countdown runs out.
    await env.services.router.save_queue(env.sam, "Sales", {"accept_timeout": 3}, create=False)
    async with customer(env, "Olga") as olga:
        await olga.say("Anyone there?")
        offer = page.get_by_test_id("offer").filter(has_text="Olga")
        await expect(offer).to_have_count(1, timeout=TIMEOUT_MS)
        assert await _seconds_left(page) <= 3
        await expect(offer).to_have_count(0, timeout=6_000)
        await expect(page.get_by_test_id("offers")).to_be_hidden()


async def test_supervisor_sees_why_and_the_queues(browser: Browser, env: Env) -> None:
    # No accept timeout: the router assigns directly. Bob is online but has no room.
    await env.queue(strategy="least_loaded")
    await set_presence(env.services.core, env.bob.id, Presence.ONLINE)
    anna = await _console(browser, env, "anna")
    sam = await _console(browser, env, "sam", online=False)

    async with customer(env, "Maria") as maria:
        await maria.say("Do you sell frames?")
        mine = anna.get_by_test_id("list-mine").get_by_test_id("conversation-item")
        await expect(mine.filter(has_text="Maria")).to_have_count(1, timeout=TIMEOUT_MS)

        others = sam.get_by_test_id("list-others").get_by_test_id("conversation-item")
        await expect(others.filter(has_text="Maria")).to_have_count(1, timeout=TIMEOUT_MS)
        await others.filter(has_text="Maria").click()
        await expect(sam.get_by_test_id("btn-transfer")).to_be_visible()
        await sam.get_by_test_id("btn-why").click()

        dialog = sam.get_by_test_id("why-dialog")
        await expect(dialog).to_be_visible()
        assigned = dialog.locator("[data-testid=why-decision][data-outcome=assign]")
        await expect(assigned).to_have_count(1, timeout=TIMEOUT_MS)
        await expect(assigned.get_by_test_id("why-outcome")).to_have_text("Assigned")
        await expect(assigned).to_contain_text("step 0")
        await expect(assigned).to_contain_text("Winners")
        winner = assigned.locator("[data-testid=why-candidate][data-result=winner]")
        await expect(winner).to_have_count(1)
        await expect(winner).to_contain_text("Anna")
        await expect(winner).to_contain_text("load")
        refused = assigned.locator(f"[data-testid=why-candidate][data-operator='{env.bob.id}']")
        await expect(refused).to_have_attribute("data-result", "excluded")
        await expect(refused).to_contain_text("no free capacity")
        await expect(dialog.get_by_test_id("why-task")).to_contain_text("Sales")
        await _screenshot(sam, "routing-why")
        await dialog.locator("[data-close]").first.click()
        await expect(dialog).to_be_hidden()

        # The Queues view: Sales has one assigned conversation and one member online.
        await sam.get_by_test_id("btn-queues").click()
        view = sam.get_by_test_id("queues-view")
        await expect(view).to_be_visible()
        await expect(sam.locator("#conv-main")).to_be_hidden()
        row = view.get_by_test_id("queue-row").filter(has_text="Sales")
        await expect(row).to_have_count(1, timeout=TIMEOUT_MS)
        await expect(row.locator("[data-stat=assigned]")).to_have_text("1")
        await expect(row.locator("[data-stat=waiting]")).to_have_text("0")
        await expect(row.locator("[data-stat=members_online]")).to_have_text("2")
        await expect(row).to_contain_text("least loaded")
        await expect(view.get_by_test_id("queues-updated")).to_contain_text("Updated")
        await _screenshot(sam, "routing-queues")
        await view.get_by_test_id("queues-refresh").click()
        await view.get_by_test_id("queues-close").click()
        await expect(view).to_be_hidden()
        await expect(sam.locator("#conv-main")).to_be_visible()


async def test_transfer_dialog_shows_errors_and_moves_the_conversation(
    browser: Browser, env: Env
) -> None:
    await env.queue()
    await set_presence(env.services.core, env.bob.id, Presence.ONLINE)
    anna = await _console(browser, env, "anna")
    sam = await _console(browser, env, "sam", online=False)

    async with customer(env, "Maria") as maria:
        await maria.say("I need a hand with my order")
        item = anna.get_by_test_id("list-mine").get_by_test_id("conversation-item")
        await expect(item.filter(has_text="Maria")).to_have_count(1, timeout=TIMEOUT_MS)
        await item.filter(has_text="Maria").click()
        await anna.get_by_test_id("btn-transfer").click()

        dialog = anna.get_by_test_id("transfer-dialog")
        await expect(dialog).to_be_visible()
        # Operators with their presence; Anna herself (the assignee) is not a target.
        select = dialog.get_by_test_id("transfer-operator")
        await expect(select.locator(f"option[value='{env.bob.id}']")).to_have_text(
            re.compile(r"Bob.*online")
        )
        await expect(select.locator(f"option[value='{env.anna.id}']")).to_have_count(0)
        await expect(select.locator(f"option[value='{env.sam.id}']")).to_be_disabled()

        # Bob has no room: the server says so, in the dialog.
        await select.select_option(env.bob.id)
        await dialog.get_by_test_id("transfer-submit").click()
        error = dialog.get_by_test_id("transfer-error")
        await expect(error).to_contain_text("capacity", timeout=TIMEOUT_MS)
        await _screenshot(anna, "routing-transfer-error")
        await expect(dialog).to_be_visible()

        # A bad skill level is caught before sending.
        await dialog.get_by_test_id("transfer-mode-queue").check()
        queues = dialog.get_by_test_id("transfer-queue")
        await expect(queues.locator("option", has_text="Sales")).to_have_count(
            1, timeout=TIMEOUT_MS
        )
        await queues.select_option(label="Sales")
        await dialog.get_by_test_id("transfer-skills").fill("lenses=11")
        await dialog.get_by_test_id("transfer-submit").click()
        await expect(error).to_contain_text("whole number")

        # To the queue, for someone who knows lenses, with a note.
        await dialog.get_by_test_id("transfer-skills").fill("lenses=3")
        await dialog.get_by_test_id("transfer-note").fill("Asks about toric lenses")
        await dialog.get_by_test_id("transfer-submit").click()
        await expect(dialog).to_be_hidden(timeout=TIMEOUT_MS)
        await expect(anna.get_by_test_id("conv-status")).to_have_text("Queued", timeout=TIMEOUT_MS)
        note = anna.get_by_test_id("message").filter(has_text="Asks about toric lenses")
        await expect(note).to_have_attribute("data-kind", "note", timeout=TIMEOUT_MS)
        await expect(anna.get_by_test_id("btn-transfer")).to_be_hidden()

        # The supervisor's "Why?" lists the transfer.
        others = sam.get_by_test_id("list-queue").get_by_test_id("conversation-item")
        await expect(others.filter(has_text="Maria")).to_have_count(1, timeout=TIMEOUT_MS)
        await others.filter(has_text="Maria").click()
        await sam.get_by_test_id("btn-why").click()
        why = sam.get_by_test_id("why-dialog")
        transfer = why.locator("[data-testid=why-decision][data-outcome=transfer]")
        await expect(transfer).to_have_count(1, timeout=TIMEOUT_MS)
        await expect(transfer).to_contain_text("Transferred")
        await expect(transfer).to_contain_text("Anna")
        await expect(transfer).to_contain_text("Sales")
        await transfer.scroll_into_view_if_needed()
        await _screenshot(sam, "routing-why-transfer")


async def test_sla_alerts_reach_the_assignee_and_the_supervisor(browser: Browser, env: Env) -> None:
    # First response due 4 s after the customer writes; the warning 3 s before that.
    await env.queue(sla={"0": {"first_response": 4}}, sla_warning_before=3)
    anna = await _console(browser, env, "anna")
    sam = await _console(browser, env, "sam", online=False)

    async with customer(env, "Maria") as maria:
        await maria.say("Hello, is the shop open on Sunday?")
        warning = anna.locator("[data-testid=routing-alert][data-kind=sla_warning]")
        await expect(warning).to_have_count(1, timeout=TIMEOUT_MS)
        await expect(warning).to_contain_text("SLA warning: first response due soon")
        await expect(warning).to_contain_text("Sales")
        await expect(warning).to_contain_text("Maria")

        breach = sam.locator("[data-testid=routing-alert][data-kind=sla_breach]")
        await expect(breach).to_have_count(1, timeout=TIMEOUT_MS)
        await expect(breach).to_contain_text("SLA breached: first response overdue")
        await expect(breach).to_contain_text("Anna")
        await _screenshot(sam, "routing-alert")
        await breach.get_by_test_id("alert-open").click()
        await expect(sam.get_by_test_id("conv-name")).to_contain_text("Maria")
        await breach.get_by_test_id("alert-dismiss").click()
        await expect(sam.get_by_test_id("routing-alerts")).to_be_hidden()
        # Operators never get the supervisors' alerts.
        await expect(
            anna.locator("[data-testid=routing-alert][data-kind=sla_breach]")
        ).to_have_count(0)


async def test_offer_countdown_follows_the_servers_clock(browser: Browser, env: Env) -> None:
    """A browser whose clock is an hour fast still counts down from the offer's 60 s."""
    await env.queue(accept_timeout=60)
    page = await _console(browser, env, "anna", clock=datetime.now(UTC) + timedelta(hours=1))
    async with customer(env, "Maria") as maria:
        await maria.say("Hello")
        offer = page.get_by_test_id("offer")
        await expect(offer).to_have_count(1, timeout=TIMEOUT_MS)
        await expect(offer.get_by_test_id("offer-countdown")).to_have_text(re.compile(r"^\d+ s$"))
        assert 50 <= await _seconds_left(page) <= 60
        await offer.get_by_test_id("offer-accept").click()
        await expect(page.get_by_test_id("conv-status")).to_have_text(
            "Assigned", timeout=TIMEOUT_MS
        )


async def test_the_assignee_tags_the_customer(browser: Browser, env: Env) -> None:
    await env.queue()
    page = await _console(browser, env, "anna")
    async with customer(env, "Vera") as vera:
        await vera.say("Hello")
        mine = page.get_by_test_id("list-mine").get_by_test_id("conversation-item")
        await expect(mine.filter(has_text="Vera")).to_have_count(1, timeout=TIMEOUT_MS)
        await mine.filter(has_text="Vera").click()
        await page.get_by_test_id("btn-tags").click()
        await page.get_by_test_id("tags-input").fill("VIP, <i>x</i>")
        await page.get_by_test_id("tags-form").get_by_role("button", name="Save").click()
        await expect(page.get_by_test_id("tags-error")).to_contain_text("bad tag")
        await page.get_by_test_id("tags-input").fill("VIP, wholesale")
        await page.get_by_test_id("tags-form").get_by_role("button", name="Save").click()
        await expect(page.get_by_test_id("tags-form")).to_be_hidden()
        tags = page.get_by_test_id("conv-tags").locator(".badge-tag")
        await expect(tags).to_have_text(["vip", "wholesale"])
        await page.reload()
        await expect(page.get_by_test_id("conv-tags").locator(".badge-tag")).to_have_text(
            ["vip", "wholesale"], timeout=TIMEOUT_MS
        )
