"""Real servers for the e-mail tests: Dovecot (IMAP) started from the test's own config,
aiosmtpd (SMTP) with an optional STARTTLS + AUTH, a self-signed certificate, a media
store in memory, and channels pointing at them.

Dovecot as root (CI containers): the master runs as root and drops privileges as usual —
``default_internal_user = dovecot`` and ``default_login_user = dovenull`` (both created
by Debian's dovecot-core) and the mail files belong to ``nobody``; the scratch directory
lives under ``/tmp`` with mode 0755 because pytest's ``tmp_path`` parents are 0700.
As an ordinary user everything runs as that user (Dovecot's "HowTo/Rootless").
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import grp
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from channels.email.imap import ImapSession
from channels.email.options import EmailOptions
from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.content import MediaRef
from inbox.domain.errors import NotFound
from inbox.domain.ids import ChannelId, new_id
from tests.ci import in_ci

__all__ = [
    "CORPUS",
    "SHOP",
    "Dovecot",
    "MemoryMedia",
    "SmtpSink",
    "corpus",
    "free_port",
    "make_channel",
    "self_signed_cert",
]

CORPUS = Path(__file__).parent / "corpus"
SHOP = "support@example.test"
MAIL_PASSWORD = "secret-pw-42"
#: Mailboxes made for one session of tests.
POOL = 200
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class MemoryMedia:
    """A :class:`inbox.ports.MediaStore` in a dict."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.refs: dict[str, MediaRef] = {}

    async def put(self, data: bytes, *, mime_type: str, filename: str | None = None) -> MediaRef:
        key = new_id()
        self.files[key] = data
        ref = MediaRef(mime_type=mime_type, key=key, filename=filename, size=len(data))
        self.refs[key] = ref
        return ref

    async def get(self, key: str) -> bytes:
        if key not in self.files:
            raise NotFound("no such file")
        return self.files[key]


_CONF = """
protocols = imap
listen = 127.0.0.1
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
info_log_path = {dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_internal_group = {internal_group}
default_login_user = {login}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {dir}/users
  default_fields = uid={mail_user} gid={mail_group} home={dir}/home/%u
}}
mail_location = maildir:~/Maildir
first_valid_uid = 1
first_valid_gid = 1
"""


class Dovecot:
    """A Dovecot 2.3 process on a free port; :meth:`add_user` makes a fresh mailbox
    (passwd-file is re-read when it changes, so no restart is needed)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="inbox-dovecot-"))
        self.dir.chmod(0o755)
        self.port = free_port()
        self.conf = self.dir / "dovecot.conf"
        self.users = self.dir / "users"
        self.users.write_text(
            "".join(
                f"shop{n}@example.test:{{PLAIN}}{MAIL_PASSWORD}::::::\n" for n in range(1, POOL + 1)
            )
        )
        (self.dir / "home").mkdir()
        if os.geteuid() == 0:
            internal, internal_group, login = "dovecot", "dovecot", "dovenull"
            mail_user, mail_group = "nobody", grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name
            shutil.chown(self.dir / "home", mail_user, mail_group)
        else:
            me = getpass.getuser()
            group = grp.getgrgid(os.getgid()).gr_name
            internal, internal_group, login, mail_user, mail_group = me, group, me, me, group
        self.conf.write_text(
            _CONF.format(
                dir=self.dir,
                port=self.port,
                internal=internal,
                internal_group=internal_group,
                login=login,
                mail_user=mail_user,
                mail_group=mail_group,
            )
        )
        self.process: subprocess.Popen[bytes] | None = None
        self._count = 0

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own config, a fixed command
            [DOVECOT, "-F", "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: stop() ends the imap children
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        log = (self.dir / "dovecot.log").read_text() if (self.dir / "dovecot.log").exists() else ""
        err = self.process.stderr.read().decode() if self.process.stderr else ""
        self.stop()
        raise RuntimeError(f"dovecot did not start: {err} {log}")

    def stop(self) -> None:
        """Stop the master and every imap process (they outlive the master otherwise,
        keeping clients connected): the whole process group gets SIGTERM, then SIGKILL."""
        if self.process is not None and self.process.poll() is None:
            group = os.getpgid(self.process.pid)
            os.killpg(group, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(group, signal.SIGKILL)
                self.process.wait(5)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)  # children that ignored SIGTERM
        self.process = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def add_user(self) -> str:
        """The next unused mailbox of a pool written before start: Dovecot notices a
        changed passwd-file by its mtime (1 s resolution), so users added while it runs
        may stay unknown for a second."""
        self._count += 1
        assert self._count <= POOL, "raise POOL"
        return f"shop{self._count}@example.test"

    def options(self, user: str, **extra: str) -> dict[str, str]:
        values = {
            "address": SHOP,
            "imap_host": "127.0.0.1",
            "imap_port": str(self.port),
            "imap_tls": "none",
            "smtp_host": "127.0.0.1",
            "smtp_port": "1",
            "smtp_tls": "none",
            "username": user,
            "password": MAIL_PASSWORD,
        }
        values.update(extra)
        return values

    async def append(self, user: str, raw: bytes, folder: str = "INBOX") -> None:
        """Put a mail into the mailbox over IMAP (as a mail server's delivery would)."""
        session = ImapSession(EmailOptions.parse(self.options(user)))
        await session.open()
        try:
            await session.append(raw, folder)
        finally:
            await session.close()

    async def command(self, user: str, name: str, *args: str) -> None:
        """A raw IMAP command (CREATE, DELETE) for the test's own set-up."""
        session = ImapSession(EmailOptions.parse(self.options(user)))
        await session.open()
        try:
            response = await session._call(session._client.protocol.simple_command(name, *args))
            assert response.result == "OK", response
        finally:
            await session.close()


def dovecot_or_skip() -> None:
    if shutil.which("dovecot") is None:
        reason = "dovecot is not installed (apt-get install dovecot-imapd)"
        if in_ci():
            pytest.fail(f"CI=true requires the IMAP tests, but {reason}", pytrace=False)
        pytest.skip(reason)


def make_channel(options: dict[str, str], name: str = "Shop") -> Channel:
    return Channel(
        id=ChannelId(new_id()),
        kind=ChannelKind("email"),
        name=name,
        created_at=datetime(2025, 1, 13, tzinfo=UTC),
        options=options,
    )


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """(cert, key) for 127.0.0.1/localhost, made with the openssl CLI."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(  # noqa: S603 - fixed arguments
        [
            shutil.which("openssl") or "/usr/bin/openssl", "req", "-x509",
            "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@dataclass
class SmtpSink:
    """aiosmtpd collecting every mail; ``reply_next`` scripts an error reply to DATA."""

    port: int
    received: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    controller: Controller | None = None

    def reply_next(self, reply: str) -> None:
        self.replies.append(reply)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.replies:
            return self.replies.pop(0)
        content = envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        self.received.append((str(envelope.mail_from), list(envelope.rcpt_tos), raw))
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        import email
        import email.policy

        out = []
        for _, _, raw in self.received:
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            assert isinstance(msg, EmailMessage)
            out.append(msg)
        return out

    async def wait_for(self, count: int, timeout: float = 5.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.received) < count:
            assert asyncio.get_running_loop().time() < deadline, self.received
            await asyncio.sleep(0.02)


def start_smtp(
    *, tls: ssl.SSLContext | None = None, users: dict[str, str] | None = None
) -> SmtpSink:
    sink = SmtpSink(port=free_port())

    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword) and users is not None:
            login, password = data.login.decode(), data.password.decode()
            if users.get(login) == password:
                sink.logins.append(login)
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    kwargs: dict[str, Any] = {}
    if tls is not None:
        kwargs.update(tls_context=tls, require_starttls=True)
    if users is not None:
        kwargs.update(authenticator=authenticate, auth_required=True)
    sink.controller = Controller(sink, hostname="127.0.0.1", port=sink.port, **kwargs)
    sink.controller.start()
    return sink


def stop_smtp(sink: SmtpSink) -> None:
    if sink.controller is not None:
        sink.controller.stop()


@contextlib.contextmanager
def smtp_server(
    *, tls: ssl.SSLContext | None = None, users: dict[str, str] | None = None
) -> Iterator[SmtpSink]:
    sink = start_smtp(tls=tls, users=users)
    try:
        yield sink
    finally:
        stop_smtp(sink)
