"""Outgoing webhooks (docs/webhooks.md): signed POSTs of domain events to the URLs an admin
registers, from a durable queue written in the same transaction as the change.

A feature package: it builds on the core (``inbox``) only. Storage implements
:class:`~webhooks.ports.WebhooksRepo`; the composition root (``server``) adds the features'
translators (orders, CSAT), installs the recorder on the store and runs the worker.
"""

from __future__ import annotations

from webhooks.admin import WebhookAdmin, parse_events
from webhooks.http import AiohttpPoster
from webhooks.payloads import Payload, Translator, core_payloads
from webhooks.recorder import WebhookRecorder
from webhooks.records import EVENT_NAMES, Webhook, WebhookId
from webhooks.signing import SIGNATURE_HEADER, sign, signature_header, verify
from webhooks.worker import DisablePolicy, RetryPolicy, WebhookWorker

__all__ = [
    "EVENT_NAMES",
    "SIGNATURE_HEADER",
    "AiohttpPoster",
    "DisablePolicy",
    "Payload",
    "RetryPolicy",
    "Translator",
    "Webhook",
    "WebhookAdmin",
    "WebhookId",
    "WebhookRecorder",
    "WebhookWorker",
    "core_payloads",
    "parse_events",
    "sign",
    "signature_header",
    "verify",
]
