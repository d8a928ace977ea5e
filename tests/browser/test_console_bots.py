"""The console's bot features in a real browser (Debian's chromium, Playwright): the
supervisors' "Bot & hours" page saves business hours and a flow with an FAQ entry and
shows whether the inbox is open; a bad time zone shows the server's error and changes
nothing; operators neither see the page nor get the settings from the API; the bot's
messages and notes carry a "Bot" marker; the customer's rating shows in the conversation
header, live and after a reload. Customers write through the web chat WebSocket."""

from __future__ import annotations

import asyncio
import json
import os
import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, expect
from websockets.asyncio.client import ClientConnection, connect

from bots import DEFAULT_SCOPE
from bots.flow import flow_from_json
from inbox.domain.channels import ChannelKind
from inbox.domain.ids import ChannelId
from inbox.domain.operators import Operator, Role
from inbox.usecases import add_channel, add_operator
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
    sam: Operator  # a supervisor

    @property
    def base(self) -> str:
        return str(self.server.make_url("")).rstrip("/")


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    hasher = Argon2PasswordHasher(fast_for_tests=True)
    app = await create_app(
        # The supervisor stays offline after signing in: the hand-off waits in the queue
        # and is claimed by hand (INBOX_ONLINE_ON_LOGIN would let the router race the claim).
        make_settings(
            f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}", tmp_path, online_on_login=False
        ),
        hasher=hasher,
    )
    services = app[SERVICES]
    core = services.core
    anna = await add_operator(core, hasher, login="anna", password=PASSWORD, display_name="Anna")
    sam = await add_operator(
        core, hasher, login="sam", password=PASSWORD, display_name="Sam", role=Role.SUPERVISOR
    )
    webchat = await add_channel(core, ChannelKind("webchat"), "Shop", {})
    srv = TestServer(app, host="127.0.0.1")
    await srv.start_server()
    try:
        yield Env(srv, services, webchat.id, anna, sam)
    finally:
        await srv.close()


class Visitor:
    """A web chat visitor on a raw WebSocket that keeps every frame it has not been asked
    for yet (the bot's answers may come before the ack of the message they answer)."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.kept: list[dict[str, Any]] = []

    async def send(self, **frame: Any) -> None:
        await self.ws.send(json.dumps(frame))

    async def next(self, fits: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        for i, old in enumerate(self.kept):
            if fits(old):
                return self.kept.pop(i)
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), TIMEOUT_MS / 1000)
            frame: dict[str, Any] = json.loads(raw)
            assert frame.get("type") != "error", frame
            if fits(frame):
                return frame
            self.kept.append(frame)

    async def say(self, text: str) -> None:
        client_id = uuid.uuid4().hex
        await self.send(type="message", text=text, client_id=client_id)
        await self.next(lambda f: f.get("type") == "ack" and f.get("client_id") == client_id)

    async def bot(self) -> dict[str, Any]:
        frame = await self.next(
            lambda f: f.get("type") == "message" and f["message"].get("from") == "agent"
        )
        message: dict[str, Any] = frame["message"]
        return message


@asynccontextmanager
async def visitor(env: Env, name: str) -> AsyncIterator[Visitor]:
    url = str(env.server.make_url(f"/ws/webchat/{env.webchat_id}")).replace("http", "ws", 1)
    async with connect(url) as ws:
        v = Visitor(ws)
        await v.send(type="hello", name=name)
        await v.next(lambda f: f.get("type") == "welcome")
        yield v


async def _console(browser: Browser, env: Env, login: str) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(env.base + "/")
    await page.get_by_test_id("login-login").fill(login)
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("conn-status")).to_have_attribute(
        "data-state", "up", timeout=TIMEOUT_MS
    )
    return page


async def _api(page: Page, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """A REST call with the page's own session token (what the console itself holds)."""
    result: dict[str, Any] = await page.evaluate(
        """async ([method, path, body]) => {
            const headers = { Authorization: `Bearer ${localStorage.getItem('inbox.token')}` };
            const init = { method, headers };
            if (body !== null) {
                headers['Content-Type'] = 'application/json';
                init.body = JSON.stringify(body);
            }
            const res = await fetch(path, init);
            return { status: res.status, body: await res.json() };
        }""",
        [method, path, body],
    )
    return result["status"], result["body"]


async def _screenshot(page: Page, name: str) -> None:
    """Saved only when INBOX_TEST_SCREENSHOTS names a directory (to look at the layout)."""
    folder = os.environ.get("INBOX_TEST_SCREENSHOTS")
    if folder:
        await page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


async def _open_bots(page: Page) -> None:
    await page.get_by_test_id("btn-bots").click()
    view = page.get_by_test_id("bots-view")
    await expect(view).to_be_visible()
    await expect(view).to_have_attribute("data-state", "ready", timeout=TIMEOUT_MS)


async def test_supervisor_saves_hours_and_a_flow_and_a_bad_time_zone_changes_nothing(
    browser: Browser, env: Env
) -> None:
    sales = await env.services.router.save_queue(
        env.sam, "Sales", {"channels": [env.webchat_id]}, create=True
    )
    sales_id = str(sales["id"])
    page = await _console(browser, env, "sam")
    await _open_bots(page)

    # The scopes: the whole inbox and every routing queue.
    scope = page.get_by_test_id("bots-scope")
    queues = (await _api(page, "GET", "/api/v1/queues"))[1]["queues"]
    await expect(scope.locator("option")).to_have_count(1 + len(queues), timeout=TIMEOUT_MS)
    await expect(scope.locator("option[value='default']")).to_contain_text("Whole inbox")
    await expect(scope.locator(f"option[value='{sales_id}']")).to_contain_text("Sales")
    await expect(page.get_by_test_id("bots-open-now")).to_contain_text("Open now")
    await expect(page.get_by_test_id("bots-hours-inherit")).to_be_visible()

    # Hours of the Sales queue, in the CLI's grammar.
    await scope.select_option(sales_id)
    await expect(page.get_by_test_id("bots-view")).to_have_attribute("data-state", "ready")
    await page.get_by_test_id("bots-tz").fill("Europe/Moscow")
    await page.get_by_test_id("bots-week").fill("mon-sun 00:00-24:00")
    await page.get_by_test_id("bots-holidays").fill("2099-01-01..2099-01-08, 2099-05-09")
    await page.get_by_test_id("bots-exceptions").fill("2099-03-06=10:00-16:00\n2099-03-08=closed")
    await page.get_by_test_id("bots-save-hours").click()
    await expect(page.get_by_test_id("bots-hours-saved")).to_be_visible(timeout=TIMEOUT_MS)
    await expect(page.get_by_test_id("bots-hours-error")).to_be_hidden()
    await expect(page.get_by_test_id("bots-open-now")).to_contain_text("Open now")
    await expect(page.get_by_test_id("bots-hours-inherit")).to_be_hidden()
    await expect(scope.locator(f"option[value='{sales_id}']")).to_contain_text("own settings")

    status, body = await _api(page, "GET", f"/api/v1/bots/{sales_id}")
    assert status == 200, body
    hours = body["hours"]
    assert hours["tz"] == "Europe/Moscow"
    assert set(hours["week"]) == {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
    assert all(len(v) == 1 for v in hours["week"].values()), hours["week"]
    assert hours["holidays"] == ["2099-01-01..2099-01-08", "2099-05-09"]
    assert hours["exceptions"] == {"2099-03-06": ["10:00-16:00"], "2099-03-08": []}
    assert body["status"]["open_now"] is True
    # The form shows what was stored, in the same grammar.
    await expect(page.get_by_test_id("bots-week")).to_have_value(
        "mon-sun " + hours["week"]["mon"][0]
    )

    # A flow with one FAQ entry (an answer with markup, which stays text).
    await page.get_by_test_id("bots-language").select_option("en")
    await page.get_by_test_id("bots-greeting").fill("Hello from the shop!")
    await page.get_by_test_id("bots-faq-add").click()
    row = page.get_by_test_id("bots-faq-row")
    await expect(row).to_have_count(1)
    await row.get_by_test_id("bots-faq-title").fill("Delivery")
    await row.get_by_test_id("bots-faq-answer").fill("<b>Two days</b> by courier.")
    await row.get_by_test_id("bots-faq-keywords").fill("delivery, courier")
    await page.get_by_test_id("bots-handoff").fill("operator, human")
    await page.get_by_test_id("bots-collect-phone").check()
    await page.locator("details.bots-texts summary").click()
    await page.get_by_test_id("bots-text-fallback").fill("Please type operator.")
    await page.get_by_test_id("bots-save-flow").click()
    await expect(page.get_by_test_id("bots-flow-saved")).to_be_visible(timeout=TIMEOUT_MS)
    await expect(page.get_by_test_id("bots-flow-error")).to_be_hidden()

    status, body = await _api(page, "GET", f"/api/v1/bots/{sales_id}")
    assert status == 200, body
    flow = body["flow"]
    assert flow["language"] == "en"
    assert flow["enabled"] is True
    assert flow["greeting"] == "Hello from the shop!"
    assert flow["faq"] == [
        {
            "title": "Delivery",
            "answer": "<b>Two days</b> by courier.",
            "keywords": ["delivery", "courier"],
        }
    ]
    assert flow["handoff"] == ["operator", "human"]
    assert [step["field"] for step in flow["collect"]] == ["phone"]
    assert flow["texts"]["fallback"] == "Please type operator."
    assert flow["texts"]["menu_prompt"] == "Pick a topic or type your question:"  # a default
    # The saved entry is shown back as form values, not markup.
    await expect(row.get_by_test_id("bots-faq-answer")).to_have_value("<b>Two days</b> by courier.")
    assert await page.get_by_test_id("bots-view").locator("b").count() == 0

    # A bad time zone: the server's sentence next to the form, and nothing changes.
    await page.get_by_test_id("bots-tz").fill("Mars/Olympus")
    await page.get_by_test_id("bots-save-hours").click()
    error = page.get_by_test_id("bots-hours-error")
    await expect(error).to_be_visible(timeout=TIMEOUT_MS)
    await expect(error).to_contain_text("Mars/Olympus")
    await expect(page.get_by_test_id("bots-hours-saved")).to_be_hidden()
    await expect(page.get_by_test_id("bots-tz")).to_have_value("Mars/Olympus")  # kept to fix
    status, body = await _api(page, "GET", f"/api/v1/bots/{sales_id}")
    assert status == 200, body
    assert body["hours"] == hours
    assert body["flow"] == flow

    # A bad flow likewise (an FAQ entry without an answer).
    await page.get_by_test_id("bots-faq-add").click()
    await row.nth(1).get_by_test_id("bots-faq-keywords").fill("returns")
    await page.get_by_test_id("bots-save-flow").click()
    flow_error = page.get_by_test_id("bots-flow-error")
    await expect(flow_error).to_be_visible(timeout=TIMEOUT_MS)
    await expect(flow_error).to_contain_text("faq[1].answer")
    status, body = await _api(page, "GET", f"/api/v1/bots/{sales_id}")
    assert body["flow"] == flow

    # A reload of the page shows the stored settings again.
    await page.get_by_test_id("bots-reload").click()
    await expect(page.get_by_test_id("bots-tz")).to_have_value("Europe/Moscow", timeout=TIMEOUT_MS)
    await expect(page.get_by_test_id("bots-hours-error")).to_be_hidden()
    await expect(page.get_by_test_id("bots-faq-row")).to_have_count(1)

    # The whole inbox has settings of its own only when saved there.
    await scope.select_option("default")
    await expect(page.get_by_test_id("bots-flow-none")).to_be_visible(timeout=TIMEOUT_MS)
    await expect(page.get_by_test_id("bots-faq-row")).to_have_count(0)

    # Closed hours show when the inbox opens next (in the schedule's zone).
    today = datetime.now(ZoneInfo("Europe/Berlin")).date()
    reopens = today + timedelta(days=2)
    await page.get_by_test_id("bots-tz").fill("Europe/Berlin")
    await page.get_by_test_id("bots-week").fill("mon-sun 00:00-24:00")
    await page.get_by_test_id("bots-holidays").fill(
        f"{today - timedelta(days=1)}..{today + timedelta(days=1)}"
    )
    await page.get_by_test_id("bots-exceptions").fill("")
    await page.get_by_test_id("bots-save-hours").click()
    await expect(page.get_by_test_id("bots-hours-saved")).to_be_visible(timeout=TIMEOUT_MS)
    status_line = page.get_by_test_id("bots-status")
    await expect(status_line).to_have_attribute("data-open", "false")
    await expect(status_line).to_contain_text("Closed now")
    await expect(status_line).to_contain_text(str(reopens.day))
    await expect(status_line).to_contain_text("Europe/Berlin")
    status, body = await _api(page, "GET", "/api/v1/bots/default")
    assert body["status"]["open_now"] is False
    assert body["status"]["next_open"].startswith(reopens.isoformat())
    await _screenshot(page, "bots-settings")

    await page.get_by_test_id("bots-close").click()
    await expect(page.get_by_test_id("bots-view")).to_be_hidden()


async def test_an_operator_has_no_settings_page_and_gets_403(browser: Browser, env: Env) -> None:
    page = await _console(browser, env, "anna")
    await expect(page.get_by_test_id("me-name")).to_have_text("Anna")
    await expect(page.get_by_test_id("btn-bots")).to_be_hidden()
    await expect(page.get_by_test_id("bots-view")).to_be_hidden()
    status, body = await _api(page, "GET", "/api/v1/bots/default")
    assert status == 403, body
    status, body = await _api(
        page, "PUT", "/api/v1/bots/default/hours", {"tz": "UTC", "week": "mon 09:00-18:00"}
    )
    assert status == 403, body
    assert env.services.bots.settings.stored(DEFAULT_SCOPE) is None


async def test_bot_messages_and_notes_are_marked_and_the_rating_shows(
    browser: Browser, env: Env
) -> None:
    await env.services.bots.settings.save_flow(
        DEFAULT_SCOPE,
        flow_from_json(
            {
                "language": "en",
                "greeting": "<i>Hi</i>, I am the shop's bot.",
                "faq": [{"title": "Delivery", "answer": "Two days.", "keywords": ["delivery"]}],
                "collect": ["phone"],
            }
        ),
    )
    page = await _console(browser, env, "sam")
    async with visitor(env, "Vera") as vera:
        await vera.say("hello")
        greeting = await vera.bot()
        assert greeting["text"] == "<i>Hi</i>, I am the shop's bot."
        await vera.bot()  # the menu

        # A supervisor sees the conversation the bot holds.
        item = page.get_by_test_id("list-others").get_by_test_id("conversation-item")
        await expect(item).to_have_count(1, timeout=TIMEOUT_MS)
        await item.click()
        await expect(page.get_by_test_id("conv-status")).to_have_text("Bot")
        bot_messages = page.locator("[data-testid='message'][data-author-kind='bot']")
        await expect(bot_messages.first).to_be_visible(timeout=TIMEOUT_MS)
        first = bot_messages.first
        await expect(first).to_have_class(re.compile(r"\bmsg-bot\b"))
        await expect(first.get_by_test_id("message-bot-badge")).to_have_text("Bot")
        await expect(first).to_contain_text("<i>Hi</i>, I am the shop's bot.")  # as text
        assert await first.locator("i").count() == 0
        customer_message = page.locator("[data-testid='message'][data-direction='inbound']")
        await expect(customer_message).to_have_count(1)
        await expect(customer_message.get_by_test_id("message-bot-badge")).to_have_count(0)
        await expect(page.get_by_test_id("conv-csat")).to_be_hidden()

        # The hand-off leaves a bot note with what it collected.
        await vera.say("operator")
        await vera.bot()  # asks for the phone
        await vera.say("+7 916 123-45-67")
        await vera.bot()  # connecting…
        note = page.locator("[data-testid='message'][data-kind='note'][data-author-kind='bot']")
        await expect(note).to_have_count(1, timeout=TIMEOUT_MS)
        await expect(note.get_by_test_id("message-bot-badge")).to_be_visible()
        await expect(note).to_contain_text("+79161234567")

        # Resolved, the customer rates it: the header shows it live.
        claim = page.get_by_test_id("btn-claim")
        await expect(page.get_by_test_id("conv-status")).not_to_have_text("Bot", timeout=TIMEOUT_MS)
        if await claim.is_visible():
            await claim.click()
        await expect(page.get_by_test_id("conv-status")).to_have_text(
            "Assigned", timeout=TIMEOUT_MS
        )
        await page.get_by_test_id("resolve-reason").select_option("Sold")
        await page.get_by_test_id("btn-resolve").click()
        await expect(page.get_by_test_id("conv-status")).to_have_text(
            "Resolved", timeout=TIMEOUT_MS
        )
        await vera.next(lambda f: f.get("type") == "csat.request")
        await vera.send(type="csat", rating=4, comment="<b>Quick</b>, thanks")
        await vera.next(lambda f: f.get("type") == "csat.ack")
        csat = page.get_by_test_id("conv-csat")
        await expect(csat).to_be_visible(timeout=TIMEOUT_MS)
        await expect(csat).to_have_attribute("data-rating", "4")
        await expect(csat).to_contain_text("4/5")
        await expect(csat).to_contain_text("<b>Quick</b>, thanks")
        assert await csat.locator("b").count() == 0
        await _screenshot(page, "bots-conversation")

    # After a reload the rating comes from the conversation's JSON.
    await page.reload()
    await expect(page.get_by_test_id("conn-status")).to_have_attribute(
        "data-state", "up", timeout=TIMEOUT_MS
    )
    await expect(page.get_by_test_id("conv-csat")).to_have_attribute(
        "data-rating", "4", timeout=TIMEOUT_MS
    )
