"""Shared helpers for the Viber tests: recorded payloads, signed webhook requests, channels."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from channels.viber.webhook import sign
from inbox.domain.channel_io import WebhookRequest
from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.ids import ChannelId

__all__ = [
    "FIXTURES",
    "SHARED_FIXTURES",
    "TOKEN",
    "callback_files",
    "load",
    "load_path",
    "make_channel",
    "signed_request",
    "strip_annotations",
]

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_FIXTURES = Path("/work/shared/fixtures/viber")
TOKEN = "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9"


def strip_annotations(value: Any) -> Any:
    """Keys starting with ``_`` are annotations (``_source``): gone, at every depth."""
    if isinstance(value, dict):
        return {k: strip_annotations(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [strip_annotations(v) for v in value]
    return value


def load_path(path: Path) -> Any:
    return strip_annotations(json.loads(path.read_text(encoding="utf-8")))


def load(name: str) -> Any:
    return load_path(FIXTURES / name)


def callback_files() -> list[Path]:
    """Every recorded inbound callback: ours and the shared ones (if any exist)."""
    found = sorted(FIXTURES.glob("callback_*.json"))
    if SHARED_FIXTURES.is_dir():
        for path in sorted(SHARED_FIXTURES.glob("*.json")):
            raw = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(raw, dict) and "event" in raw:  # an inbound callback
                found.append(path)
    return found


def make_channel(options: Mapping[str, str] | None = None, name: str = "Shoe Shop") -> Channel:
    return Channel(
        id=ChannelId("ch-viber-1"),
        kind=ChannelKind("viber"),
        name=name,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        options=dict(options if options is not None else {"token": TOKEN}),
    )


def signed_request(
    payload: Any, token: str = TOKEN, *, extra_headers: Mapping[str, str] | None = None
) -> WebhookRequest:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {
        "content-type": "application/json",
        "x-viber-content-signature": sign(token, body),
        **{k.lower(): v for k, v in (extra_headers or {}).items()},
    }
    return WebhookRequest(method="POST", headers=headers, query={}, body=body)
