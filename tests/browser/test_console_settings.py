"""The console's settings pages in a real browser (Debian's chromium, Playwright):
operators, channels (a real Telegram adapter against the fake Bot API), queues, close
reasons and canned replies; what each role sees; a Russian session; nothing cut off at
360 px. What the server refuses is in tests/e2e/test_settings_permissions.py too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, expect

from inbox.domain.channels import ChannelKind
from inbox.domain.operators import Role
from inbox.usecases import add_channel, add_operator, set_close_reasons
from operator_ws import Argon2PasswordHasher
from server.app import SERVICES, create_app
from tests.browser.helpers import TIMEOUT
from tests.e2e.conftest import PASSWORD, make_settings
from tests.fakes.telegram_api import FAKE_TOKEN, TelegramApiFake

pytestmark = pytest.mark.browser

PUBLIC_URL = "https://inbox.shop.example"


@dataclass
class Env:
    base: str
    telegram: TelegramApiFake


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    """A server with an admin (root), a supervisor (sue), an operator (anna), a web chat
    channel and three close reasons; Telegram's Bot API is the fake one."""
    async with TelegramApiFake() as telegram:
        hasher = Argon2PasswordHasher(fast_for_tests=True)
        app = await create_app(
            make_settings(
                f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}", tmp_path, public_url=PUBLIC_URL
            ),
            hasher=hasher,
        )
        core = app[SERVICES].core
        root = await add_operator(
            core, hasher, login="root", password=PASSWORD, display_name="Root", role=Role.ADMIN
        )
        await add_operator(
            core, hasher, login="sue", password=PASSWORD, display_name="Sue", role=Role.SUPERVISOR
        )
        await add_operator(core, hasher, login="anna", password=PASSWORD, display_name="Anna")
        await add_channel(core, ChannelKind("webchat"), "Shop", {})
        await set_close_reasons(core, root, ["Sold", "Not in stock", "Spam"])
        srv = TestServer(app, host="127.0.0.1")
        await srv.start_server()
        try:
            yield Env(str(srv.make_url("")).rstrip("/"), telegram)
        finally:
            await srv.close()


async def sign_in(
    browser: Browser,
    base: str,
    login: str,
    *,
    password: str = PASSWORD,
    locale: str = "en-US",
    width: int = 1280,
) -> Page:
    context = await browser.new_context(locale=locale, viewport={"width": width, "height": 900})
    page = await context.new_page()
    await page.goto(base + "/")
    await page.get_by_test_id("login-login").fill(login)
    await page.get_by_test_id("login-password").fill(password)
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("conn-status")).to_have_attribute(
        "data-state", "up", timeout=TIMEOUT
    )
    return page


async def call(page: Page, method: str, path: str, body: object = None) -> tuple[int, Any]:
    """The REST API with the console's token: (status, JSON body)."""
    result: list[Any] = await page.evaluate(
        """async ([method, path, body]) => {
            const headers = { Authorization: 'Bearer ' + localStorage.getItem('inbox.token') };
            if (body !== null) headers['Content-Type'] = 'application/json';
            const r = await fetch(path, { method, headers,
                body: body === null ? undefined : JSON.stringify(body) });
            return [r.status, await r.json()];
        }""",
        [method, path, body],
    )
    return int(result[0]), result[1]


async def open_settings(page: Page, section: str) -> None:
    await page.get_by_test_id("btn-settings").click()
    await expect(page.get_by_test_id("settings-view")).to_be_visible()
    await page.get_by_test_id(f"settings-tab-{section}").click()
    await expect(page.get_by_test_id(f"settings-{section}")).to_be_visible()
    await expect(page.get_by_test_id("settings-state")).to_have_text("", timeout=TIMEOUT)


async def test_an_admin_adds_an_operator_who_can_then_sign_in(browser: Browser, env: Env) -> None:
    page = await sign_in(browser, env.base, "root")
    await open_settings(page, "operators")
    rows = page.get_by_test_id("operator-row")
    await expect(rows).to_have_count(3)
    anna = page.locator('[data-testid="operator-row"][data-login="anna"]')
    await expect(anna.get_by_test_id("operator-role")).to_have_text("operator")

    form = page.get_by_test_id("new-operator-form")
    await form.get_by_test_id("new-operator-login").fill("boris")
    await form.get_by_test_id("new-operator-name").fill("Boris")
    await form.get_by_test_id("new-operator-password").fill("short")
    await form.get_by_test_id("new-operator-submit").click()
    # The server's own message for a short password, next to the form.
    await expect(form.get_by_test_id("new-operator-error")).to_contain_text("at least 8")

    await form.get_by_test_id("new-operator-password").fill("boris password")
    await form.get_by_test_id("new-operator-role").select_option("supervisor")
    await form.get_by_test_id("new-operator-skills").fill("ru, lenses=3")
    await form.get_by_test_id("new-operator-capacity").fill("4")
    await form.get_by_test_id("new-operator-submit").click()
    boris = page.locator('[data-testid="operator-row"][data-login="boris"]')
    await expect(boris).to_be_visible(timeout=TIMEOUT)
    await expect(boris.get_by_test_id("operator-role")).to_have_text("supervisor")
    await expect(boris.get_by_test_id("operator-skills")).to_have_text("Skills: ru, lenses=3")
    await expect(boris.get_by_test_id("operator-capacity")).to_have_text("Capacity: 4")
    await expect(page.get_by_test_id("new-operator-saved")).to_contain_text("boris")

    # Skills and capacity of anna; then the admin disables her account.
    await anna.get_by_test_id("operator-edit").click()
    await anna.get_by_test_id("operator-skills-input").fill("en=2, returns")
    await anna.get_by_test_id("operator-capacity-input").fill("7")
    await anna.get_by_test_id("operator-save").click()
    await expect(anna.get_by_test_id("operator-saved")).to_be_visible(timeout=TIMEOUT)
    await expect(anna.get_by_test_id("operator-capacity")).to_have_text("Capacity: 7")
    await anna.get_by_test_id("operator-skills-input").fill("en=11")
    await anna.get_by_test_id("operator-save").click()
    await expect(anna.get_by_test_id("operator-error")).to_contain_text("1..10")
    await anna.get_by_test_id("operator-skills-input").fill("en=2, returns")
    await anna.get_by_test_id("operator-disabled-input").check()
    await anna.get_by_test_id("operator-save").click()
    await expect(anna.get_by_test_id("operator-disabled")).to_be_visible(timeout=TIMEOUT)
    _, listed = await call(page, "GET", "/api/v1/operators")
    by_login = {o["login"]: o for o in listed["operators"]}
    assert by_login["anna"]["skills"] == {"en": 2, "returns": 1}
    assert by_login["anna"]["capacity"] == 7
    assert by_login["anna"]["disabled"] is True
    assert by_login["boris"]["role"] == "supervisor"
    # Nobody disables or demotes themselves from here.
    root = page.locator('[data-testid="operator-row"][data-login="root"]')
    await root.get_by_test_id("operator-edit").click()
    await expect(root.get_by_test_id("operator-role-select")).to_be_disabled()
    await expect(root.get_by_test_id("operator-disabled-input")).to_be_disabled()

    # The new operator signs in with the password the admin gave.
    newcomer = await sign_in(browser, env.base, "boris", password="boris password")
    await expect(newcomer.get_by_test_id("me-name")).to_have_text("Boris")
    await expect(newcomer.get_by_test_id("btn-settings")).to_be_visible()


async def test_a_supervisor_edits_a_queue_and_the_api_shows_it(browser: Browser, env: Env) -> None:
    page = await sign_in(browser, env.base, "sue")
    await open_settings(page, "queues")
    await page.get_by_test_id("new-queue-name").fill("Lenses")
    await page.get_by_test_id("new-queue-submit").click()
    lenses = page.locator('[data-testid="queue-settings-row"][data-queue-name="Lenses"]')
    form = lenses.get_by_test_id("queue-form")
    await expect(form).to_be_visible(timeout=TIMEOUT)

    await form.get_by_test_id("queue-strategy").select_option("round_robin")
    await form.get_by_test_id("queue-accept-timeout").fill("30")
    await form.get_by_test_id("queue-skills").fill("ru")
    await form.get_by_test_id("queue-channels").get_by_label("Web chat · Shop").check()
    await form.get_by_test_id("queue-members").get_by_label("Anna (anna)").check()
    await form.get_by_test_id("queue-escalation-add").click()
    await form.get_by_test_id("queue-escalation-add").click()
    first = form.get_by_test_id("queue-escalation").locator("li").first
    await first.locator('[data-f="target"]').select_option("last_operator")
    step = form.get_by_test_id("queue-escalation").locator("li").nth(1)
    await step.locator('[data-f="after"]').fill("60")
    await step.locator('[data-f="target"]').select_option("skills")
    await step.locator('[data-f="skills"]').fill("lenses=3")
    await form.get_by_test_id("queue-sla-add").click()
    target = form.get_by_test_id("queue-sla").locator("li").first
    await target.locator('[data-f="first_response"]').fill("300")
    await target.locator('[data-f="resolution"]').fill("86400")
    await form.get_by_test_id("queue-response-timeout").fill("600")
    await form.get_by_test_id("queue-response-action").select_option("alert")
    await form.get_by_test_id("queue-priority-add").click()
    rule = form.get_by_test_id("queue-priority").locator("li").first
    await rule.locator('[data-f="rule"]').select_option("tag")
    await rule.locator('[data-f="tag"]').fill("vip")
    await rule.locator('[data-f="bonus"]').fill("10")
    await form.get_by_test_id("queue-members-only").check()
    await form.get_by_test_id("queue-position-on").check()
    await form.get_by_test_id("queue-position-language").select_option("ru")
    # A text with an unknown field: the server's message is shown next to the form.
    await form.get_by_test_id("queue-position-text-ru").fill("Вы {place}-й")
    await form.get_by_test_id("queue-save").click()
    error = lenses.get_by_test_id("queue-error")
    await expect(error).to_contain_text("{position} and {minutes}", timeout=TIMEOUT)
    _, before = await call(page, "GET", "/api/v1/queues")
    stored = next(q for q in before["queues"] if q["name"] == "Lenses")
    assert "strategy" not in stored["settings"]  # nothing of the refused change was kept

    await form.get_by_test_id("queue-position-text-ru").fill("Вы {position}-й в очереди")
    await form.get_by_test_id("queue-save").click()
    await expect(lenses.get_by_test_id("queue-saved")).to_be_visible(timeout=TIMEOUT)

    _, after = await call(page, "GET", "/api/v1/queues")
    _, channels = await call(page, "GET", "/api/v1/channels")
    _, operators = await call(page, "GET", "/api/v1/operators")
    settings = next(q for q in after["queues"] if q["name"] == "Lenses")["settings"]
    anna_id = next(o["id"] for o in operators["operators"] if o["login"] == "anna")
    assert settings["strategy"] == "round_robin"
    assert settings["accept_timeout"] == 30
    assert settings["skills"] == {"ru": 1}
    assert settings["channels"] == [channels["channels"][0]["id"]]
    assert settings["members"] == [anna_id]
    assert settings["escalation"] == [
        {"after": 0, "target": "last_operator"},
        {"after": 60, "target": "skills", "skills": {"lenses": 3}},
    ]
    assert settings["sla"] == {"0": {"first_response": 300, "resolution": 86400}}
    assert settings["response_timeout"] == 600
    assert settings["response_action"] == "alert"
    assert settings["visible_to"] == "members"
    assert settings["priority"] == [{"rule": "tag", "bonus": 10, "tag": "vip"}]
    assert settings["position"]["language"] == "ru"
    assert settings["position"]["texts"] == {"ru": "Вы {position}-й в очереди"}

    # Reopened, the form shows what is stored.
    await page.get_by_test_id("settings-reload").click()
    await expect(lenses.get_by_test_id("queue-strategy")).to_have_value("round_robin")
    await expect(lenses.get_by_test_id("queue-accept-timeout")).to_have_value("30")
    await expect(lenses.get_by_test_id("queue-members-only")).to_be_checked()

    # A supervisor changes skills, not roles; close reasons are read-only for them.
    await page.get_by_test_id("settings-tab-operators").click()
    anna = page.locator('[data-testid="operator-row"][data-login="anna"]')
    await anna.get_by_test_id("operator-edit").click()
    await expect(anna.get_by_test_id("operator-role-select")).to_be_disabled()
    await expect(anna.get_by_test_id("operator-disabled-input")).to_be_disabled()
    await expect(page.get_by_test_id("new-operator-form")).to_have_count(0)
    await page.get_by_test_id("settings-tab-reasons").click()
    await expect(page.get_by_test_id("reason-input").first).to_be_disabled()
    await expect(page.get_by_test_id("reasons-save")).to_have_count(0)
    await page.get_by_test_id("settings-tab-channels").click()
    await expect(page.get_by_test_id("new-channel-form")).to_have_count(0)
    await expect(page.get_by_test_id("channel-toggle").first).to_be_disabled()


async def test_an_admin_adds_a_telegram_channel_sees_its_webhook_url_and_pauses_it(
    browser: Browser, env: Env
) -> None:
    page = await sign_in(browser, env.base, "root")
    await open_settings(page, "channels")
    form = page.get_by_test_id("new-channel-form")
    await form.get_by_test_id("new-channel-kind").select_option("telegram")
    await expect(form.get_by_test_id("new-channel-opt-token")).to_have_attribute("type", "password")
    await form.get_by_test_id("new-channel-name").fill("Shop bot")
    await form.get_by_test_id("new-channel-opt-token").fill("not a token")
    await form.get_by_test_id("new-channel-submit").click()
    await expect(form.get_by_test_id("new-channel-error")).to_contain_text("@BotFather")
    await expect(form.get_by_test_id("new-channel-opt-token")).to_have_value("")

    await form.get_by_test_id("new-channel-opt-token").fill(FAKE_TOKEN)
    await form.get_by_test_id("new-channel-opt-mode").select_option("webhook")
    await form.get_by_test_id("new-channel-opt-api_base").fill(env.telegram.url)
    await form.get_by_test_id("new-channel-submit").click()
    row = page.get_by_test_id("channel-row").filter(has_text="Shop bot")
    await expect(row).to_be_visible(timeout=TIMEOUT)
    channel_id = await row.get_attribute("data-channel-id")
    url = f"{PUBLIC_URL}/webhooks/telegram/{channel_id}"
    await expect(row.get_by_test_id("channel-webhook-url")).to_have_value(url)
    assert env.telegram.webhook is not None
    assert env.telegram.webhook["url"] == url
    # The token is never echoed back into the page.
    assert FAKE_TOKEN not in await page.content()
    assert FAKE_TOKEN not in await page.evaluate(
        "Array.from(document.querySelectorAll('input')).map((n) => n.value).join(' ')"
    )
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await row.get_by_test_id("channel-copy").click()
    await expect(row.get_by_test_id("channel-copy")).to_have_attribute("data-copied", "true")
    # The web chat shows its embed code instead.
    web = page.locator('[data-testid="channel-row"]:has([data-kind="webchat"])')
    await expect(web.get_by_test_id("channel-embed")).to_have_value(
        f'<script src="{PUBLIC_URL}/widget.js" data-channel="'
        + str(await web.get_attribute("data-channel-id"))
        + '" async></script>'
    )

    await row.get_by_test_id("channel-toggle").click()
    paused = page.locator(f'[data-testid="channel-row"][data-channel-id="{channel_id}"]')
    await expect(paused).to_have_attribute("data-enabled", "false", timeout=TIMEOUT)
    await expect(paused.get_by_test_id("channel-state")).to_have_text("paused")
    _, listed = await call(page, "GET", "/api/v1/channels")
    assert {c["id"]: c["enabled"] for c in listed["channels"]}[channel_id] is False
    await paused.get_by_test_id("channel-toggle").click()
    await expect(paused).to_have_attribute("data-enabled", "true", timeout=TIMEOUT)


async def test_close_reasons_are_edited_and_an_empty_list_is_refused(
    browser: Browser, env: Env
) -> None:
    page = await sign_in(browser, env.base, "root")
    await open_settings(page, "reasons")
    inputs = page.get_by_test_id("reason-input")
    await expect(inputs).to_have_count(3)
    await page.get_by_test_id("reason-new").fill("Too expensive")
    await page.get_by_test_id("reason-add").click()
    await inputs.nth(1).fill("Out of stock")  # rename
    await page.get_by_test_id("reason-row").nth(3).get_by_test_id("reason-up").click()
    await page.get_by_test_id("reason-row").nth(0).get_by_test_id("reason-down").click()
    await (
        page.get_by_test_id("reason-row")
        .filter(has=page.locator('input[value="Spam"]'))
        .get_by_test_id("reason-remove")
        .click()
    )
    await page.get_by_test_id("reasons-save").click()
    await expect(page.get_by_test_id("reasons-saved")).to_be_visible(timeout=TIMEOUT)
    _, stored = await call(page, "GET", "/api/v1/close-reasons")
    assert stored["reasons"] == ["Out of stock", "Sold", "Too expensive"]
    # The resolve picker of the console has the new list.
    await expect(page.locator("#resolve-reason option")).to_have_count(4)

    # A twin, then an empty list: the server's messages.
    await page.get_by_test_id("reason-new").fill("sold")
    await page.get_by_test_id("reason-add").click()
    await page.get_by_test_id("reasons-save").click()
    await expect(page.get_by_test_id("reasons-error")).to_contain_text("listed twice")
    for _ in range(4):
        await page.get_by_test_id("reason-remove").first.click()
    await expect(inputs).to_have_count(0)
    await page.get_by_test_id("reasons-save").click()
    await expect(page.get_by_test_id("reasons-error")).to_contain_text("cannot be empty")
    _, kept = await call(page, "GET", "/api/v1/close-reasons")
    assert kept["reasons"] == ["Out of stock", "Sold", "Too expensive"]


async def test_shared_and_personal_canned_replies_are_created_edited_and_deleted(
    browser: Browser, env: Env
) -> None:
    page = await sign_in(browser, env.base, "sue")
    await open_settings(page, "canned")
    new = page.get_by_test_id("canned-new-form")
    await new.get_by_test_id("canned-new-shortcut").fill("/hello")
    await new.get_by_test_id("canned-new-text").fill("Hello, {customer.name}!")
    await new.get_by_test_id("canned-new-shared").check()
    await new.get_by_test_id("canned-new-submit").click()
    shared = page.get_by_test_id("canned-shared-list")
    await expect(shared.get_by_test_id("canned-item")).to_have_count(1, timeout=TIMEOUT)
    await new.get_by_test_id("canned-new-shortcut").fill("price")  # the slash is added
    await new.get_by_test_id("canned-new-text").fill("It costs 100.")
    await new.get_by_test_id("canned-new-submit").click()
    personal = page.get_by_test_id("canned-personal")
    await expect(personal.get_by_test_id("canned-item")).to_have_attribute(
        "data-shortcut", "/price", timeout=TIMEOUT
    )
    # A second shared /hello: the server's 409 is shown.
    await new.get_by_test_id("canned-new-shortcut").fill("/hello")
    await new.get_by_test_id("canned-new-text").fill("Hi")
    await new.get_by_test_id("canned-new-shared").check()
    await new.get_by_test_id("canned-new-submit").click()
    await expect(new.get_by_test_id("canned-new-error")).to_contain_text(
        "already has the shortcut /hello"
    )

    item = personal.get_by_test_id("canned-item")
    await item.get_by_test_id("canned-edit").click()
    await item.get_by_test_id("canned-edit-text").fill("It costs 120.")
    await item.get_by_test_id("canned-edit-submit").click()
    await expect(personal.get_by_test_id("canned-item-text")).to_have_text(
        "It costs 120.", timeout=TIMEOUT
    )
    item = shared.get_by_test_id("canned-item")
    await item.get_by_test_id("canned-edit").click()
    await item.get_by_test_id("canned-edit-shortcut").fill("/hi")
    await item.get_by_test_id("canned-edit-submit").click()
    await expect(shared.get_by_test_id("canned-item")).to_have_attribute(
        "data-shortcut", "/hi", timeout=TIMEOUT
    )
    _, listed = await call(page, "GET", "/api/v1/canned-replies")
    assert {(r["shortcut"], r["text"], r["shared"]) for r in listed["replies"]} == {
        ("/hi", "Hello, {customer.name}!", True),
        ("/price", "It costs 120.", False),
    }

    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await personal.get_by_test_id("canned-item-delete").click()
    await expect(personal.get_by_test_id("canned-item")).to_have_count(0, timeout=TIMEOUT)
    _, listed = await call(page, "GET", "/api/v1/canned-replies")
    assert [r["shortcut"] for r in listed["replies"]] == ["/hi"]


async def test_a_plain_operator_has_only_their_canned_replies_and_the_server_refuses_the_rest(
    browser: Browser, env: Env
) -> None:
    page = await sign_in(browser, env.base, "anna")
    await expect(page.get_by_test_id("btn-settings")).to_be_hidden()
    await page.get_by_test_id("btn-my-canned").click()
    await expect(page.get_by_test_id("settings-canned")).to_be_visible()
    await expect(page.get_by_test_id("settings-nav")).to_have_count(0)
    await expect(page.get_by_test_id("canned-new-shared")).to_have_count(0)
    await page.get_by_test_id("canned-new-shortcut").fill("/bye")
    await page.get_by_test_id("canned-new-text").fill("Goodbye!")
    await page.get_by_test_id("canned-new-submit").click()
    await expect(
        page.get_by_test_id("canned-personal").get_by_test_id("canned-item")
    ).to_have_count(1, timeout=TIMEOUT)

    _, operators = await call(page, "GET", "/api/v1/operators")
    anna_id = next(o["id"] for o in operators["operators"] if o["login"] == "anna")
    _, channels = await call(page, "GET", "/api/v1/channels")
    _, queues = await call(page, "GET", "/api/v1/queues")
    refused = [
        ("PATCH", f"/api/v1/operators/{anna_id}", {"capacity": 50}),
        ("POST", "/api/v1/operators", {"login": "eve", "password": "long enough"}),
        ("PATCH", f"/api/v1/channels/{channels['channels'][0]['id']}", {"enabled": False}),
        ("POST", "/api/v1/channels", {"kind": "webchat", "name": "Mine"}),
        ("PATCH", f"/api/v1/queues/{queues['queues'][0]['id']}", {"settings": {"skills": {}}}),
        ("POST", "/api/v1/queues", {"name": "Mine"}),
        ("PUT", "/api/v1/close-reasons", {"reasons": ["Mine"]}),
        ("POST", "/api/v1/canned-replies", {"shortcut": "/x", "text": "x", "shared": True}),
    ]
    for method, path, body in refused:
        status, answer = await call(page, method, path, body)
        assert status == 403, (method, path, answer)
        assert answer["error"]["code"] == "forbidden"


async def test_a_refusal_is_shown_next_to_the_form(browser: Browser, env: Env) -> None:
    """The role changed under an open page: the server's 403 is what the page shows."""
    page = await sign_in(browser, env.base, "sue")
    await open_settings(page, "queues")
    root = await sign_in(browser, env.base, "root")
    _, operators = await call(root, "GET", "/api/v1/operators")
    sue_id = next(o["id"] for o in operators["operators"] if o["login"] == "sue")
    status, _ = await call(root, "PATCH", f"/api/v1/operators/{sue_id}", {"role": "operator"})
    assert status == 200
    await page.get_by_test_id("new-queue-name").fill("Night")
    await page.get_by_test_id("new-queue-submit").click()
    error = page.get_by_test_id("new-queue-error")
    await expect(error).to_have_attribute("data-status", "403", timeout=TIMEOUT)
    await expect(error).to_contain_text("Not allowed: queues are managed by supervisors")


async def test_the_settings_pages_in_russian(browser: Browser, env: Env) -> None:
    page = await sign_in(browser, env.base, "root", locale="ru-RU")
    await expect(page.get_by_test_id("btn-settings")).to_have_text("Настройки")
    await page.get_by_test_id("btn-settings").click()
    expected = {
        "operators": "Операторы",
        "channels": "Каналы",
        "queues": "Очереди",
        "reasons": "Причины закрытия",
        "canned": "Шаблоны ответов",
    }
    for section, label in expected.items():
        await expect(page.get_by_test_id(f"settings-tab-{section}")).to_have_text(label)
    await page.get_by_test_id("settings-tab-operators").click()
    await expect(page.get_by_test_id("new-operator-submit")).to_have_text("Добавить")
    anna = page.locator('[data-testid="operator-row"][data-login="anna"]')
    await expect(anna.get_by_test_id("operator-role")).to_have_text("оператор")
    await expect(anna.get_by_test_id("operator-capacity")).to_have_text("Лимит диалогов: 5")
    await page.get_by_test_id("settings-tab-channels").click()
    await expect(page.get_by_test_id("channel-state").first).to_have_text("работает")
    await expect(page.get_by_test_id("channel-copy").first).to_have_text("Копировать")
    await page.get_by_test_id("settings-tab-queues").click()
    await page.get_by_test_id("queue-edit").first.click()
    await expect(page.get_by_test_id("queue-strategy").locator("option").first).to_have_text(
        "Наименее загруженному"
    )
    await page.get_by_test_id("settings-tab-reasons").click()
    for _ in range(3):
        await page.get_by_test_id("reason-remove").first.click()
    await page.get_by_test_id("reasons-save").click()
    # The server's own message stays as sent (docs/console-ui.md, "Languages").
    await expect(page.get_by_test_id("reasons-error")).to_contain_text("cannot be empty")
    await page.get_by_test_id("settings-tab-canned").click()
    await expect(page.get_by_test_id("canned-new-submit")).to_have_text("Добавить")
    await expect(page.locator(".settings-subtitle").first).to_have_text("Мои шаблоны")
    text = await page.get_by_test_id("settings-view").inner_text()
    for english in ("Settings", "Operators", "Add", "Save", "Edit", "Delete"):
        assert english not in text.split(), english


#: Every visible control of the settings pages (and the top bar above them).
_CONTROLS = """() => Array.from(document.querySelectorAll(
        '.topbar button, .topbar select, #settings-view button, #settings-view select, '
        + '#settings-view input, #settings-view textarea'))
    .filter((n) => n.getClientRects().length && getComputedStyle(n).visibility !== 'hidden')
    .map((n) => { const r = n.getBoundingClientRect();
                  return { id: n.dataset.testid || n.name || n.tagName, left: r.left,
                           right: r.right, width: r.width }; })"""


async def test_at_360_px_no_settings_control_is_cut_off(
    browser: Browser, env: Env, tmp_path: Path
) -> None:
    width = 360
    page = await sign_in(browser, env.base, "root", width=width)
    await page.get_by_test_id("btn-settings").click()
    for section in ("operators", "channels", "queues", "reasons", "canned"):
        await page.get_by_test_id(f"settings-tab-{section}").click()
        await expect(page.get_by_test_id(f"settings-{section}")).to_be_visible()
        await expect(page.get_by_test_id("settings-state")).to_have_text("", timeout=TIMEOUT)
        for opener in ("operator-edit", "queue-edit", "canned-edit"):
            for button in await page.get_by_test_id(opener).all():
                await button.click()
        for adder in ("queue-escalation-add", "queue-sla-add", "queue-priority-add"):
            for button in await page.get_by_test_id(adder).all():
                await button.click()
        if section == "channels":
            await page.get_by_test_id("new-channel-kind").select_option("email")
        await page.screenshot(path=str(tmp_path / f"settings-{section}-360.png"), full_page=True)
        scroll = await page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{section}: the page is {scroll}px wide at {width}px"
        boxes: list[dict[str, Any]] = await page.evaluate(_CONTROLS)
        assert boxes, section
        cut = [b for b in boxes if b["left"] < -0.5 or b["right"] > width + 0.5 or b["width"] < 8]
        assert cut == [], (section, cut)
