"""Helpers for the Telegram tests: recorded payloads, a media store in memory, channels
and webhook requests."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from channels.telegram.webhook import SECRET_HEADER
from inbox.domain.channel_io import WebhookRequest
from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.ids import ChannelId
from tests.fakes.telegram_api import FAKE_TOKEN
from tests.support import MemoryMedia

__all__ = [
    "OWN_FIXTURES",
    "SHARED_FIXTURES",
    "WEBHOOK_SECRET",
    "MemoryMedia",
    "load",
    "make_channel",
    "strip_annotations",
    "webhook_request",
]

SHARED_FIXTURES = Path("/work/shared/fixtures/telegram")
OWN_FIXTURES = Path(__file__).parent / "fixtures"
WEBHOOK_SECRET = "s3cr3t_Token-42"  # the secret of telegram_webhook_delivery_headers.json


def strip_annotations(value: Any) -> Any:
    """Drop the ``_``-prefixed annotation keys of a recorded payload, at every depth."""
    if isinstance(value, dict):
        return {k: strip_annotations(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [strip_annotations(v) for v in value]
    return value


def load(name: str) -> Any:
    """A recorded payload by file name: ours first, then the shared ones."""
    path = OWN_FIXTURES / name
    if not path.exists():
        path = SHARED_FIXTURES / name
    return strip_annotations(json.loads(path.read_text(encoding="utf-8")))


def make_channel(api_base: str = "https://api.telegram.org", **options: str) -> Channel:
    values = {"token": FAKE_TOKEN, "api_base": api_base, "webhook_secret": WEBHOOK_SECRET}
    values.update(options)
    return Channel(
        id=ChannelId("tg-channel-1"),
        kind=ChannelKind("telegram"),
        name="Shop bot",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        options={k: v for k, v in values.items() if v != ""},
    )


def webhook_request(
    body: Any,
    *,
    secret: str | None = WEBHOOK_SECRET,
    method: str = "POST",
    headers: Mapping[str, str] | None = None,
) -> WebhookRequest:
    """A webhook as the core hands it over: lower-case headers, raw bytes."""
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    sent = {"content-type": "application/json"}
    if secret is not None:
        sent[SECRET_HEADER] = secret
    sent.update({k.lower(): v for k, v in (headers or {}).items()})
    return WebhookRequest(method=method, headers=sent, query={}, body=raw)
