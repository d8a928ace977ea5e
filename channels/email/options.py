"""An e-mail channel's options (CONTRACT.md, "Channel options"), checked.

=============  ========  ===============================================================
option         required  meaning
=============  ========  ===============================================================
``address``    yes       the shop's address: the From of every reply
``imap_host``  yes       the IMAP server that holds the mailbox
``imap_port``  no        default 993 for ``ssl``, 143 otherwise
``imap_tls``   no        ``ssl`` (default), ``starttls`` or ``none``
``smtp_host``  yes       the SMTP server that sends replies
``smtp_port``  no        default 465 for ``ssl``, 587 for ``starttls``, 25 for ``none``
``smtp_tls``   no        ``ssl``, ``starttls`` (default) or ``none``
``username``   yes       the login for IMAP and SMTP (often the address itself)
``password``   yes       its password (an app password with Gmail/Yandex/Mail.ru)
``folder``     no        the mailbox to read; default ``INBOX``
=============  ========  ===============================================================
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from inbox.domain.errors import InvalidInput

__all__ = ["OPTIONS", "SECRETS", "EmailOptions", "TlsMode"]

#: Every option an e-mail channel accepts (its spec, channels/email/spec.py, declares these).
OPTIONS: Final[tuple[str, ...]] = (
    "imap_host",
    "imap_port",
    "imap_tls",
    "smtp_host",
    "smtp_port",
    "smtp_tls",
    "username",
    "password",
    "address",
    "folder",
)
#: The options that are secret: never shown, never logged.
SECRETS: Final[tuple[str, ...]] = ("password",)

TlsMode = Literal["ssl", "starttls", "none"]

_TLS: Final[Mapping[str, TlsMode]] = {"ssl": "ssl", "starttls": "starttls", "none": "none"}
_IMAP_PORTS: Final[Mapping[TlsMode, int]] = {"ssl": 993, "starttls": 143, "none": 143}
_SMTP_PORTS: Final[Mapping[TlsMode, int]] = {"ssl": 465, "starttls": 587, "none": 25}
#: Deliberately loose (RFC 5322 addresses are wild); it only catches obvious typos.
_ADDRESS: Final = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")
_HOST: Final = re.compile(r"[A-Za-z0-9.\-:\[\]]+")


@dataclass(frozen=True, slots=True)
class EmailOptions:
    address: str
    imap_host: str
    imap_port: int
    imap_tls: TlsMode
    smtp_host: str
    smtp_port: int
    smtp_tls: TlsMode
    username: str
    password: str
    folder: str

    def __repr__(self) -> str:
        # Never show the password in a traceback or a log line.
        return (
            f"EmailOptions(address={self.address!r}, imap_host={self.imap_host!r}, "
            f"smtp_host={self.smtp_host!r}, username={self.username!r})"
        )

    @property
    def domain(self) -> str:
        """The part of ``address`` after ``@``: the right-hand side of our Message-IDs."""
        return self.address.rpartition("@")[2]

    @classmethod
    def parse(cls, options: Mapping[str, str]) -> EmailOptions:
        """Raises :class:`InvalidInput` naming every option that is missing or wrong (never
        quoting the password)."""
        problems: list[str] = []

        def required(name: str) -> str:
            value = (options.get(name) or "").strip()
            if not value:
                problems.append(f"option {name} is required")
            return value

        address = required("address")
        if address and not _ADDRESS.fullmatch(address):
            problems.append("option address must be an e-mail address like support@shop.example")
        imap_host = required("imap_host")
        smtp_host = required("smtp_host")
        for name, host in (("imap_host", imap_host), ("smtp_host", smtp_host)):
            if host and not _HOST.fullmatch(host):
                problems.append(f"option {name} must be a host name or an IP address")
        username = required("username")
        password = options.get("password") or ""
        if not password:
            problems.append("option password is required")
        imap_tls = _tls(options, "imap_tls", "ssl", problems)
        smtp_tls = _tls(options, "smtp_tls", "starttls", problems)
        imap_port = _port(options, "imap_port", _IMAP_PORTS[imap_tls], problems)
        smtp_port = _port(options, "smtp_port", _SMTP_PORTS[smtp_tls], problems)
        folder = (options.get("folder") or "INBOX").strip() or "INBOX"
        if any(c in folder for c in '\r\n"\\'):
            problems.append("option folder must not contain quotes, backslashes or line breaks")
        if problems:
            raise InvalidInput("; ".join(problems))
        return cls(
            address=address,
            imap_host=imap_host,
            imap_port=imap_port,
            imap_tls=imap_tls,
            smtp_host=smtp_host,
            smtp_port=smtp_port,
            smtp_tls=smtp_tls,
            username=username,
            password=password,
            folder=folder,
        )


def _tls(options: Mapping[str, str], name: str, default: TlsMode, problems: list[str]) -> TlsMode:
    raw = (options.get(name) or default).strip().lower()
    mode = _TLS.get(raw)
    if mode is None:
        problems.append(f"option {name} must be ssl, starttls or none")
        return default
    return mode


def _port(options: Mapping[str, str], name: str, default: int, problems: list[str]) -> int:
    raw = (options.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        problems.append(f"option {name} must be a port number (1-65535)")
        return default
    return int(raw)
