"""Helpers shared by the WhatsApp tests: recorded payloads, signatures, channels."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from channels.whatsapp.webhook import sign
from inbox.domain.channel_io import WebhookRequest
from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.content import MediaRef
from inbox.domain.errors import NotFound
from inbox.domain.ids import ChannelId

#: Payloads recorded from Meta's docs and pywa (the project's shared fixtures).
SHARED = Path("/work/shared/fixtures/whatsapp")
#: Our own recorded-style payloads for what the shared set does not cover.
OWN = Path(__file__).parent / "fixtures"

APP_SECRET = "test_app_secret_0123456789abcdef"
VERIFY_TOKEN = "vibecoding"
TOKEN = "test-token"
PHONE_NUMBER_ID = "1122334455667"
CUSTOMER = "972987654321"


def strip_annotations(value: Any) -> Any:
    """Drop every key starting with ``_`` (the fixtures' notes), at any depth."""
    if isinstance(value, dict):
        return {k: strip_annotations(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [strip_annotations(v) for v in value]
    return value


def load(path: Path) -> Any:
    return strip_annotations(json.loads(path.read_text(encoding="utf-8")))


def shared(name: str) -> Any:
    return load(SHARED / name)


def own(name: str) -> Any:
    return load(OWN / name)


def shared_inbound_fixtures() -> list[Path]:
    """Every shared fixture that is a webhook POST body."""
    return sorted(
        p
        for p in SHARED.glob("whatsapp_webhook_*.json")
        if p.name != "whatsapp_webhook_verify_get.json"
    )


def encode(payload: Any) -> bytes:
    """Bytes as Meta sends them: JSON with ``\\uXXXX`` escapes (channel-contracts.md §3.1)."""
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def signed_post(body: bytes, secret: str = APP_SECRET, **headers: str) -> WebhookRequest:
    all_headers = {"content-type": "application/json", "x-hub-signature-256": sign(body, secret)}
    all_headers.update(headers)
    return WebhookRequest(method="POST", headers=all_headers, query={}, body=body)


def make_channel(api_base: str = "", **overrides: str) -> Channel:
    options = {
        "token": TOKEN,
        "phone_number_id": PHONE_NUMBER_ID,
        "app_secret": APP_SECRET,
        "verify_token": VERIFY_TOKEN,
    }
    if api_base:
        options["api_base"] = api_base
    options.update(overrides)
    return Channel(
        id=ChannelId("ch-whatsapp"),
        kind=ChannelKind("whatsapp"),
        name="WhatsApp",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        options=options,
    )


class MemoryMedia:
    """An in-memory :class:`inbox.ports.MediaStore`."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    async def put(self, data: bytes, *, mime_type: str, filename: str | None = None) -> MediaRef:
        key = f"{len(self.files) + 1:032x}"
        self.files[key] = data
        return MediaRef(mime_type=mime_type, key=key, filename=filename, size=len(data))

    async def get(self, key: str) -> bytes:
        try:
            return self.files[key]
        except KeyError:
            raise NotFound("no such file") from None
