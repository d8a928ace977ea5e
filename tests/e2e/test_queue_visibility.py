"""Members-only queues (``visible_to: members``, docs/routing.md) end to end, over the real
REST and WebSocket surface: a plain operator who is not a member does not see the queue's
waiting conversations in the list, by id, in the messages, in search or in events; a
member and supervisors do; the operator's own conversations stay visible; a change of the
setting reaches open consoles without a reconnect. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from inbox.domain.operators import Role
from tests.e2e.conftest import Live, OperatorClient

LONG = 5.0


async def _eventually(check: Callable[[], Awaitable[bool]], timeout: float = LONG) -> None:
    for _ in range(int(timeout / 0.02)):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not within {timeout} s")


async def _drain(client: OperatorClient, within: float = 0.3) -> list[dict[str, Any]]:
    frames, client.pending = list(client.pending), []
    try:
        while True:
            frames.append(await client.recv(within))
    except TimeoutError:
        return frames


def _about(frames: list[dict[str, Any]], conversation_id: str) -> list[dict[str, Any]]:
    """The frames that name the conversation."""
    return [
        f
        for f in frames
        if f.get("conversation_id") == conversation_id
        or (f.get("conversation") or {}).get("id") == conversation_id
    ]


async def _ids(live: Live, token: str, query: str = "") -> set[str]:
    status, body = await live.api("GET", "/api/v1/conversations" + query, token)
    assert status == 200, body
    return {c["id"] for c in body["conversations"]}


async def test_a_members_only_queue_hides_its_waiting_conversations(live: Live) -> None:
    await live.add_operator("anna")
    await live.add_operator("boris")
    await live.add_operator("sam", role=Role.SUPERVISOR)
    sam, anna, boris = [await live.token(n) for n in ("sam", "anna", "boris")]
    status, body = await live.api(
        "POST",
        "/api/v1/queues",
        sam,
        json={
            "name": "Sales",
            "settings": {"channels": [live.channel_id], "members": ["boris"], "visible_to": "x"},
        },
    )
    assert status == 400, body
    assert body["error"]["message"] == "visible_to must be everyone or members"
    status, body = await live.api(
        "POST",
        "/api/v1/queues",
        sam,
        json={
            "name": "Sales",
            "settings": {
                "channels": [live.channel_id],
                "members": ["boris"],
                "visible_to": "members",
            },
        },
    )
    assert status == 201, body
    sales = body["queue"]["id"]
    # Connected but not online: routing assigns nobody, the conversation waits.
    anna_ws, _ = await live.operator(anna)
    boris_ws, _ = await live.operator(boris)

    customer = await live.customer()
    await customer.hello()
    await customer.say("I want to order lenses", "c-1")

    async def filed() -> bool:
        _status, body = await live.api("GET", "/api/v1/conversations", sam)
        return any(c["queue_id"] == sales for c in body["conversations"])

    await _eventually(filed)
    (conv,) = (await live.api("GET", "/api/v1/conversations", sam))[1]["conversations"]
    cid = conv["id"]
    assert conv["status"] == "queued"

    # The member saw it come in and be filed; Anna heard nothing about it.
    await boris_ws.expect("message.created", conversation_id=cid)
    await boris_ws.expect("conversation.updated", reason="queue")
    assert _about(await _drain(anna_ws), cid) == []

    # Not in her list, not in search, not by id, not its messages; the member and the
    # supervisor see it everywhere.
    assert cid not in await _ids(live, anna)
    assert cid not in await _ids(live, anna, "?status=queued")
    assert cid not in await _ids(live, anna, "?q=lenses")
    assert cid in await _ids(live, boris, "?q=lenses")
    assert cid in await _ids(live, boris)
    assert cid in await _ids(live, sam, "?q=lenses")
    for path in (f"/api/v1/conversations/{cid}", f"/api/v1/conversations/{cid}/messages"):
        status, body = await live.api("GET", path, anna)
        assert status == 403, body
        assert body["error"]["message"] == "you may not see this conversation"
        status, _ = await live.api("GET", path, boris)
        assert status == 200
    status, body = await live.api("GET", f"/api/v1/conversations/{cid}/contact", anna)
    assert status == 403, body

    # What she may know of the queue: how it works and what she may do, not who is in it.
    status, body = await live.api("GET", "/api/v1/queues", anna)
    assert status == 200
    (view,) = [q for q in body["queues"] if q["id"] == sales]
    assert view["settings"]["visible_to"] == "members"
    assert "members" not in view["settings"]
    assert view["you"] == {"member": False, "may_pick": False}
    (boris_view,) = [
        q for q in (await live.api("GET", "/api/v1/queues", boris))[1]["queues"] if q["id"] == sales
    ]
    assert boris_view["you"] == {"member": True, "may_pick": True}
    refused = await anna_ws.command("conversation.claim", conversation_id=cid)
    assert refused["type"] == "error", refused

    # Open to everyone: her open console sees the next message without reconnecting.
    status, body = await live.api(
        "PATCH", "/api/v1/queues/Sales", sam, json={"settings": {"visible_to": "everyone"}}
    )
    assert status == 200, body
    await customer.say("are you there?", "c-2")
    created = await anna_ws.expect("message.created", conversation_id=cid)
    assert created["message"]["text"] == "are you there?"
    assert cid in await _ids(live, anna)
    status, _ = await live.api("GET", f"/api/v1/conversations/{cid}", anna)
    assert status == 200

    # Members only again, and handed to her: her own conversation stays hers to see.
    status, _ = await live.api(
        "PATCH", "/api/v1/queues/Sales", sam, json={"settings": {"visible_to": "members"}}
    )
    assert status == 200
    await customer.say("hello?", "c-3")
    await boris_ws.expect("message.created", conversation_id=cid)
    assert [f for f in _about(await _drain(anna_ws), cid) if f["type"] == "message.created"] == []
    assert cid not in await _ids(live, anna)
    sam_ws, _ = await live.operator(sam)
    moved = await sam_ws.command(
        "conversation.transfer", conversation_id=cid, operator_id=live.operators["anna"].id
    )
    assert moved["type"] == "ack", moved
    await anna_ws.expect("conversation.assigned")
    assert cid in await _ids(live, anna)
    status, _ = await live.api("GET", f"/api/v1/conversations/{cid}/messages", anna)
    assert status == 200
    # Boris, who watched it in his queue, learns that it left.
    left = await boris_ws.expect("conversation.updated", reason="assigned")
    assert left["conversation"]["assignee_id"] == live.operators["anna"].id


async def test_a_transfer_into_a_members_only_queue_hides_it_from_a_watcher(live: Live) -> None:
    await live.add_operator("anna")
    await live.add_operator("boris")
    await live.add_operator("sam", role=Role.SUPERVISOR)
    sam, anna = await live.token("sam"), await live.token("anna")
    status, body = await live.api(
        "POST",
        "/api/v1/queues",
        sam,
        json={"name": "Vip", "settings": {"members": ["boris"], "visible_to": "members"}},
    )
    assert status == 201, body
    anna_ws, _ = await live.operator(anna)
    customer = await live.customer()
    await customer.hello()
    await customer.say("hi", "c-1")
    # With a queue hidden from her, she is shown a waiting conversation once routing has
    # filed it in a queue she sees (here the default one), not before.
    filed = await anna_ws.expect("conversation.updated", reason="queue")
    cid = filed["conversation"]["id"]
    assert filed["conversation"]["queue_id"] not in (None, body["queue"]["id"])
    assert cid in await _ids(live, anna)
    sam_ws, _ = await live.operator(sam)
    moved = await sam_ws.command("conversation.transfer", conversation_id=cid, queue="Vip")
    assert moved["type"] == "ack", moved
    assert moved["conversation"]["queue_id"] == body["queue"]["id"]
    # She is told it moved (so her console drops it), then hears nothing more of it.
    gone = await anna_ws.expect("conversation.updated", reason="queue")
    assert gone["conversation"]["queue_id"] == body["queue"]["id"]
    await _drain(anna_ws)
    await customer.say("still here", "c-2")
    await asyncio.sleep(0.3)
    assert _about(await _drain(anna_ws), cid) == []
    assert cid not in await _ids(live, anna)
