"""Fixtures for the e-mail tests: one Dovecot for the whole session (a fresh mailbox per
test), an SMTP sink per test, an adapter on an in-memory media store."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from channels.email import EmailAdapter
from inbox.domain.clock import FixedClock
from inbox.ports import AdapterDeps
from tests.channels.email.support import (
    Dovecot,
    MemoryMedia,
    SmtpSink,
    dovecot_or_skip,
    self_signed_cert,
    smtp_server,
)


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[Dovecot]:
    dovecot_or_skip()
    server = Dovecot()
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def dovecot(dovecot_server: Dovecot) -> Dovecot:
    if dovecot_server.process is None or dovecot_server.process.poll() is not None:
        dovecot_server.start()  # a test stopped it
    return dovecot_server


@pytest.fixture
def mailbox(dovecot: Dovecot) -> str:
    """A fresh, empty mailbox user."""
    return dovecot.add_user()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def client_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


@pytest.fixture
def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(certificate[0]), str(certificate[1]))
    return context


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with smtp_server() as sink:
        yield sink


@pytest.fixture
def media() -> MemoryMedia:
    return MemoryMedia()


@pytest.fixture
async def adapter(media: MemoryMedia, client_tls: ssl.SSLContext) -> AsyncIterator[EmailAdapter]:
    made = EmailAdapter(AdapterDeps(media=media, clock=FixedClock()), ssl_context=client_tls)
    try:
        yield made
    finally:
        await made.close()
