"""The WhatsApp converter: pure functions between the Cloud API's JSON and the core's types.

Inbound (webhook JSON → messages and statuses) lives in :mod:`channels.whatsapp.inbound`,
outbound (parts → request JSON) in :mod:`channels.whatsapp.outbound`; their docstrings hold
the rules (ids, thread keys, what is dropped, which button form is chosen). This module is
the one place the rest of the package imports them from.
"""

from channels.whatsapp.inbound import ParsedWebhook, parse_webhook
from channels.whatsapp.outbound import (
    PlannedSend,
    plan_messages,
    recipient_fields,
    render_buttons,
    render_template,
    split_text,
)
from channels.whatsapp.wire import WebhookShapeError

__all__ = [
    "ParsedWebhook",
    "PlannedSend",
    "WebhookShapeError",
    "parse_webhook",
    "plan_messages",
    "recipient_fields",
    "render_buttons",
    "render_template",
    "split_text",
]
