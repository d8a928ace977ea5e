"""A website form posted over the shop's API reaches the console as a conversation of the
"Forms and calls (API)" kind; a reply there is refused with the server's explanation, a
note is not (docs/api.md, "Inbound API"). In a real browser (Debian's chromium)."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, expect

from inbox.domain.channels import ChannelKind
from inbox.usecases import add_channel
from inbox.usecases.api_tokens import create_api_token
from server.cli.common import CLI_ADMIN
from server.wiring import wired
from tests.browser.helpers import TIMEOUT, StartServer, log_in, wait_presence
from tests.e2e.conftest import make_settings

pytestmark = pytest.mark.browser


async def test_a_form_is_a_conversation_that_takes_notes_but_no_replies(
    browser: Browser, start_server: StartServer, tmp_path: Path
) -> None:
    base = await start_server()
    # The administrator's set-up, as `inbox channel add api` and `inbox token add` do it.
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}", tmp_path)
    async with wired(settings, local_bus=True) as wiring:
        await add_channel(wiring.core, ChannelKind("api"), "Site forms", {})
        _, token = await create_api_token(wiring.core, CLI_ADMIN, "Site", "requests:write")

    console = await (await browser.new_context(locale="en-US")).new_page()
    await log_in(console, base)
    await wait_presence(console, "online")
    request = {
        "id": "form-1",
        "type": "form",
        "contact": {"phone": "+7 900 123-45-67", "name": "Boris"},
        "title": "Callback request",
        "fields": {"Product": "Lens <b>X</b>"},
    }
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            base + "/api/v1/requests",
            json=request,
            headers={"Authorization": f"Bearer {token}"},
        ) as resp,
    ):
        assert resp.status == 201, await resp.text()

    item = console.get_by_test_id("list-mine").get_by_test_id("conversation-item")
    await expect(item).to_have_count(1, timeout=TIMEOUT)
    await expect(item.locator(".badge-kind")).to_have_text("Forms and calls (API)")
    await item.click()
    # The form's content is the first message, shown as text (never as markup).
    message = console.get_by_test_id("message").locator(".part-text")
    await expect(message).to_have_text(
        "Callback request\n\nProduct: Lens <b>X</b>", timeout=TIMEOUT
    )

    composer = console.get_by_test_id("composer-input")
    await composer.fill("We will call you back")
    await composer.press("Enter")
    error = console.get_by_test_id("composer-error")
    await expect(error).to_have_attribute("data-code", "replies_unsupported", timeout=TIMEOUT)
    await expect(error).to_contain_text("other channels")
    # A note for colleagues still goes.
    await console.get_by_test_id("composer-mode-note").click()
    await composer.fill("Called back, no answer")
    await composer.press("Enter")
    note = console.get_by_test_id("message").filter(has_text="Called back, no answer")
    await expect(note).to_have_count(1, timeout=TIMEOUT)
    # The server stored the form and the note, and not the refused reply.
    kinds = await console.evaluate(
        """async (id) => {
            const r = await fetch(`/api/v1/conversations/${id}/messages`, {
                headers: {Authorization: 'Bearer ' + localStorage.getItem('inbox.token')}});
            return (await r.json()).messages.map((m) => m.kind); }""",
        await item.get_attribute("data-id"),
    )
    assert kinds == ["message", "note"]
