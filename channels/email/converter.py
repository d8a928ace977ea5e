"""The e-mail converter: pure functions between MIME mail and the core's types.

Inbound (raw RFC 5322 bytes → :class:`ParsedMail` → messages and bounce statuses) lives in
:mod:`channels.email.inbound`, built on :mod:`channels.email.mime` (reading headers,
bodies and attachments) and :mod:`channels.email.classify` (loop protection, bounces);
outbound (an :class:`OutboundMessage` → a MIME mail) in :mod:`channels.email.outbound`.
Their docstrings hold the rules (ids, threading fields, what is dropped). This module is
the one place the rest of the package imports them from.
"""

from channels.email.inbound import (
    DEFAULT_MAX_ATTACHMENT_BYTES,
    Attachment,
    MailKind,
    ParsedMail,
    bounce_status,
    headers_only,
    parse_mail,
    to_inbound,
)
from channels.email.outbound import OutboundFile, build_mail, media_parts

__all__ = [
    "DEFAULT_MAX_ATTACHMENT_BYTES",
    "Attachment",
    "MailKind",
    "OutboundFile",
    "ParsedMail",
    "bounce_status",
    "build_mail",
    "headers_only",
    "media_parts",
    "parse_mail",
    "to_inbound",
]
