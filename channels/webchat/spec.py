"""What the web chat declares to the root (inbox.domain.channel_spec).

The server serves the widget itself, so the kind has no provider adapter. Adding a web
chat channel generates ``visitor_secret``, the key that signs visitor tokens.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from channels.webchat.options import OPTIONS, SECRETS
from inbox.domain.channel_spec import ChannelSpec
from inbox.domain.channels import ChannelKind

__all__ = ["KIND", "SPEC"]

KIND = ChannelKind("webchat")


def _generate() -> Mapping[str, str]:
    return {"visitor_secret": secrets.token_urlsafe(32)}


#: ``origin`` (the sites allowed to embed the widget), ``title`` and ``greeting`` are
#: given; ``visitor_secret`` is generated (options.py).
SPEC = ChannelSpec(
    kind=KIND,
    options=frozenset(OPTIONS) - {"visitor_secret"},
    secrets=frozenset(SECRETS),
    generate=_generate,
    needs_adapter=False,
)
