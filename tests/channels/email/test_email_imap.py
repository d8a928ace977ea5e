"""The adapter's IMAP intake against a real Dovecot: IDLE latency, cursors, restarts,
UIDVALIDITY changes, dropped connections, bad mail, loop protection, set-up."""

from __future__ import annotations

import asyncio
import time

import pytest

from channels.email import EmailAdapter
from inbox.domain.channel_errors import PermanentFailure, RetryLater
from inbox.domain.clock import FixedClock
from inbox.domain.content import File, Text, Unsupported
from inbox.domain.errors import InvalidInput
from inbox.domain.messages import DeliveryStatus
from inbox.ports import AdapterDeps
from tests.channels.email.support import Dovecot, MemoryMedia, corpus, make_channel


def simple_mail(n: int, sender: str = "customer@example.org", body: str = "") -> bytes:
    return (
        f"From: Customer <{sender}>\r\nTo: support@example.test\r\nSubject: Question {n}\r\n"
        f"Message-ID: <q{n}-{time.monotonic_ns()}@example.org>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body or f'Question number {n}'}\r\n"
    ).encode()


async def test_idle_delivers_new_mail_within_two_seconds(
    adapter: EmailAdapter, dovecot: Dovecot, mailbox: str
) -> None:
    channel = make_channel(dovecot.options(mailbox))
    first = await adapter.poll(channel, None, 0)  # connects; the mailbox is empty
    assert first.batch.messages == ()
    polling = asyncio.create_task(adapter.poll(channel, first.cursor, 20))
    await asyncio.sleep(0.3)  # let it enter IDLE
    await dovecot.append(mailbox, simple_mail(1))
    # IDLE answers the new mail, not the 20 s wait: a deadline well inside it.
    result = await asyncio.wait_for(polling, 10)
    assert [m.parts[0] for m in result.batch.messages] == [Text("Question number 1")]
    assert result.cursor is not None
    assert result.cursor.endswith(":1")


async def test_idle_returns_empty_after_the_wait(
    adapter: EmailAdapter, dovecot: Dovecot, mailbox: str
) -> None:
    channel = make_channel(dovecot.options(mailbox))
    started = time.monotonic()
    result = await asyncio.wait_for(adapter.poll(channel, None, 1), 10)
    assert result.batch.messages == ()
    assert time.monotonic() - started >= 0.9  # it waited (a busy machine only adds)


async def test_cursor_restart_reads_nothing_twice_and_loses_nothing(
    media: MemoryMedia, dovecot: Dovecot, mailbox: str
) -> None:
    channel = make_channel(dovecot.options(mailbox))
    for n in range(5):
        await dovecot.append(mailbox, simple_mail(n))
    one = EmailAdapter(AdapterDeps(media=media, clock=FixedClock()), batch=2)
    first = await one.poll(channel, None, 0)
    assert len(first.batch.messages) == 2
    await one.close()  # "the process dies" after the first batch was stored
    two = EmailAdapter(AdapterDeps(media=media, clock=FixedClock()), batch=2)
    ids = [m.external_id for m in first.batch.messages]
    cursor = first.cursor
    for _ in range(3):
        result = await two.poll(channel, cursor, 0)
        ids += [m.external_id for m in result.batch.messages]
        cursor = result.cursor
    await two.close()
    assert len(ids) == 5
    assert len(set(ids)) == 5
    # The same cursor again: nothing new.
    three = EmailAdapter(AdapterDeps(media=media, clock=FixedClock()))
    assert (await three.poll(channel, cursor, 0)).batch.messages == ()
    await three.close()


async def test_uidvalidity_change_rereads_with_the_same_ids(
    adapter: EmailAdapter, dovecot: Dovecot, mailbox: str
) -> None:
    await dovecot.command(mailbox, "CREATE", "Support")
    channel = make_channel(dovecot.options(mailbox, folder="Support"))
    mails = [simple_mail(n) for n in range(2)]
    for raw in mails:
        await dovecot.append(mailbox, raw, "Support")
    first = await adapter.poll(channel, None, 0)
    # The folder is re-created (a server migration): new UIDVALIDITY, same mails + one.
    await adapter.close()
    await dovecot.command(mailbox, "DELETE", "Support")
    await dovecot.command(mailbox, "CREATE", "Support")
    for raw in [*mails, simple_mail(9)]:
        await dovecot.append(mailbox, raw, "Support")
    second = await adapter.poll(channel, first.cursor, 0)
    assert first.cursor is not None
    assert second.cursor is not None
    assert first.cursor.split(":")[0] != second.cursor.split(":")[0]
    old = {m.external_id for m in first.batch.messages}
    new = [m.external_id for m in second.batch.messages]
    # Re-read from UID 1: the two old mails come again with the same external ids, which
    # the core's (channel, external_id) key drops; the new one is there.
    assert len(new) == 3
    assert old < set(new)


async def test_dropped_connection_is_retried_and_reconnects(
    adapter: EmailAdapter, dovecot: Dovecot, mailbox: str
) -> None:
    channel = make_channel(dovecot.options(mailbox))
    first = await adapter.poll(channel, None, 0)
    polling = asyncio.create_task(adapter.poll(channel, first.cursor, 20))
    await asyncio.sleep(0.3)
    dovecot.stop()  # the server goes away in the middle of IDLE
    with pytest.raises(RetryLater):
        await asyncio.wait_for(polling, 5)
    with pytest.raises(RetryLater):
        await adapter.poll(channel, first.cursor, 0)  # still down
    dovecot.start()
    await dovecot.append(mailbox, simple_mail(7))
    result = await adapter.poll(channel, first.cursor, 0)
    assert len(result.batch.messages) == 1


async def test_bad_and_huge_mail_do_not_block_later_mail(
    media: MemoryMedia, dovecot: Dovecot, mailbox: str
) -> None:
    channel = make_channel(dovecot.options(mailbox))
    big = (
        b"From: big@example.org\r\nTo: support@example.test\r\nSubject: Big\r\n"
        b"Message-ID: <big-1@example.org>\r\nContent-Type: text/plain\r\n\r\n"
        + b"x" * 300_000
        + b"\r\n"
    )
    await dovecot.append(mailbox, corpus("malformed_mime.eml"))
    await dovecot.append(mailbox, big)
    await dovecot.append(mailbox, simple_mail(3))
    adapter = EmailAdapter(AdapterDeps(media=media, clock=FixedClock()), max_message_bytes=200_000)
    try:
        result = await adapter.poll(channel, None, 0)
    finally:
        await adapter.close()
    malformed, huge, fine = result.batch.messages
    assert Text("The text survives.") in malformed.parts
    assert any(isinstance(p, Unsupported) and p.kind == "malformed_mail" for p in malformed.parts)
    assert huge.external_id == "<big-1@example.org>"
    assert [p.kind for p in huge.parts if isinstance(p, Unsupported)] == ["oversize_mail"]
    assert fine.parts[0] == Text("Question number 3")
    assert result.cursor is not None
    assert result.cursor.endswith(":3")
    original = [p for p in fine.parts if isinstance(p, File)][-1]
    assert original.caption == "Original message"
    assert original.media.key in media.files


async def test_oversize_attachment_is_dropped_with_a_note(
    media: MemoryMedia, dovecot: Dovecot, mailbox: str
) -> None:
    from email.message import EmailMessage

    mail = EmailMessage()
    mail["From"] = "photos@example.org"
    mail["To"] = "support@example.test"
    mail["Subject"] = "Photos"
    mail["Message-ID"] = "<photos-1@example.org>"
    mail.set_content("Two photos attached.")
    mail.add_attachment(
        b"\x89PNG" + b"\x00" * 2000, maintype="image", subtype="png", filename="a.png"
    )
    mail.add_attachment(
        b"\x00" * 300_000, maintype="application", subtype="zip", filename="huge.zip"
    )
    await dovecot.append(mailbox, bytes(mail))
    adapter = EmailAdapter(
        AdapterDeps(media=media, clock=FixedClock()), max_attachment_bytes=100_000
    )
    try:
        result = await adapter.poll(make_channel(dovecot.options(mailbox)), None, 0)
    finally:
        await adapter.close()
    (message,) = result.batch.messages
    kinds = [p.type for p in message.parts]
    assert kinds == ["text", "image", "unsupported", "file"]
    note = message.parts[2]
    assert isinstance(note, Unsupported)
    assert "huge.zip" in note.description
    assert "limit" in note.description


async def test_auto_replies_bounces_lists_and_our_own_mail_open_nothing(
    adapter: EmailAdapter, dovecot: Dovecot, mailbox: str
) -> None:
    channel = make_channel(dovecot.options(mailbox))
    for name in ("autoreply.eml", "bounce_dsn.eml", "list_mail.eml", "empty_return_path.eml"):
        await dovecot.append(mailbox, corpus(name))
    own = (
        b"From: Shop <support@example.test>\r\nTo: x@example.org\r\nSubject: Re: Hi\r\n"
        b"Message-ID: <own-copy@example.test>\r\n\r\nOur reply, copied to the inbox.\r\n"
    )
    await dovecot.append(mailbox, own)
    result = await adapter.poll(channel, None, 0)
    assert result.batch.messages == ()
    assert result.batch.statuses == ()  # the bounce is for a mail that is not ours
    assert result.cursor is not None
    assert result.cursor.endswith(":5")


async def test_bounce_of_our_mail_marks_it_failed(
    adapter: EmailAdapter, dovecot: Dovecot, mailbox: str
) -> None:
    from channels.email.ids import reply_message_id
    from tests.channels.email.support import MAIL_PASSWORD

    ours = reply_message_id(MAIL_PASSWORD, "0123456789abcdef0123456789abcdef", "example.test")
    dsn = corpus("bounce_dsn.eml").replace(b"<order42.1736751600@example.test>", ours.encode())
    await dovecot.append(mailbox, dsn)
    result = await adapter.poll(make_channel(dovecot.options(mailbox)), None, 0)
    (status,) = result.batch.statuses
    assert status.external_id == ours
    assert status.status is DeliveryStatus.FAILED
    assert status.error == "The mail bounced: 550 5.1.1 User unknown"


async def test_setup_logs_in_or_explains_the_refusal(
    adapter: EmailAdapter, dovecot: Dovecot, mailbox: str
) -> None:
    assert await adapter.setup(make_channel(dovecot.options(mailbox)), None) == {}
    with pytest.raises(InvalidInput) as refused:
        await adapter.setup(make_channel(dovecot.options(mailbox, password="wrong")), None)
    assert "refused the login" in str(refused.value)
    assert "wrong" not in str(refused.value)
    with pytest.raises(InvalidInput, match="option address is required"):
        await adapter.setup(make_channel({**dovecot.options(mailbox), "address": ""}), None)


async def test_wrong_password_while_polling_is_permanent(
    adapter: EmailAdapter, dovecot: Dovecot, mailbox: str
) -> None:
    channel = make_channel(dovecot.options(mailbox, password="nope"))
    with pytest.raises(PermanentFailure, match="refused the login"):
        await adapter.poll(channel, None, 0)
