"""Settings: ``INBOX_*`` environment variables, optionally an ``inbox.toml`` with the same keys
(lower case, without the prefix). The environment wins. Read once, by the composition root."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from operator_ws.rest.client_address import parse_networks

__all__ = ["ConfigError", "Settings", "load_settings"]


class ConfigError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = "sqlite+aiosqlite:///./inbox.db"
    redis_url: str = ""
    public_url: str = ""
    data_dir: str = "./data"
    host: str = "127.0.0.1"
    port: int = 8080
    token_ttl_hours: float = 12.0
    ws_replay_frames: int = 500
    ws_replay_seconds: float = 300.0
    ws_heartbeat_seconds: float = 25.0
    presence_grace_seconds: float = 60.0
    #: What one open conversation costs an operator's capacity, per channel kind:
    #: ``"email=0.5,webchat=1"``; kinds not listed keep the defaults (docs/routing.md).
    channel_weights: str = ""
    #: An online operator with no console heartbeat for this long turns away (0: never).
    presence_stale_seconds: float = 150.0
    #: The router's sweep: a pass at least this often, besides events and deadlines.
    routing_sweep_seconds: float = 5.0
    #: The router keeps its state between passes and reads what events name; it reads
    #: everything again at least this often (0: every pass reads everything;
    #: docs/routing.md, "Kept state").
    routing_full_read_seconds: float = 30.0
    #: At most this many new customers filed, and this many assignments or offers per
    #: queue, in one routing pass; the next pass goes on at once (0: no bound).
    routing_pass_budget: int = 50
    #: The live dashboard's numbers are computed at most this often (docs/routing.md).
    dashboard_interval_seconds: float = 2.0
    #: An operator who signs in to the console goes online (the login answer says so and the
    #: console sets the presence); false keeps the presence they had (docs/console-ui.md).
    online_on_login: bool = True
    #: Reverse proxies / load balancers (addresses or networks, comma-separated) whose
    #: ``X-Forwarded-For`` names the client that login throttling counts (docs/api.md).
    trusted_proxies: str = ""
    log_level: str = "INFO"
    #: ``quiet`` (routine provider callbacks left out), ``all`` or ``off``; never a query
    #: string (server/access_log.py).
    access_log: str = "quiet"
    #: Outgoing webhooks (docs/webhooks.md): the retry schedule (attempt n waits up to
    #: min(cap, base * 2^(n-1)) seconds, jittered), the attempts before a delivery fails,
    #: the POST timeout, and when a failing webhook is disabled: this many failed attempts
    #: in a row, the first of them at least this many hours ago.
    webhook_retry_base_seconds: float = 10.0
    webhook_retry_cap_seconds: float = 3600.0
    webhook_max_attempts: int = 12
    webhook_timeout_seconds: float = 10.0
    webhook_disable_failures: int = 20
    webhook_disable_hours: float = 24.0
    webhook_poll_seconds: float = 1.0
    #: ``GET /metrics`` from anywhere but loopback needs ``Authorization: Bearer`` this
    #: token; empty: loopback only (docs/metrics.md).
    metrics_token: str = ""
    #: Back-pressure (docs/reliability.md): at most this many inbound messages in flight to
    #: the durable write per process (waiting + being written; 256 = four full group-commit
    #: batches of 64); past it a new one is refused at once (webhooks 503 + Retry-After, the
    #: web chat ``slow_down``). 0: no bound. The refusal asks to retry after this long.
    ingest_max_pending: int = 256
    ingest_retry_after_seconds: float = 1.0
    #: ... and none is admitted while the oldest in flight has waited longer than this
    #: (milliseconds; 0: no wait bound), so the answer time stays near it at any rate.
    ingest_max_wait_ms: int = 500
    #: Channel rows read by webhooks, web chat sockets, the inbound API and deliveries are
    #: kept in memory this long (seconds; 0: read every time). A change made in this
    #: process is seen at once; one made by another process (the CLI, a second server)
    #: within this long (inbox/usecases/channel_cache.py).
    channel_cache_seconds: float = 2.0


def load_settings(
    environ: Mapping[str, str] | None = None, toml_path: str | None = None
) -> Settings:
    """Build settings from ``inbox.toml`` (``INBOX_CONFIG`` or ./inbox.toml, if present) and
    the environment. Raises :class:`ConfigError` naming the bad key."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    path = Path(toml_path or env.get("INBOX_CONFIG", "inbox.toml"))
    if path.is_file():
        try:
            values.update(tomllib.loads(path.read_text("utf-8")))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
    for f in fields(Settings):
        key = "INBOX_" + f.name.upper()
        if key in env:
            values[f.name] = env[key]
    known = {f.name: f for f in fields(Settings)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"unknown setting(s) in {path}: {', '.join(unknown)}")
    converted: dict[str, Any] = {}
    for name, raw in values.items():
        kind = type(getattr(Settings(), name))
        try:
            converted[name] = _flag(raw) if kind is bool else kind(raw)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"INBOX_{name.upper()} must be a {kind.__name__}") from exc
    if converted.get("access_log", "quiet") not in ("quiet", "all", "off"):
        raise ConfigError("INBOX_ACCESS_LOG must be quiet, all or off")
    try:
        parse_networks(str(converted.get("trusted_proxies", "")))
    except ValueError as exc:
        raise ConfigError(f"INBOX_TRUSTED_PROXIES: {exc}") from exc
    if converted.get("ingest_max_pending", 0) < 0:
        raise ConfigError("INBOX_INGEST_MAX_PENDING must be 0 (no bound) or more")
    if converted.get("ingest_max_wait_ms", 0) < 0:
        raise ConfigError("INBOX_INGEST_MAX_WAIT_MS must be 0 (no bound) or more")
    if converted.get("channel_cache_seconds", 0.0) < 0:
        raise ConfigError("INBOX_CHANNEL_CACHE_SECONDS must be 0 (no cache) or more")
    if converted.get("ingest_retry_after_seconds", 1.0) <= 0:
        raise ConfigError("INBOX_INGEST_RETRY_AFTER_SECONDS must be more than 0")
    return Settings(**converted)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _flag(raw: object) -> bool:
    """A boolean setting: TOML's own booleans, or 1/0, true/false, yes/no, on/off."""
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(text)
