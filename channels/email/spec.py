"""What the e-mail channel declares to the root (inbox.domain.channel_spec)."""

from __future__ import annotations

from inbox.domain.channel_spec import ChannelSpec
from inbox.domain.channels import ChannelKind

__all__ = ["KIND", "MAX_REFERENCES", "SPEC"]

KIND = ChannelKind("email")

#: How many earlier mails of a conversation go into References (RFC 5322 allows trimming;
#: clients keep the first and the last ones).
MAX_REFERENCES = 30

SPEC = ChannelSpec(
    kind=KIND,
    options=frozenset(
        {
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
        }
    ),
    secrets=frozenset({"password"}),
    threading=MAX_REFERENCES,
)
