"""What the e-mail channel declares to the root (inbox.domain.channel_spec)."""

from __future__ import annotations

from channels.email.options import OPTIONS, SECRETS
from inbox.domain.channel_spec import ChannelSpec
from inbox.domain.channels import ChannelKind

__all__ = ["KIND", "MAX_REFERENCES", "SPEC"]

KIND = ChannelKind("email")

#: How many earlier mails of a conversation go into References (RFC 5322 allows trimming;
#: clients keep the first and the last ones).
MAX_REFERENCES = 30

SPEC = ChannelSpec(
    kind=KIND,
    options=frozenset(OPTIONS),
    secrets=frozenset(SECRETS),
    threading=MAX_REFERENCES,
)
