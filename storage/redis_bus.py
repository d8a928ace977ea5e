"""The event bus across server processes: Redis pub/sub (docs/scaling.md).

Implements :class:`inbox.ports.EventBus`. ``publish`` first calls this process's
subscribers directly, in the publisher's task (as :class:`inbox.bus.InProcessEventBus`
does), then publishes each event on one Redis channel. A listener task owned by the bus
receives the other processes' events and calls the same subscribers. Every message carries
the id of the process that sent it, and the listener skips its own, so each subscriber sees
each event exactly once.

Pub/sub is at-most-once: an event published while a listener is disconnected is lost to
it. That is acceptable because events are hints: the database is the source of truth,
operator consoles resume over REST after ``resync_required``, and the delivery worker and
the router also poll. See docs/scaling.md for why not Redis Streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import secrets
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import parse_url
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from inbox.bus import InProcessEventBus
from inbox.domain.event_registry import EventDecodeError, EventRegistry
from inbox.domain.events import Event
from inbox.ports import EventHandler

__all__ = ["RedisEventBus", "default_channel_prefix"]

logger = logging.getLogger(__name__)


def default_channel_prefix(url: str) -> str:
    """``inbox:db<N>:`` for the database number of ``url``.

    Redis pub/sub channels are global to the server, not per database number; naming the
    channel after the number keeps two installations that share one Redis on different
    database numbers apart, as their keys are.
    """
    db = parse_url(url).get("db", 0)
    return f"inbox:db{db}:"


class RedisEventBus:
    """Local delivery plus Redis pub/sub fan-out to the other processes.

    * ``publish(events)`` -- after commit. Calls the local handlers (each failure logged,
      the others still run), then sends the events to Redis in one round trip. A Redis
      failure is logged and swallowed: the events are already committed, and the other
      processes catch up from the database. Never raises because of a subscriber or Redis.
    * ``start()`` -- starts the listener task (idempotent). ``stop()`` cancels it, waits
      for it and closes the connections; afterwards ``publish`` only delivers locally.
    * ``listening`` / ``wait_listening()`` -- whether (wait until) the listener is
      subscribed; events other processes publish before that never reach this one.

    Nothing is logged of an event but its type: payloads hold message text.
    """

    def __init__(
        self,
        url: str,
        *,
        registry: EventRegistry,
        channel_prefix: str | None = None,
        process_id: str | None = None,
        publish_timeout: float = 2.0,
        backoff_initial: float = 0.2,
        backoff_max: float = 10.0,
        idle_check: float = 15.0,
    ) -> None:
        self._url = url
        self._registry = registry
        prefix = default_channel_prefix(url) if channel_prefix is None else channel_prefix
        self._channel = f"{prefix}events"
        self._process_id = process_id or secrets.token_hex(8)
        self._local = InProcessEventBus()
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._idle_check = idle_check
        # No I/O here: redis-py connects on the first command. No retries on the publish
        # path: a command never waits longer than ``publish_timeout`` for Redis.
        self._publisher: Redis = Redis.from_url(
            url,
            socket_timeout=publish_timeout,
            socket_connect_timeout=publish_timeout,
            retry=Retry(NoBackoff(), 0),
            client_name=f"inbox-pub-{self._process_id}",
        )
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._stopped = False
        self._publish_failures = 0
        #: Set once the current connection subscribed (resets the back-off).
        self._subscribed_once = False

    @property
    def channel(self) -> str:
        """The Redis channel that carries the events."""
        return self._channel

    @property
    def process_id(self) -> str:
        """The tag on this bus's messages (random per instance, i.e. per process)."""
        return self._process_id

    @property
    def listener_client_name(self) -> str:
        """The ``CLIENT SETNAME`` of the listener's connection (for operators and tests)."""
        return f"inbox-sub-{self._process_id}"

    def subscribe(self, handler: EventHandler) -> None:
        self._local.subscribe(handler)

    async def publish(self, events: Sequence[Event]) -> None:
        await self._local.publish(events)
        if self._stopped or not events:
            return
        messages: list[str] = []
        for event in events:
            try:
                body = self._registry.to_dict(event)
            except Exception:
                logger.exception("cannot encode %s for Redis; not sent", type(event).__name__)
                continue
            messages.append(
                json.dumps({"origin": self._process_id, "event": body}, separators=(",", ":"))
            )
        if messages:
            await self._send(messages)

    async def _send(self, messages: list[str]) -> None:
        try:
            async with self._publisher.pipeline(transaction=False) as pipe:
                for message in messages:
                    pipe.publish(self._channel, message)
                await pipe.execute()
        except asyncio.CancelledError:
            raise
        except Exception:
            # One traceback per outage, then a count, so an outage does not flood the log.
            if self._publish_failures == 0:
                logger.exception(
                    "publishing events to Redis channel %s failed; other processes will "
                    "not see them (they resync from the database)",
                    self._channel,
                )
            self._publish_failures += len(messages)
            return
        if self._publish_failures:
            logger.warning(
                "publishing to Redis channel %s works again; %d events were not sent",
                self._channel,
                self._publish_failures,
            )
            self._publish_failures = 0

    # ----------------------------------------------------------------------- listener

    def start(self) -> None:
        if self._task is None and not self._stopped:
            self._task = asyncio.create_task(self._listen_forever(), name="redis-event-bus")

    async def stop(self) -> None:
        self._stopped = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._publisher.aclose()

    @property
    def listening(self) -> bool:
        """True while the listener is subscribed."""
        return self._listening.is_set()

    async def ping(self) -> None:
        """One PING on the publishing connection (``publish_timeout`` bounds it); raises
        when Redis cannot be reached (``/readyz``)."""
        await self._publisher.ping()

    async def wait_listening(self) -> None:
        """Return once the listener is subscribed; bound it with ``asyncio.timeout``."""
        await self._listening.wait()

    async def _listen_forever(self) -> None:
        delay = self._backoff_initial
        while True:
            try:
                await self._listen_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception(
                    "Redis event listener on %s lost its connection; reconnecting in ~%.1fs",
                    self._channel,
                    delay,
                )
            if self._subscribed_once:
                delay = self._backoff_initial
            # Jitter: after a Redis restart, every process must not reconnect at once.
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, self._backoff_max)

    async def _listen_once(self) -> None:
        """Subscribe and deliver until the connection fails (then raise)."""
        self._subscribed_once = False
        client: Redis = Redis.from_url(
            self._url,
            socket_connect_timeout=5.0,
            socket_keepalive=True,
            # A PING when idle this long, so a silently dead connection is noticed.
            health_check_interval=self._idle_check,
            retry=Retry(NoBackoff(), 0),  # reconnecting is this loop's job, with back-off
            client_name=self.listener_client_name,
        )
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self._channel)
            self._subscribed_once = True
            self._listening.set()
            logger.info("listening for events on Redis channel %s", self._channel)
            while True:
                message = await pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=self._idle_check
                )
                if message is not None and message.get("type") == "message":
                    await self._deliver_remote(message["data"])
        finally:
            self._listening.clear()
            with contextlib.suppress(Exception):
                # redis-py before 8.2 leaves PubSub.aclose unannotated (8.2 annotates it).
                await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]
            with contextlib.suppress(Exception):
                await client.aclose()

    async def _deliver_remote(self, data: Any) -> None:
        try:
            envelope = json.loads(data)
            origin = envelope["origin"]
            if origin == self._process_id:
                return  # ours: the local handlers had it in publish()
            event = self._registry.from_dict(envelope["event"])
        except EventDecodeError as exc:
            # A newer process during a rolling deploy, or garbage on our channel.
            logger.warning("skipping an event from Redis channel %s: %s", self._channel, exc)
            return
        except (ValueError, TypeError, KeyError):
            logger.warning("skipping a message on Redis channel %s: not an event", self._channel)
            return
        await self._local.publish([event])
