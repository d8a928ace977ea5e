"""The channel's parts below the adapter: the options' names, the error mapping
(errors.py), the cursor (poller.py) and :class:`EmailClient` over a real Dovecot and a
real aiosmtpd, with injected connection factories."""

from __future__ import annotations

import ssl
from email.message import EmailMessage

import aiosmtplib
import pytest

from channels.email import EmailAdapter
from channels.email.client import EmailClient
from channels.email.errors import (
    ImapError,
    ImapLoginRefused,
    poll_error,
    settings_error,
    setup_error,
    smtp_error,
)
from channels.email.imap import ImapSession
from channels.email.options import OPTIONS, SECRETS, EmailOptions
from channels.email.poller import parse_cursor
from channels.email.smtp import smtp_connection
from channels.email.spec import SPEC
from inbox.domain.channel_errors import PermanentFailure, RetryLater
from inbox.domain.clock import FixedClock
from inbox.domain.errors import InvalidInput
from inbox.ports import AdapterDeps
from tests.channels.email.support import (
    MAIL_PASSWORD,
    Dovecot,
    MemoryMedia,
    SmtpSink,
    make_channel,
)


def test_options_are_the_ones_the_spec_declares() -> None:
    assert set(OPTIONS) == SPEC.options
    assert set(SECRETS) == SPEC.secrets
    assert len(OPTIONS) == len(set(OPTIONS))
    assert SECRETS == ("password",)
    assert set(SECRETS) <= set(OPTIONS)


def _options(**extra: str) -> EmailOptions:
    values = {
        "address": "support@example.test",
        "imap_host": "127.0.0.1",
        "smtp_host": "mail.example.test",
        "smtp_port": "2525",
        "username": "support",
        "password": MAIL_PASSWORD,
    }
    values.update(extra)
    return EmailOptions.parse(values)


def _ssl_error(reason: str) -> ssl.SSLError:
    """As the ssl module raises it (it sets ``reason``; the constructor does not)."""
    exc = ssl.SSLError(1, f"[SSL: {reason}] {reason.lower()}")
    exc.reason = reason
    return exc


@pytest.mark.parametrize(
    ("exc", "expected", "words"),
    [
        (aiosmtplib.SMTPResponseException(421, "Try again later"), RetryLater, "421"),
        (aiosmtplib.SMTPResponseException(552, "Too big"), PermanentFailure, "552 Too big"),
        (aiosmtplib.SMTPAuthenticationError(454, "Temporary"), RetryLater, "log in now"),
        (aiosmtplib.SMTPAuthenticationError(535, "Bad creds"), PermanentFailure, "535"),
        (
            aiosmtplib.SMTPRecipientsRefused(
                [aiosmtplib.SMTPRecipientRefused(450, "Greylisted", "a@b.example")]
            ),
            RetryLater,
            "450 Greylisted",
        ),
        (
            aiosmtplib.SMTPRecipientsRefused(
                [
                    aiosmtplib.SMTPRecipientRefused(450, "Greylisted", "a@b.example"),
                    aiosmtplib.SMTPRecipientRefused(550, "5.1.1 User unknown", "c@d.example"),
                ]
            ),
            PermanentFailure,
            "550 5.1.1 User unknown",
        ),
        (aiosmtplib.SMTPNotSupported("STARTTLS"), PermanentFailure, "smtp_tls"),
        (_ssl_error("WRONG_VERSION_NUMBER"), PermanentFailure, "WRONG_VERSION_NUMBER"),
        (ConnectionRefusedError(), RetryLater, "mail.example.test:2525"),
        (TimeoutError(), RetryLater, "TimeoutError"),
        (aiosmtplib.SMTPServerDisconnected("gone"), RetryLater, "Could not reach"),
    ],
)
def test_smtp_errors_map_4xx_to_retry_and_5xx_to_failure(
    exc: BaseException, expected: type[Exception], words: str
) -> None:
    mapped = smtp_error(exc, _options())
    assert type(mapped) is expected
    assert words in str(mapped)
    assert MAIL_PASSWORD not in str(mapped)


def test_imap_errors_map_to_poll_and_setup_errors() -> None:
    refused = ImapLoginRefused("NO [AUTHENTICATIONFAILED] Authentication failed.")
    dropped = ImapError("the connection to the IMAP server dropped")
    assert isinstance(poll_error(refused), PermanentFailure)
    assert isinstance(poll_error(dropped), RetryLater)
    options = _options(imap_port="1993")
    assert "refused the login" in str(setup_error(refused, options))
    assert "INBOX on 127.0.0.1:1993" in str(setup_error(dropped, options))
    assert isinstance(setup_error(dropped, options), InvalidInput)
    wrong = settings_error(InvalidInput("option address is required"))
    assert isinstance(wrong, PermanentFailure)
    assert "address" in str(wrong)


@pytest.mark.parametrize(
    ("cursor", "parsed"),
    [(None, (0, 0)), ("", (0, 0)), ("7:42", (7, 42)), ("7:", (0, 0)), ("junk", (0, 0))],
)
def test_cursor(cursor: str | None, parsed: tuple[int, int]) -> None:
    assert parse_cursor(cursor) == parsed


def _alive(client: EmailClient) -> bool:
    return client.alive


def _mail(subject: str, sender: str = "ivan@example.org") -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "support@example.test"
    mail["Subject"] = subject
    mail["Message-ID"] = "<client-test@example.test>"
    mail.set_content("Hello")
    return mail


async def test_client_reads_new_mail_without_marking_it_seen(
    dovecot: Dovecot, mailbox: str
) -> None:
    await dovecot.append(mailbox, _mail("First").as_bytes())
    client = EmailClient(EmailOptions.parse(dovecot.options(mailbox)))
    assert not _alive(client)
    with pytest.raises(ImapError):
        await client.select()  # not open yet
    await client.open()
    try:
        assert _alive(client)
        assert await client.select() > 0
        uids = await client.new_uids(0)
        assert uids == [1]
        fetched = await client.fetch(uids, 1_000_000)
        assert [m.uid for m in fetched] == [1]
        assert b"Subject: First" in fetched[0].raw
        assert await client.new_uids(1) == []
        assert not await client.wait_for_mail(0.2)
    finally:
        await client.close()
    assert not _alive(client)
    await client.close()  # twice is fine


async def test_client_uses_the_injected_factories(
    dovecot: Dovecot, mailbox: str, smtp: SmtpSink
) -> None:
    made: list[str] = []

    def imap(options: EmailOptions) -> ImapSession:
        made.append("imap")
        return ImapSession(options)

    def smtp_factory(options: EmailOptions) -> aiosmtplib.SMTP:
        made.append("smtp")
        return smtp_connection(options)

    options = EmailOptions.parse(dovecot.options(mailbox, smtp_port=str(smtp.port)))
    client = EmailClient(options, imap=imap, smtp=smtp_factory)
    await client.send(_mail("Sent"))
    await smtp.wait_for(1)
    assert smtp.messages()[0]["Subject"] == "Sent"
    await client.open()
    await client.close()
    assert made == ["smtp", "imap"]


async def test_the_adapter_builds_its_clients_with_the_given_factory(
    media: MemoryMedia, dovecot: Dovecot, mailbox: str
) -> None:
    built: list[EmailOptions] = []

    def connect(options: EmailOptions) -> EmailClient:
        built.append(options)
        return EmailClient(options)

    adapter = EmailAdapter(AdapterDeps(media=media, clock=FixedClock()), client=connect)
    channel = make_channel(dovecot.options(mailbox))
    try:
        assert await adapter.setup(channel, None) == {}
        await dovecot.append(mailbox, _mail("Polled").as_bytes())
        result = await adapter.poll(channel, None, 0)
        assert len(result.batch.messages) == 1
        await adapter.poll(channel, result.cursor, 0)  # the open client is reused
    finally:
        await adapter.close()
    assert len(built) == 2  # one for setup, one kept for the polls


def test_parsed_options_never_show_the_password() -> None:
    shown = repr(_options())
    assert "password" not in shown.lower()
    assert "imap_host=" in shown
