"""One "server process" for ``test_pick_two_processes.py``: its own store, Redis bus and
:class:`routing.RoutingService`, taking the same waiting conversations by hand as another
such process, at the same moment.

Run as ``python -m tests.redis.pick_worker CONFIG_JSON``. It opens the store and the bus,
prints ``ready``, waits for ``go`` on stdin, then claims every conversation of the config
at once (``RoutingService.pick``, as ``conversation.claim`` does) as one operator, and
writes ``{"outcomes": {conversation id: "ok" or the refusal's error code}, "started",
"ended"}`` (wall-clock seconds around the claims) to ``result_path``.

Not a test module: pytest does not collect it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from inbox.domain.clock import SystemClock
from inbox.domain.errors import DomainError
from inbox.domain.ids import ConversationId
from inbox.domain.operators import Operator
from inbox.ports import Tx
from inbox.usecases import Core
from routing import RoutingService, RoutingSettings
from server.channels import CATALOG
from server.events import event_registry
from storage import open_store
from storage.redis_bus import RedisEventBus


async def main(config: dict[str, str]) -> None:
    store = await open_store(config["database_url"])
    bus = RedisEventBus(
        config["redis_url"],
        registry=event_registry(),
        channel_prefix=config["channel_prefix"],
    )
    core = Core(store=store, bus=bus, clock=SystemClock(), channels=CATALOG)
    router = RoutingService(core, store, settings=RoutingSettings(presence_stale_seconds=None))
    ids = [ConversationId(c) for c in config["conversations"].split(",")]
    results: dict[str, str] = {}
    started = ended = 0.0
    try:
        bus.start()
        async with asyncio.timeout(10):
            await bus.wait_listening()
        login = config["login"]

        async def find(tx: Tx) -> Operator | None:
            return await tx.operators.get_by_login(login)

        actor = await store.read(find)
        assert actor is not None, login
        print("ready", flush=True)
        line = await asyncio.to_thread(sys.stdin.readline)
        if line.strip() != "go":
            raise RuntimeError(f"expected go, got {line!r}")

        async def claim(conversation_id: ConversationId) -> None:
            try:
                await router.pick(actor, conversation_id)
            except DomainError as exc:
                results[conversation_id] = exc.code
            else:
                results[conversation_id] = "ok"

        started = time.time()
        await asyncio.gather(*(claim(c) for c in ids))
        ended = time.time()
    finally:
        await bus.stop()
        await store.close()
    report = {"outcomes": results, "started": started, "ended": ended}
    await asyncio.to_thread(Path(config["result_path"]).write_text, json.dumps(report))
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
