"""The console's messenger features in a real browser (Debian's chromium, Playwright):
attachments and buttons in the composer, files and rich parts in bubbles, channel badges,
and WhatsApp's 24-hour window with its template picker. A customer writes through the web
chat WebSocket (the ``websockets`` package); WhatsApp messages come in through the core's
own ingest use case, with a fake WhatsApp adapter behind the server."""

from __future__ import annotations

import asyncio
import json
import os
import re
import struct
import uuid
import zlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, FilePayload, Page, expect
from websockets.asyncio.client import ClientConnection, connect

from inbox.domain.channel_errors import PermanentFailure
from inbox.domain.channel_io import MediaBlob, WebhookBatch, WebhookRequest
from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.content import (
    Audio,
    ButtonReply,
    File,
    Image,
    MediaRef,
    Part,
    Reaction,
    Sticker,
    Template,
    Text,
    Video,
)
from inbox.domain.ids import ChannelId
from inbox.domain.messages import InboundMessage, OutboundMessage, SenderProfile
from inbox.ports import AdapterDeps, ChannelAdapter, SendReceipt
from inbox.usecases import Core, add_channel, add_operator, ingest_inbound
from operator_ws import Argon2PasswordHasher
from server.app import SERVICES, create_app
from tests.e2e.conftest import PASSWORD, make_settings

TIMEOUT = 10.0
pytestmark = pytest.mark.browser


def _png(width: int = 8, height: int = 6, rgb: tuple[int, int, int] = (220, 40, 40)) -> bytes:
    """A small valid RGB PNG."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG = _png()
NOT_ON_WHATSAPP = "The customer's number is not on WhatsApp."


class ShiftClock:
    """The system clock, moved by ``shift`` (to store messages "25 hours ago")."""

    def __init__(self) -> None:
        self.shift = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.shift


@dataclass
class FakeWhatsApp:
    """Serves inbound files by provider reference; refuses every outbound message."""

    kind: str = "whatsapp"
    sent: list[OutboundMessage] = field(default_factory=list)

    async def send(self, channel: Channel, message: OutboundMessage) -> SendReceipt:
        self.sent.append(message)
        raise PermanentFailure(NOT_ON_WHATSAPP)

    async def handle_webhook(self, channel: Channel, request: WebhookRequest) -> WebhookBatch:
        raise NotImplementedError

    async def fetch_media(self, channel: Channel, ref: MediaRef) -> MediaBlob:
        if ref.provider_ref == "img-1":
            return MediaBlob(PNG, "image/png", "photo.png")
        if ref.provider_ref == "vid-1":
            return MediaBlob(b"\x00\x00\x00\x18ftypmp42", "video/mp4", "clip.mp4")
        raise PermanentFailure("the provider no longer has this file")

    async def setup(self, channel: Channel, public_url: str | None) -> Mapping[str, str]:
        return {}


@dataclass
class Env:
    server: TestServer
    core: Core
    clock: ShiftClock
    webchat_id: ChannelId
    whatsapp_id: ChannelId
    whatsapp: FakeWhatsApp

    @property
    def base(self) -> str:
        return str(self.server.make_url("")).rstrip("/")


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    clock = ShiftClock()
    whatsapp = FakeWhatsApp()

    def make_whatsapp(deps: AdapterDeps) -> ChannelAdapter:
        return whatsapp

    app = await create_app(
        make_settings(f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}", tmp_path),
        clock=clock,
        hasher=Argon2PasswordHasher(fast_for_tests=True),
        adapter_factories={"whatsapp": make_whatsapp},
    )
    core = app[SERVICES].core
    await add_operator(
        core,
        Argon2PasswordHasher(fast_for_tests=True),
        login="anna",
        password=PASSWORD,
        display_name="Anna",
    )
    webchat = await add_channel(core, ChannelKind("webchat"), "Shop", {})
    wa = await add_channel(
        core, ChannelKind("whatsapp"), "Shop WhatsApp", {"templates": "order_update:en,greeting:ru"}
    )
    srv = TestServer(app, host="127.0.0.1")
    await srv.start_server()
    try:
        yield Env(srv, core, clock, webchat.id, wa.id, whatsapp)
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
        def fits(frame: dict[str, Any]) -> bool:
            return frame.get("type") == type_ and all(frame.get(k) == v for k, v in match.items())

        for kept in self.pending:
            if fits(kept):
                self.pending.remove(kept)
                return kept
        while True:
            frame: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), TIMEOUT))
            assert frame.get("type") != "error", frame
            if fits(frame):
                return frame
            self.pending.append(frame)

    async def say(self, text: str) -> None:
        client_id = uuid.uuid4().hex
        await self.send(type="message", text=text, client_id=client_id)
        await self.expect("ack", client_id=client_id)

    async def agent_message(self) -> dict[str, Any]:
        while True:
            frame = await self.expect("message")
            if frame["message"]["from"] == "agent":
                message: dict[str, Any] = frame["message"]
                return message


@asynccontextmanager
async def customer(env: Env, name: str) -> AsyncIterator[Customer]:
    url = str(env.server.make_url(f"/ws/webchat/{env.webchat_id}")).replace("http", "ws", 1)
    async with connect(url) as ws:
        visitor = Customer(ws)
        await visitor.send(type="hello", name=name)
        await visitor.expect("welcome")
        yield visitor


async def _console(browser: Browser, env: Env, **clock: datetime) -> tuple[Page, list[str]]:
    """A logged-in, online console page and the list of dialogs it tried to open."""
    context = await browser.new_context(viewport={"width": 1280, "height": 860})
    if "time" in clock:
        await context.clock.install(time=clock["time"])
    page = await context.new_page()
    dialogs: list[str] = []

    async def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    await page.goto(env.base + "/")
    await page.get_by_test_id("login-login").fill("anna")
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("conn-status")).to_have_attribute(
        "data-state", "up", timeout=TIMEOUT * 1000
    )
    await page.get_by_test_id("presence-select").select_option("online")
    return page, dialogs


async def _open(page: Page, has_text: str) -> None:
    item = page.get_by_test_id("list-mine").get_by_test_id("conversation-item")
    item = item.filter(has_text=has_text)
    await expect(item).to_have_count(1, timeout=TIMEOUT * 1000)
    await item.click()


async def _screenshot(page: Page, name: str) -> None:
    """Saved only when INBOX_TEST_SCREENSHOTS names a directory (to look at the layout)."""
    folder = os.environ.get("INBOX_TEST_SCREENSHOTS")
    if folder:
        await page.screenshot(path=str(Path(folder) / f"{name}.png"))


async def test_operator_sends_an_image_and_a_link_button(browser: Browser, env: Env) -> None:
    page, dialogs = await _console(browser, env)
    async with customer(env, "Maria") as maria, customer(env, "Ivan") as ivan:
        await maria.say("Can you show me the frames?")
        await _open(page, "Maria")
        await expect(page.get_by_test_id("conv-kind")).to_have_text("Web chat")
        await expect(page.get_by_test_id("window-status")).to_be_hidden()

        await page.get_by_test_id("composer-attach").set_input_files(
            files=[FilePayload(name="frames.png", mimeType="image/png", buffer=PNG)]
        )
        pending = page.get_by_test_id("composer-attachment")
        await expect(pending).to_have_attribute("data-state", "ready", timeout=TIMEOUT * 1000)
        await expect(pending).to_contain_text("frames.png")

        await page.get_by_test_id("composer-add-button").click()
        await page.get_by_test_id("composer-button-title").fill("Open the shop")
        await page.get_by_test_id("composer-button-url").fill("https://shop.example/frames")
        await page.get_by_test_id("composer-button-url").press("Enter")  # adds, never sends
        chip = page.get_by_test_id("composer-button")
        await expect(chip).to_contain_text("Open the shop")
        await expect(chip).to_contain_text("https://shop.example/frames")
        assert await page.get_by_test_id("message").count() == 1
        await _screenshot(page, "composer-with-attachment-and-button")

        await page.get_by_test_id("composer-input").fill("Here they are.")
        await page.get_by_test_id("composer-send").click()

        outbound = page.locator("[data-testid=message][data-direction=outbound]")
        await expect(outbound).to_have_attribute("data-status", "delivered", timeout=TIMEOUT * 1000)
        await expect(outbound).to_contain_text("Here they are.")
        thumb = outbound.get_by_test_id("media-image")
        await expect(thumb).to_have_attribute("src", re.compile(r"^blob:"), timeout=TIMEOUT * 1000)
        assert await thumb.evaluate("img => img.complete && img.naturalWidth") == 8
        button = outbound.get_by_test_id("part-button")
        await expect(button).to_contain_text("Open the shop")
        await expect(button).to_contain_text("https://shop.example/frames")
        assert await button.evaluate("n => n.closest('a, button') === null")  # not clickable
        await expect(page.get_by_test_id("composer-attachment")).to_have_count(0)
        await expect(page.get_by_test_id("composer-button")).to_have_count(0)

        # The customer got both, as parts.
        sent = await maria.agent_message()
        kinds = [p["type"] for p in sent["parts"]]
        assert kinds == ["buttons", "image"], sent
        assert sent["parts"][0]["text"] == "Here they are."
        assert sent["parts"][0]["buttons"] == [
            {
                "title": "Open the shop",
                "kind": "url",
                "url": "https://shop.example/frames",
                "payload": "",
            }
        ]
        image = sent["parts"][1]["media"]
        assert (image["mime_type"], image["filename"], image["size"]) == (
            "image/png",
            "frames.png",
            len(PNG),
        )

        # Full size in an overlay; Escape closes it.
        await thumb.click()
        overlay = page.get_by_test_id("media-overlay")
        await expect(overlay.locator("img")).to_have_attribute("src", re.compile(r"^blob:"))
        await _screenshot(page, "image-overlay")
        await page.keyboard.press("Escape")
        await expect(overlay).to_have_count(0)
        await _screenshot(page, "conversation-with-image")

        # Leaving the conversation revokes its blob: URLs.
        src = await thumb.get_attribute("src")
        await ivan.say("Hello?")
        await _open(page, "Ivan")
        await expect(page.get_by_test_id("conv-name")).to_have_text("Ivan")
        state = await page.evaluate("url => fetch(url).then(() => 'alive', () => 'revoked')", src)
        assert state == "revoked"
    assert dialogs == []


async def test_attachment_limits_are_explained(browser: Browser, env: Env) -> None:
    page, _ = await _console(browser, env)
    async with customer(env, "Olga") as olga:
        await olga.say("Hi")
        await _open(page, "Olga")
        # One byte over 20 MiB, made in the page (quicker than sending it through Playwright).
        await page.get_by_test_id("composer-file").evaluate(
            """input => {
                const files = new DataTransfer();
                files.items.add(new File([new Uint8Array(20 * 1024 * 1024 + 1)], 'huge.bin'));
                input.files = files.files;
                input.dispatchEvent(new Event('change', { bubbles: true }));
            }"""
        )
        error = page.get_by_test_id("composer-error")
        await expect(error).to_be_visible()
        await expect(error).to_contain_text("huge.bin")
        await expect(error).to_contain_text("20 MB")
        await expect(page.get_by_test_id("composer-attachment")).to_have_count(0)

        # A file can be removed before sending; buttons alone need a text.
        await page.get_by_test_id("composer-file").set_input_files(
            files=[FilePayload(name="notes.txt", mimeType="text/plain", buffer=b"hello")]
        )
        chip = page.get_by_test_id("composer-attachment")
        await expect(chip).to_have_attribute("data-state", "ready", timeout=TIMEOUT * 1000)
        await chip.get_by_role("button", name="Remove notes.txt").click()
        await expect(chip).to_have_count(0)
        await page.get_by_test_id("composer-add-button").click()
        await page.get_by_test_id("composer-button-title").fill("Yes")
        await page.get_by_test_id("composer-button-save").click()
        await page.get_by_test_id("composer-send").click()
        await expect(error).to_contain_text("write its text")
        await page.get_by_test_id("composer-add-button").click()
        await page.get_by_test_id("composer-button-title").fill("Later")
        await page.get_by_test_id("composer-button-url").fill("javascript:alert(1)")
        await page.get_by_test_id("composer-button-save").click()
        await expect(page.get_by_test_id("composer-button-error")).to_contain_text("https://")
        await expect(page.get_by_test_id("composer-button")).to_have_count(1)


async def test_markup_in_texts_and_button_titles_is_shown_as_text(
    browser: Browser, env: Env
) -> None:
    page, dialogs = await _console(browser, env)
    hostile = "<img src=x onerror=alert(1)>"
    title = "<b>Yes</b><script>alert(2)</script>"
    async with customer(env, "Eve <i>") as eve:
        await eve.say(hostile)
        await _open(page, "Eve")
        inbound = page.locator("[data-testid=message][data-direction=inbound]")
        await expect(inbound).to_contain_text(hostile)

        await page.get_by_test_id("composer-add-button").click()
        await page.get_by_test_id("composer-button-title").fill(title)
        await page.get_by_test_id("composer-button-save").click()
        await expect(page.get_by_test_id("composer-button")).to_contain_text(title)
        await page.get_by_test_id("composer-input").fill("<i>Choose</i>")
        await page.get_by_test_id("composer-send").click()

        outbound = page.locator("[data-testid=message][data-direction=outbound]")
        await expect(outbound).to_have_attribute("data-status", "delivered", timeout=TIMEOUT * 1000)
        await expect(outbound).to_contain_text("<i>Choose</i>")
        await expect(outbound.get_by_test_id("part-button")).to_have_text(title)
        await expect(page.get_by_test_id("conv-name")).to_have_text("Eve <i>")
        markup = page.locator(
            "[data-testid=message-list] :is(img, b, i, script), [data-testid=conv-name] i"
        )
        assert await markup.count() == 0

        sent = await eve.agent_message()
        assert sent["parts"][0]["buttons"][0]["title"] == title
        assert sent["parts"][0]["buttons"][0]["payload"] == title
    await page.wait_for_timeout(200)
    assert dialogs == []


async def _ingest(env: Env, n: int, *parts: Part, **ids: str) -> None:
    await ingest_inbound(
        env.core,
        InboundMessage(
            channel_id=env.whatsapp_id,
            external_id=f"wamid.in{n}",
            sender=SenderProfile(external_user_id="79990001122", display_name="Olga"),
            parts=parts,
            thread_key="79990001122",
            reply_to_external_id=ids.get("reply_to"),
            edit_of_external_id=ids.get("edit_of"),
        ),
    )


async def test_whatsapp_parts_window_and_templates(browser: Browser, env: Env) -> None:
    # Olga last wrote 25 hours ago: WhatsApp only takes a template now.
    env.clock.shift = -timedelta(hours=25)
    await _ingest(env, 1, Text("Hi, my order is late"))
    await _ingest(
        env, 2, Image(MediaRef("image/png", provider_ref="img-1"), caption="The box arrived open")
    )
    await _ingest(
        env,
        3,
        File(MediaRef("application/pdf", provider_ref="gone", filename="bill.pdf", size=2048)),
    )
    await _ingest(env, 4, Video(MediaRef("video/mp4", provider_ref="vid-1", size=12_345)))
    await _ingest(env, 5, Sticker(MediaRef("application/x-tgsticker", provider_ref="s"), "👍"))
    await _ingest(env, 6, Audio(MediaRef("audio/ogg", provider_ref="a"), voice=True, duration_s=7))
    await _ingest(env, 7, ButtonReply("Yes, deliver", "yes"), reply_to="wamid.out1")
    await _ingest(env, 8, Reaction("❤️", "wamid.out1"))
    await _ingest(env, 9, Reaction("", "wamid.out1"))
    await _ingest(env, 10, Text("Hi, my order is very late"), edit_of="wamid.in1")
    env.clock.shift = timedelta()

    # The browser runs two hours behind: it still believes the window is open, so the first
    # free-text reply meets the server's window_closed.
    page, dialogs = await _console(browser, env, time=datetime.now(UTC) - timedelta(hours=2))
    await _open(page, "Olga")
    item = page.get_by_test_id("conversation-item").filter(has_text="Olga")
    await expect(item.locator(".badge-kind")).to_have_text("WhatsApp")
    await expect(page.get_by_test_id("conv-kind")).to_have_text("WhatsApp")
    status = page.get_by_test_id("window-status")
    await expect(status).to_have_text(re.compile(r"^Window open until \d\d:\d\d$"))

    messages = page.get_by_test_id("message")
    await expect(messages).to_have_count(10, timeout=TIMEOUT * 1000)
    await expect(messages.nth(1).get_by_test_id("media-image")).to_have_attribute(
        "src", re.compile(r"^blob:"), timeout=TIMEOUT * 1000
    )
    await expect(messages.nth(1)).to_contain_text("The box arrived open")
    await expect(messages.nth(2).get_by_test_id("media-unavailable")).to_have_text(
        "File unavailable", timeout=TIMEOUT * 1000
    )
    await expect(messages.nth(2)).to_contain_text("bill.pdf")
    video = messages.nth(3)
    await expect(video.get_by_test_id("media-load")).to_contain_text("Load video")
    assert await video.locator("video").count() == 0  # nothing fetched before the click
    await expect(messages.nth(4)).to_contain_text("👍")
    await expect(messages.nth(4)).to_contain_text("Sticker")
    await expect(messages.nth(5)).to_contain_text("Voice message")
    await expect(messages.nth(5)).to_contain_text("0:07")
    await expect(messages.nth(6)).to_contain_text("pressed: Yes, deliver")
    await expect(messages.nth(6).get_by_test_id("message-reply")).to_be_visible()
    await expect(messages.nth(7)).to_contain_text("❤️")
    await expect(messages.nth(8)).to_contain_text("reaction removed")
    await expect(messages.nth(9).get_by_test_id("message-edited")).to_be_visible()
    await video.get_by_test_id("media-load").click()
    await expect(video.get_by_test_id("media")).to_have_attribute(
        "data-state", "ready", timeout=TIMEOUT * 1000
    )
    await _screenshot(page, "whatsapp-parts")

    await page.get_by_test_id("composer-input").fill("Sorry for the delay!")
    await page.get_by_test_id("composer-send").click()
    error = page.get_by_test_id("composer-error")
    await expect(error).to_have_attribute("data-code", "window_closed", timeout=TIMEOUT * 1000)
    await expect(error).to_contain_text("24-hour window closed")
    await expect(status).to_have_text("24-hour window closed")
    refused = messages.filter(has_text="Sorry for the delay!")
    await expect(refused).to_have_attribute("data-status", "failed")
    await expect(refused.get_by_test_id("message-error")).to_contain_text("24 hours")

    # The composer is now a template picker.
    await expect(page.get_by_test_id("composer-input")).to_be_hidden()
    await expect(page.get_by_test_id("composer-attach")).to_be_hidden()
    select = page.get_by_test_id("template-select")
    await expect(select.locator("option")).to_have_text(["order_update (en)", "greeting (ru)"])
    await _screenshot(page, "whatsapp-template-picker")
    await page.get_by_test_id("template-params").fill("Olga, A-1042")
    await page.get_by_test_id("composer-send").click()

    sent = messages.filter(has_text="Template order_update (en)")
    await expect(sent).to_have_count(1)
    await expect(sent.locator(".part-template-params li")).to_have_text(["Olga", "A-1042"])
    # The provider refuses it: the reason is shown under the bubble.
    await expect(sent).to_have_attribute("data-status", "failed", timeout=TIMEOUT * 1000)
    await expect(sent.get_by_test_id("message-error")).to_have_text(NOT_ON_WHATSAPP)
    await expect(sent.locator(".msg-failure")).to_be_visible()
    assert [m.parts for m in env.whatsapp.sent] == [
        (Template("order_update", "en", ("Olga", "A-1042")),)
    ]
    await _screenshot(page, "whatsapp-template-failed")
    assert dialogs == []


async def test_no_templates_configured_is_said(browser: Browser, env: Env) -> None:
    bare = await add_channel(env.core, ChannelKind("whatsapp"), "Bare WhatsApp", {})
    env.clock.shift = -timedelta(hours=30)
    await ingest_inbound(
        env.core,
        InboundMessage(
            channel_id=bare.id,
            external_id="wamid.x",
            sender=SenderProfile(external_user_id="7000", display_name="Petr"),
            parts=(Text("Hello"),),
            thread_key="7000",
        ),
    )
    env.clock.shift = timedelta()
    page, _ = await _console(browser, env)
    await _open(page, "Petr")
    await expect(page.get_by_test_id("window-status")).to_have_text("24-hour window closed")
    await expect(page.get_by_test_id("template-state")).to_contain_text("No templates")
    await expect(page.get_by_test_id("composer-send")).to_be_disabled()
    # Notes are still free text.
    await page.get_by_test_id("composer-mode-note").click()
    await expect(page.get_by_test_id("composer-input")).to_be_visible()
    await expect(page.get_by_test_id("template-panel")).to_be_hidden()
