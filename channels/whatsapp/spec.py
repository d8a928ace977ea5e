"""What the WhatsApp channel declares to the root (inbox.domain.channel_spec).

WhatsApp accepts free-form messages only within 24 hours of the customer's last message
(the "customer service window"); after that only approved templates (Meta's Cloud API
docs; error 131047 when we try anyway). The core stores the window's end on the
conversation and refuses free text after it, and refuses templates the channel's
``templates`` option does not list.
"""

from __future__ import annotations

from datetime import timedelta

from channels.whatsapp.options import OPTIONS, SECRETS, configured_templates
from inbox.domain.channel_spec import ChannelSpec, ReplyWindow
from inbox.domain.channels import ChannelKind

__all__ = ["CUSTOMER_SERVICE_WINDOW", "KIND", "SPEC"]

KIND = ChannelKind("whatsapp")

CUSTOMER_SERVICE_WINDOW = ReplyWindow(
    length=timedelta(hours=24),
    closed_message=(
        "More than 24 hours have passed since the customer last wrote: WhatsApp only "
        "delivers an approved template now."
    ),
)

SPEC = ChannelSpec(
    kind=KIND,
    options=frozenset(OPTIONS),
    secrets=frozenset(SECRETS),
    reply_window=CUSTOMER_SERVICE_WINDOW,
    templates=configured_templates,
)
