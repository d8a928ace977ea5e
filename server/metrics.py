"""``GET /metrics``: Prometheus text format, from ``prometheus-client`` (docs/metrics.md).

Counters are bumped where things happen, in memory: HTTP requests by route template (the
middleware), this process's committed changes (a store commit observer: inbound and
outbound messages by channel kind), webhook attempts by result (the worker's observer).
Gauges are read when scraped: one read transaction per scrape, none per request. No
label carries a message body, a URL's path or a secret.

Access: loopback clients that came directly (no ``Forwarded`` / ``X-Forwarded-For``: a
proxy on the same host does not make the world loopback), and anyone with
``Authorization: Bearer <INBOX_METRICS_TOKEN>``.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder

from inbox.domain.events import MessageCreated, MessageUpdated
from inbox.domain.messages import DeliveryStatus, Direction
from inbox.domain.untrusted import same_secret
from inbox.usecases import Admission, Outcome
from server.errors import error_response
from storage import SqlStore
from storage.repositories.tx import SqlTx

__all__ = ["Metrics", "metrics_middleware"]

_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

#: The outbound statuses counted. A message's status only moves forward (and fails once),
#: so each message counts at most once per status; the web chat goes straight to delivered.
_OUTBOUND = frozenset(
    {DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ, DeliveryStatus.FAILED}
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class _Gauges:
    outbox: int
    webhooks: int
    waiting: dict[str, int]


class Metrics:
    """One registry per application (tests run many in one process)."""

    def __init__(self, token: str = "") -> None:
        self._token = token
        self.registry = r = CollectorRegistry()
        self.http_requests = Counter(
            "inbox_http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_seconds = Histogram(
            "inbox_http_request_duration_seconds",
            "Time to answer HTTP requests, by route template",
            ["route"],
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
        )
        self.inbound = Counter(
            "inbox_inbound_messages",
            "Customers' messages stored by this process, by channel kind",
            ["channel_kind"],
            registry=r,
        )
        self.outbound = Counter(
            "inbox_outbound_messages",
            "Outbound messages reaching a delivery status, by channel kind and status",
            ["channel_kind", "status"],
            registry=r,
        )
        self.webhook_attempts = Counter(
            "inbox_webhook_deliveries",
            "Webhook delivery attempts by result: delivered, retry, failed (gave up), dropped",
            ["result"],
            registry=r,
        )
        self.outbox_pending = Gauge(
            "inbox_outbox_pending", "Outbound messages waiting in the outbox", registry=r
        )
        self.webhooks_pending = Gauge(
            "inbox_webhook_deliveries_pending", "Webhook deliveries not yet made", registry=r
        )
        self.sockets = Gauge(
            "inbox_websocket_sessions",
            "Open WebSocket sessions of this process, by kind (operator, visitor)",
            ["kind"],
            registry=r,
        )
        # Back-pressure (docs/reliability.md): read from the core's admission when scraped.
        self.ingest_pending = Gauge(
            "inbox_ingest_pending",
            "Inbound messages of this process in flight to the durable write",
            registry=r,
        )
        self.ingest_refused = Counter(
            "inbox_ingest_refused",
            "Inbound messages this process refused as overloaded (503 / slow_down)",
            registry=r,
        )
        self._refused_seen = 0
        self.waiting = Gauge(
            "inbox_routing_waiting",
            "Conversations waiting in each routing queue",
            ["queue"],
            registry=r,
        )

    # ------------------------------------------------------------------ observers

    def observe_commit(self, result: object) -> None:
        """The store's commit observer: count this process's committed messages."""
        if not isinstance(result, Outcome):
            return
        for event in result.events:
            if isinstance(event, MessageCreated):
                if event.message.direction is Direction.INBOUND:
                    self.inbound.labels(event.conversation.channel_kind or "unknown").inc()
            elif isinstance(event, MessageUpdated):
                status = event.message.status
                if status in _OUTBOUND and event.message.direction is Direction.OUTBOUND:
                    kind = event.conversation.channel_kind or "unknown"
                    self.outbound.labels(kind, str(status)).inc()

    def observe_webhook_attempt(self, result: str) -> None:
        self.webhook_attempts.labels(result).inc()

    # ------------------------------------------------------------------ scraping

    def allowed(self, request: web.Request) -> web.Response | None:
        """``None`` when ``request`` may read the metrics, else the error to answer."""
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if self._token and scheme.lower() == "bearer":
            if same_secret(token.strip(), self._token):
                return None
            return error_response(401, "unauthorized", "wrong metrics token")
        if _direct_loopback(request):
            return None
        if not self._token:
            return error_response(
                403, "forbidden", "/metrics is open to loopback only (INBOX_METRICS_TOKEN unset)"
            )
        return error_response(401, "unauthorized", "send Authorization: Bearer <metrics token>")

    def handler(
        self,
        store: SqlStore,
        operator_sockets: Callable[[], int],
        visitor_sockets: Callable[[], int],
        admission: Admission | None = None,
    ) -> Handler:
        async def metrics(request: web.Request) -> web.StreamResponse:
            refused = self.allowed(request)
            if refused is not None:
                return refused

            async def read(tx: SqlTx) -> _Gauges:
                return _Gauges(
                    await tx.outbox.pending_count(),
                    await tx.webhooks.pending_count(),
                    await tx.routing.waiting_by_queue(),
                )

            gauges = await store.read(read)
            self.outbox_pending.set(gauges.outbox)
            self.webhooks_pending.set(gauges.webhooks)
            self.waiting.clear()
            for queue, count in gauges.waiting.items():
                self.waiting.labels(queue).set(count)
            self.sockets.labels("operator").set(operator_sockets())
            self.sockets.labels("visitor").set(visitor_sockets())
            if admission is not None:
                self.ingest_pending.set(admission.pending)
                self.ingest_refused.inc(admission.refused - self._refused_seen)
                self._refused_seen = admission.refused
            # The text format Prometheus asks for in Accept (OpenMetrics or 0.0.4).
            encode, content_type = choose_encoder(request.headers.get("Accept", ""))
            response = web.Response(body=encode(self.registry))
            response.headers["Content-Type"] = content_type
            return response

        return metrics


def _direct_loopback(request: web.Request) -> bool:
    if "Forwarded" in request.headers or "X-Forwarded-For" in request.headers:
        return False
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False  # a Unix socket or an unknown peer: not loopback by address


def metrics_middleware(metrics: Metrics) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Counts every request by its route template (``/api/v1/conversations/{id}``, never
    the raw path: ids would make a series each) and status."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            resource = request.match_info.route.resource
            route = resource.canonical if resource is not None else "unmatched"
            method = request.method if request.method in _METHODS else "other"
            metrics.http_requests.labels(method, route, str(status)).inc()
            metrics.http_seconds.labels(route).observe(time.perf_counter() - started)

    return middleware
