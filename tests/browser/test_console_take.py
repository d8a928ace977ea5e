"""Taking from the queue in a real browser (Debian's chromium, Playwright): the header's
Take button (``btn-claim``, ``conversation.claim``) only where this operator may take the
conversation, the server's reason when a take fails, the notice and the composer's
placeholder when the queue has taking by hand off, and a members-only queue
(``visible_to: members``) whose waiting conversations an operator outside it never sees.
A change of the queue reaches open consoles without a reload (``audience.changed``)."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.browser.test_console_routing import TIMEOUT_MS, Env, _console, customer, env

pytestmark = pytest.mark.browser
__all__ = ["env"]  # the fixture, shared with test_console_routing.py


async def test_an_operator_takes_a_queued_conversation(browser: Browser, env: Env) -> None:
    # Anna offline and Bob without room: routing assigns nobody, the conversation waits.
    await env.queue()
    anna = await _console(browser, env, "anna", online=False)
    bob = await _console(browser, env, "bob", online=False)
    async with customer(env, "Maria") as maria:
        await maria.say("Do you have lenses?")
        for page in (anna, bob):
            queued = page.get_by_test_id("list-queue").get_by_test_id("conversation-item")
            await queued.filter(has_text="Maria").click(timeout=TIMEOUT_MS)
            await expect(page.get_by_test_id("btn-claim")).to_be_visible(timeout=TIMEOUT_MS)
            await expect(page.get_by_test_id("conv-notice")).to_contain_text("waiting in the queue")
            await expect(page.get_by_test_id("composer-input")).to_have_attribute(
                "placeholder", "Claim the conversation to reply"
            )

        # Bob has no free capacity: the server says so, in words, and nothing changes.
        await bob.get_by_test_id("btn-claim").click()
        await expect(bob.get_by_test_id("composer-error")).to_have_text(
            "Could not take it: you have no free capacity", timeout=TIMEOUT_MS
        )
        await expect(bob.get_by_test_id("conv-status")).to_have_text("Queued")

        await anna.get_by_test_id("btn-claim").click()
        await expect(anna.get_by_test_id("conv-status")).to_have_text(
            "Assigned", timeout=TIMEOUT_MS
        )
        await expect(anna.get_by_test_id("conv-assignee")).to_have_text("Assignee: Anna")
        await expect(anna.get_by_test_id("btn-claim")).to_be_hidden()
        mine = anna.get_by_test_id("list-mine").get_by_test_id("conversation-item")
        await expect(mine.filter(has_text="Maria")).to_have_count(1)
        await expect(anna.get_by_test_id("composer-input")).to_be_enabled()
        # Bob sees it go to Anna.
        await expect(bob.get_by_test_id("conv-notice")).to_contain_text(
            "assigned to Anna", timeout=TIMEOUT_MS
        )
        await expect(bob.get_by_test_id("btn-claim")).to_be_hidden()


async def test_a_queue_with_taking_off_says_so_instead_of_a_take_button(
    browser: Browser, env: Env
) -> None:
    await env.queue(allow_pick=False)
    anna = await _console(browser, env, "anna", online=False)
    sam = await _console(browser, env, "sam", online=False)
    async with customer(env, "Ivan") as ivan:
        await ivan.say("Hello?")
        queued = anna.get_by_test_id("list-queue").get_by_test_id("conversation-item")
        await queued.filter(has_text="Ivan").click(timeout=TIMEOUT_MS)
        notice = anna.get_by_test_id("conv-notice")
        await expect(notice).to_have_text(
            "Taking by hand is off in the queue Sales: routing will offer it to you.",
            timeout=TIMEOUT_MS,
        )
        await expect(notice).to_have_attribute("data-take", "off")
        await expect(anna.get_by_test_id("btn-claim")).to_be_hidden()
        await expect(anna.get_by_test_id("composer-input")).to_have_attribute(
            "placeholder", "Routing will offer this conversation to you"
        )
        await expect(anna.get_by_test_id("composer-input")).to_be_disabled()
        # A supervisor may take it anyway.
        boss_queue = sam.get_by_test_id("list-queue").get_by_test_id("conversation-item")
        await boss_queue.filter(has_text="Ivan").click(timeout=TIMEOUT_MS)
        await expect(sam.get_by_test_id("btn-claim")).to_be_visible()

        # Taking turned on: Anna's open console offers the button without a reload.
        await env.services.router.save_queue(env.sam, "Sales", {"allow_pick": True}, create=False)
        await expect(anna.get_by_test_id("btn-claim")).to_be_visible(timeout=TIMEOUT_MS)
        await expect(notice).to_contain_text("waiting in the queue")


async def test_a_members_only_queue_is_not_in_the_list_of_an_operator_outside_it(
    browser: Browser, env: Env
) -> None:
    # Sales: Bob only, and only Bob sees what waits there. Bob has no room, so it waits.
    await env.services.router.save_queue(
        env.sam,
        "Sales",
        {"channels": [env.webchat_id], "members": ["bob"], "visible_to": "members"},
        create=True,
    )
    anna = await _console(browser, env, "anna", online=False)
    bob = await _console(browser, env, "bob", online=False)
    sam = await _console(browser, env, "sam", online=False)
    async with customer(env, "Olga") as olga:
        await olga.say("A private question")
        for page in (bob, sam):
            queued = page.get_by_test_id("list-queue").get_by_test_id("conversation-item")
            await expect(queued.filter(has_text="Olga")).to_have_count(1, timeout=TIMEOUT_MS)
        anna_queue = anna.get_by_test_id("list-queue").get_by_test_id("conversation-item")
        await expect(anna_queue).to_have_count(0)
        await anna.reload()  # nor after loading the list again
        await expect(anna.get_by_test_id("conn-status")).to_have_attribute(
            "data-state", "up", timeout=TIMEOUT_MS
        )
        await expect(anna_queue).to_have_count(0)
        # Open to everyone: it appears in her open console.
        await env.services.router.save_queue(
            env.sam, "Sales", {"visible_to": "everyone"}, create=False
        )
        await expect(anna_queue.filter(has_text="Olga")).to_have_count(1, timeout=TIMEOUT_MS)
