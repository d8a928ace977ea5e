"""What crosses the boundary between the core and a channel adapter, framework-free.

A webhook arrives as a :class:`WebhookRequest`; the adapter authenticates and converts it
into a :class:`WebhookBatch` (customer messages, delivery statuses of our own messages, and
the reply the provider expects once everything is stored). The core stores the batch and
only then answers with ``batch.reply``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from inbox.domain.messages import DeliveryStatus, InboundMessage

__all__ = [
    "MAX_WEBHOOK_BYTES",
    "MediaBlob",
    "PollResult",
    "StatusUpdate",
    "WebhookBatch",
    "WebhookRejected",
    "WebhookReply",
    "WebhookRequest",
]

#: Webhook bodies above this are refused (413) before they are read whole. Telegram,
#: VK, WhatsApp and Viber send JSON far below 1 MiB; media arrives by reference.
MAX_WEBHOOK_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """``headers`` has lower-case keys; ``body`` is the raw bytes (signatures are computed
    over them, never over re-serialised JSON)."""

    method: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class WebhookReply:
    status: int = 200
    body: bytes = b'{"ok":true}'
    content_type: str = "application/json"


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """The provider reports on one of **our** messages, by the provider's id of it."""

    external_id: str
    status: DeliveryStatus
    error: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookBatch:
    messages: tuple[InboundMessage, ...] = ()
    statuses: tuple[StatusUpdate, ...] = ()
    reply: WebhookReply = field(default_factory=WebhookReply)


@dataclass(frozen=True, slots=True)
class PollResult:
    """What one long-poll returned; ``cursor`` is where the next poll starts (Telegram's
    next ``offset``), stored only after the batch is stored."""

    batch: WebhookBatch
    cursor: str | None


@dataclass(frozen=True, slots=True)
class MediaBlob:
    data: bytes
    mime_type: str
    filename: str | None = None


class WebhookRejected(Exception):
    """The request is not from the provider (401/403) or not in its shape (400). Nothing
    is stored; ``message`` is safe to return (it never echoes the body)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
