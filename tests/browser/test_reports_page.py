"""The reports page (/reports) in chromium over the known month of tests/reports/scenario.py:
the figures, the breakdown chart and table, the heat map cells, the CSV download, and a
plain operator turned away."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, expect

from inbox.domain.clock import FixedClock
from server.app import SERVICES, create_app
from tests.browser.helpers import TIMEOUT
from tests.e2e.conftest import make_settings
from tests.reports.scenario import HASHER, PASSWORD, Scenario, msk

pytestmark = pytest.mark.browser

QUERY = "?from=2026-03-01&to=2026-03-31&tz=Europe/Moscow&by=operator"


@pytest.fixture
async def base(tmp_path: Path) -> AsyncIterator[str]:
    clock = FixedClock(msk(28, 23, 0, month=2))
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}", tmp_path)
    app = await create_app(settings, clock=clock, hasher=HASHER)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        await Scenario(app[SERVICES], clock).run()
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def _sign_in(page: Page, base: str, login: str) -> None:
    await page.goto(base + "/")
    await page.get_by_test_id("login-login").fill(login)
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("me-name")).not_to_be_empty(timeout=TIMEOUT)


async def test_a_supervisor_reads_the_month(browser: Browser, base: str) -> None:
    context = await browser.new_context(locale="en-US", accept_downloads=True)
    page = await context.new_page()
    await _sign_in(page, base, "sup")
    link = page.get_by_test_id("btn-reports")
    await expect(link).to_be_visible(timeout=TIMEOUT)
    await page.goto(base + "/reports" + QUERY)
    await expect(page.get_by_test_id("reports-result")).to_be_visible(timeout=TIMEOUT)
    await expect(page.get_by_test_id("reports-period")).to_have_text(
        "2026-03-01 — 2026-03-31 (Europe/Moscow)"
    )
    await expect(page.get_by_test_id("figure-received")).to_have_text("8")
    await expect(page.get_by_test_id("figure-missed")).to_have_text("2")
    await expect(page.get_by_test_id("figure-first_response")).to_have_text("2 min / 5 min")
    await expect(page.get_by_test_id("figure-csat")).to_have_text("4 (2)")
    await expect(page.get_by_test_id("figure-paid_total")).to_have_text("3950.00 RUB")
    await expect(page.get_by_test_id("figure-close_reasons")).to_contain_text("Sold: 1")
    # By operator: Anna 3, Boris 2, nobody 3; one bar per group.
    bars = page.get_by_test_id("chart-bar")
    await expect(bars).to_have_count(3)
    rows = page.get_by_test_id("reports-row")
    await expect(rows).to_have_count(3)
    await expect(rows.first).to_contain_text("Anna")
    # The heat map: Monday 10:00 had two requests, Sunday 00:00 one, Monday 11:00 none.
    await expect(page.get_by_test_id("heat-mon-10")).to_have_attribute("data-count", "2")
    await expect(page.get_by_test_id("heat-sun-0")).to_have_attribute("data-count", "1")
    await expect(page.get_by_test_id("heat-mon-11")).to_have_attribute("data-count", "0")

    async with page.expect_download() as info:
        await page.get_by_test_id("reports-csv").click()
    download = await info.value
    path = await download.path()
    text = await asyncio.to_thread(Path(path).read_text, encoding="utf-8")
    rows_csv = list(csv.DictReader(io.StringIO(text)))
    assert {r["name"]: r["received"] for r in rows_csv} == {"Anna": "3", "Boris": "2", "": "3"}

    # A bad period is explained on the page.
    await page.get_by_test_id("reports-from").fill("2026-04-01")
    await page.get_by_test_id("reports-show").click()
    await expect(page.get_by_test_id("reports-error")).to_contain_text("is after")
    await context.close()


async def test_an_operator_is_turned_away(browser: Browser, base: str) -> None:
    context = await browser.new_context(locale="ru-RU")
    page = await context.new_page()
    await _sign_in(page, base, "anna")
    await expect(page.get_by_test_id("btn-reports")).to_be_hidden()
    await page.goto(base + "/reports" + QUERY)
    await expect(page.get_by_test_id("reports-error")).to_have_text(
        "Отчёты доступны супервизорам и администраторам.", timeout=TIMEOUT
    )
    await expect(page.get_by_test_id("reports-result")).to_be_hidden()
    await context.close()
