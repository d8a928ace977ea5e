"""Outbound: the MIME the adapter builds and its delivery to a real SMTP server
(aiosmtpd): threading headers, text + HTML, attachments, STARTTLS + AUTH, error mapping."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime

import pytest

from channels.email import EmailAdapter
from channels.email.ids import our_message_ids, reply_message_id
from inbox.domain.channel_errors import PermanentFailure, RetryLater
from inbox.domain.content import Button, Buttons, File, Image, MediaRef, Part, Text
from inbox.domain.ids import ChannelId, ConversationId, MessageId
from inbox.domain.messages import OutboundMessage
from tests.channels.email.support import (
    MAIL_PASSWORD,
    MemoryMedia,
    SmtpSink,
    free_port,
    make_channel,
    smtp_server,
)

MESSAGE_ID = "0123456789abcdef0123456789abcdef"


def smtp_options(port: int, **extra: str) -> dict[str, str]:
    values = {
        "address": "support@example.test",
        "imap_host": "127.0.0.1",
        "smtp_host": "127.0.0.1",
        "smtp_port": str(port),
        "smtp_tls": "none",
        "username": "",
        "password": MAIL_PASSWORD,
    }
    values.update(extra)
    return values


def outbound(*parts: Part, **fields: object) -> OutboundMessage:
    values: dict[str, object] = {
        "message_id": MessageId(MESSAGE_ID),
        "conversation_id": ConversationId("c1"),
        "channel_id": ChannelId("ch1"),
        "recipient": "ivan@example.org",
        "parts": parts or (Text("Hello, Ivan!"),),
        "author_name": "Maria",
        "subject": "Order 42",
        "in_reply_to": "<koi8-1@example.org>",
        "references": ("<order42.1736751600@example.test>", "<koi8-1@example.org>"),
        "created_at": datetime(2025, 1, 13, tzinfo=UTC),
    }
    values.update(fields)
    return OutboundMessage(**values)  # type: ignore[arg-type]


async def test_reply_has_threading_headers_and_both_alternatives(
    adapter: EmailAdapter, smtp: SmtpSink
) -> None:
    channel = make_channel({**smtp_options(smtp.port), "username": ""}, name="Lens Shop")
    with pytest.raises(PermanentFailure, match="username"):  # a required option
        await adapter.send(channel, outbound())
    smtp_no_auth = make_channel(
        smtp_options(smtp.port, username="support@example.test"), "Lens Shop"
    )
    receipt = await adapter.send(smtp_no_auth, outbound())
    await smtp.wait_for(1)
    (mail,) = smtp.messages()
    expected = reply_message_id(MAIL_PASSWORD, MESSAGE_ID, "example.test")
    assert receipt.external_id == expected == mail["Message-ID"]
    assert our_message_ids(MAIL_PASSWORD, [expected]) == [MESSAGE_ID]
    assert mail["In-Reply-To"] == "<koi8-1@example.org>"
    assert mail["References"] == "<order42.1736751600@example.test> <koi8-1@example.org>"
    assert mail["Subject"] == "Re: Order 42"
    assert mail["From"].addresses[0].display_name == "Maria \u2014 Lens Shop"
    assert mail["From"].addresses[0].addr_spec == "support@example.test"
    assert mail["To"] == "ivan@example.org"
    assert mail["Date"] is not None
    assert mail["Auto-Submitted"] is None
    assert mail.get_body(("plain",)).get_content().strip() == "Hello, Ivan!"  # type: ignore[union-attr]
    assert "<p>Hello, Ivan!</p>" in mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    mail_from, rcpts, _ = smtp.received[0]
    assert mail_from == "support@example.test"
    assert rcpts == ["ivan@example.org"]


async def test_buttons_become_links_and_a_numbered_list(
    adapter: EmailAdapter, smtp: SmtpSink
) -> None:
    channel = make_channel(smtp_options(smtp.port, username="support@example.test"))
    buttons = Buttons(
        "Your order is ready <b>now</b>",
        (
            Button("Pay", kind="url", url="https://pay.example/p/42?a=1&b=2"),
            Button("Call me", payload="call"),
        ),
    )
    await adapter.send(channel, outbound(buttons, subject="Re: Order 42"))
    await smtp.wait_for(1)
    (mail,) = smtp.messages()
    assert mail["Subject"] == "Re: Order 42"  # no "Re: Re:"
    plain = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "1. Pay https://pay.example/p/42?a=1&b=2" in plain
    assert "2. Call me" in plain
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert '<a href="https://pay.example/p/42?a=1&amp;b=2">Pay</a>' in html
    assert "&lt;b&gt;now&lt;/b&gt;" in html
    assert "<b>" not in html


async def test_attachments_are_read_from_the_media_store(
    adapter: EmailAdapter, media: MemoryMedia, smtp: SmtpSink
) -> None:
    channel = make_channel(smtp_options(smtp.port, username="support@example.test"))
    photo = await media.put(b"\x89PNG-bytes", mime_type="image/png", filename="photo.png")
    doc = await media.put(b"%PDF-1.4", mime_type="application/pdf", filename="Счёт №42.pdf")
    await adapter.send(channel, outbound(Text("Invoice attached"), Image(photo), File(doc)))
    await smtp.wait_for(1)
    (mail,) = smtp.messages()
    files = {a.get_filename(): a.get_content() for a in mail.iter_attachments()}
    assert files == {"photo.png": b"\x89PNG-bytes", "Счёт №42.pdf": b"%PDF-1.4"}
    missing = MediaRef("image/png", provider_ref="https://x/y.png")
    with pytest.raises(PermanentFailure, match="not stored"):
        await adapter.send(channel, outbound(Image(missing)))


async def test_starttls_and_auth(adapter: EmailAdapter, server_tls: ssl.SSLContext) -> None:
    with smtp_server(tls=server_tls, users={"support@example.test": MAIL_PASSWORD}) as sink:
        opts = smtp_options(sink.port, smtp_tls="starttls", username="support@example.test")
        await adapter.send(make_channel(opts), outbound())
        await sink.wait_for(1)
        assert sink.logins == ["support@example.test"]
        bad = {**opts, "password": "wrong-password"}
        with pytest.raises(PermanentFailure) as refused:
            await adapter.send(make_channel(bad), outbound())
        assert "535" in refused.value.reason
        assert "wrong-password" not in refused.value.reason
        plain = {**opts, "smtp_tls": "none"}
        with pytest.raises(PermanentFailure):  # 530 Must issue a STARTTLS command first
            await adapter.send(make_channel(plain), outbound())


async def test_transient_and_permanent_replies(adapter: EmailAdapter, smtp: SmtpSink) -> None:
    channel = make_channel(smtp_options(smtp.port, username="support@example.test"))
    smtp.reply_next("451 4.3.0 Try again later")
    with pytest.raises(RetryLater, match="451"):
        await adapter.send(channel, outbound())
    smtp.reply_next("550 5.1.1 Mailbox unavailable")
    with pytest.raises(PermanentFailure, match=r"550 5\.1\.1 Mailbox unavailable"):
        await adapter.send(channel, outbound())
    await adapter.send(channel, outbound())
    assert len(smtp.received) == 1


async def test_refused_connection_is_retried(adapter: EmailAdapter) -> None:
    channel = make_channel(smtp_options(free_port(), username="support@example.test"))
    with pytest.raises(RetryLater, match="Could not reach the mail server"):
        await adapter.send(channel, outbound())


async def test_automatic_mail_is_marked() -> None:
    from channels.email.outbound import build_mail

    mail = build_mail(
        outbound(),
        address="support@example.test",
        channel_name="Shop",
        secret="s",
        files=[],
        now=datetime(2025, 1, 13, tzinfo=UTC),
        automatic=True,
    )
    assert mail["Auto-Submitted"] == "auto-replied"
