"""The supervisors' live dashboard in the console's Queues view, in a real browser
(Debian's chromium, Playwright): the tiles and the per-queue table follow the
``dashboard`` frames of the operator socket as customers write and operators come online,
the longest wait ticks by itself, data is drawn as text, and the layout holds from 360 px
to 1920 px (docs/console-ui.md, "Queues and the dashboard")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, expect

from inbox.domain.channels import ChannelKind
from inbox.domain.operators import Role
from inbox.usecases import add_channel, add_operator
from operator_ws import Argon2PasswordHasher
from server.app import SERVICES, create_app
from tests.browser.test_console_routing import TIMEOUT_MS, Env, _console, _screenshot, customer
from tests.e2e.conftest import PASSWORD, make_settings

pytestmark = pytest.mark.browser

HOSTILE_QUEUE = "<b>Sales</b>"


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    hasher = Argon2PasswordHasher(fast_for_tests=True)
    app = await create_app(
        make_settings(
            f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}",
            tmp_path,
            online_on_login=False,
            dashboard_interval_seconds=0.2,
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
    await services.router.save_queue(
        sam, HOSTILE_QUEUE, {"channels": [webchat.id], "members": ["anna", "bob"]}, create=True
    )
    srv = TestServer(app, host="127.0.0.1")
    await srv.start_server()
    try:
        yield Env(srv, services, webchat.id, anna, bob, sam)
    finally:
        await srv.close()


async def _no_horizontal_scroll(page: Page) -> None:
    overflow = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, overflow


async def test_dashboard_tiles_update_live_when_a_customer_writes(
    browser: Browser, env: Env
) -> None:
    sam = await _console(browser, env, "sam", online=False)
    await sam.get_by_test_id("btn-queues").click()
    view = sam.get_by_test_id("queues-view")
    await expect(view).to_be_visible()
    tiles = view.get_by_test_id("dash-tiles")
    await expect(tiles).to_be_visible(timeout=TIMEOUT_MS)
    waiting = view.locator("[data-tile=waiting] [data-testid=dash-value]")
    longest = view.locator("[data-tile=longest_wait] [data-testid=dash-value]")
    online = view.locator("[data-tile=online] [data-testid=dash-value]")
    await expect(waiting).to_have_text("0")
    await expect(longest).to_have_text("—")
    await expect(online).to_have_text("0")
    # The queue's name is drawn as text, not markup.
    row = view.get_by_test_id("queue-row").filter(has_text=HOSTILE_QUEUE)
    await expect(row).to_have_count(1, timeout=TIMEOUT_MS)
    assert await row.locator("b").count() == 0

    async with customer(env, "Maria") as maria:
        await maria.say("Is anyone there?")
        # Nobody is online: it waits, and the tiles and the row say so without a reload.
        await expect(waiting).to_have_text("1", timeout=TIMEOUT_MS)
        await expect(row.locator("[data-stat=waiting]")).to_have_text("1")
        # The longest wait ticks on the console's own clock between frames.
        await expect(longest).to_have_text("1 s", timeout=TIMEOUT_MS)
        await expect(longest).to_have_text("3 s", timeout=TIMEOUT_MS)
        await expect(row.locator("[data-stat=longest_wait]")).not_to_have_text("—")
        await _screenshot(sam, "dashboard-waiting")

        # Anna's console comes online: she gets the conversation, the tiles follow.
        anna = await _console(browser, env, "anna")
        await expect(online).to_have_text("1", timeout=TIMEOUT_MS)
        await expect(waiting).to_have_text("0", timeout=TIMEOUT_MS)
        await expect(longest).to_have_text("—")
        await expect(row.locator("[data-stat=assigned]")).to_have_text("1")
        await anna.context.close()

    for width, height in ((360, 740), (1920, 1080)):
        await sam.set_viewport_size({"width": width, "height": height})
        await expect(tiles).to_be_visible()
        await _no_horizontal_scroll(sam)
        box = await tiles.bounding_box()
        assert box is not None
        assert box["width"] <= width
        await _screenshot(sam, f"dashboard-{width}")

    # Leaving the view unsubscribes; the server's feed has nobody left to compute for.
    await view.get_by_test_id("queues-close").click()
    await expect(view).to_be_hidden()
    feed = env.services.dashboard
    for _ in range(100):
        if feed.subscribed() == 0:
            break
        await sam.wait_for_timeout(50)
    assert feed.subscribed() == 0


async def test_an_operator_sees_no_dashboard(browser: Browser, env: Env) -> None:
    anna = await _console(browser, env, "anna")
    await expect(anna.get_by_test_id("btn-queues")).to_be_hidden()
    assert env.services.dashboard.subscribed() == 0
