"""One conversation end to end: customer → web chat → core → routing → operator → reply →
customer; and the reconnect guarantees (ISSUE: foundation, "Done when")."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Live


async def test_customer_writes_operator_answers_customer_receives(live: Live) -> None:
    await live.add_operator("anna")
    anna = await live.online_operator("anna")

    customer = await live.customer()
    welcome = await customer.hello()
    assert welcome["messages"] == []
    assert welcome["conversation_id"] is None
    ack = await customer.say("Do you have lenses for astigmatism?", "c-1")
    assert ack["message"]["from"] == "customer"
    assert ack["message"]["client_id"] == "c-1"

    assigned = await anna.expect("conversation.assigned")
    conversation = assigned["conversation"]
    assert conversation["assignee_id"] == live.operators["anna"].id
    assert conversation["contact_name"].startswith("Visitor ")
    assert conversation["channel_kind"] == "webchat"
    created = await anna.expect("message.created")
    assert created["message"]["text"] == "Do you have lenses for astigmatism?"
    assert created["message"]["direction"] == "inbound"

    reply = await anna.command(
        "message.send", conversation_id=conversation["id"], text="Yes, we do.", client_id="o-1"
    )
    assert reply["type"] == "ack", reply
    assert reply["message"]["status"] == "pending"

    pushed = await customer.expect("message")
    assert pushed["message"]["text"] == "Yes, we do."
    assert pushed["message"]["from"] == "agent"
    assert pushed["message"]["author_name"] == "Anna"

    delivered = await anna.expect("message.updated")
    assert delivered["message"]["id"] == reply["message"]["id"]
    assert delivered["message"]["status"] == "delivered"


async def test_queued_conversation_waits_for_an_operator_to_come_online(live: Live) -> None:
    await live.add_operator("boris")
    customer = await live.customer()
    await customer.hello()
    await customer.say("Anyone there?", "c-1")

    token = await live.token("boris")
    status, body = await live.api("GET", "/api/v1/conversations?status=queued", token)
    assert status == 200
    assert [c["status"] for c in body["conversations"]] == ["queued"]

    boris, _ = await live.operator(token)
    await boris.command("presence.set", status="online")
    assigned = await boris.expect("conversation.assigned")
    assert assigned["conversation"]["id"] == body["conversations"][0]["id"]


async def test_capacity_is_respected_and_the_least_loaded_operator_wins(live: Live) -> None:
    await live.add_operator("anna", capacity=1)
    await live.add_operator("boris", capacity=1)
    anna = await live.online_operator("anna")
    boris = await live.online_operator("boris")
    for n in range(3):
        customer = await live.customer()
        await customer.hello()
        await customer.say(f"hello {n}", f"c-{n}")
    first = await anna.expect("conversation.assigned")
    second = await boris.expect("conversation.assigned")
    assert first["conversation"]["id"] != second["conversation"]["id"]
    token = await live.token("anna")
    _, body = await live.api("GET", "/api/v1/conversations?status=queued", token)
    assert len(body["conversations"]) == 1  # the third waits: nobody has capacity


async def test_operator_reconnect_receives_exactly_the_missed_events(live: Live) -> None:
    await live.add_operator("anna")
    token = await live.token("anna")
    anna, _ = await live.operator(token)
    await anna.command("presence.set", status="online")
    customer = await live.customer()
    await customer.hello()
    await customer.say("first", "c-1")
    await anna.expect("message.created")
    # Routing's answer to it too, before she leaves: it would otherwise come in the middle.
    await anna.expect("conversation.assigned")
    last_seq = anna.last_seq
    await anna.ws.close()

    # While the operator is away, the customer writes twice.
    await customer.say("second", "c-2")
    await customer.say("third", "c-3")

    again, ok = await live.operator(token, last_seq=last_seq)
    assert ok["resumed"] is True
    # Replayed from the buffer, and anything still on its way when she came back live:
    # read until both messages are here, however they came.
    frames: list[dict[str, Any]] = []
    while sum(f["type"] == "message.created" for f in frames) < 2:
        frames.append(await again.recv())
    texts = [f["message"]["text"] for f in frames if f["type"] == "message.created"]
    assert texts == ["second", "third"]
    assert [f["seq"] for f in frames] == list(range(last_seq + 1, last_seq + 1 + len(frames)))
    await again.no_frame()  # nothing is sent twice


async def test_resume_from_a_seq_that_is_gone_gets_resync_required(live: Live) -> None:
    await live.add_operator("anna")
    token = await live.token("anna")
    # A stream this process never had (a server restart, say) cannot be replayed.
    client, ok = await live.operator(token, last_seq=50)
    assert ok["resumed"] is False
    frame = await client.recv()
    assert frame["type"] == "resync_required"


async def test_a_fresh_connection_does_not_replay(live: Live) -> None:
    await live.add_operator("anna")
    token = await live.token("anna")
    anna, _ = await live.operator(token)
    await anna.command("presence.set", status="online")
    await anna.ws.close()
    again, ok = await live.operator(token)
    assert ok["resumed"] is False
    await again.no_frame()


async def test_customer_reload_sees_history_and_a_resend_is_stored_once(live: Live) -> None:
    await live.add_operator("anna")
    anna = await live.online_operator("anna")
    customer = await live.customer()
    welcome = await customer.hello(name="Maria")
    token = welcome["visitor_token"]
    first = await customer.say("Hello", "c-1")
    conv = (await anna.expect("conversation.assigned"))["conversation"]
    await anna.command("message.send", conversation_id=conv["id"], text="Hi Maria", client_id="o-1")
    await customer.expect("message")
    await customer.ws.close()

    # The page reloads: same token, whole history.
    reloaded = await live.customer()
    welcome = await reloaded.hello(visitor_token=token)
    assert welcome["conversation_id"] == conv["id"]
    assert [m["text"] for m in welcome["messages"]] == ["Hello", "Hi Maria"]
    assert [m["from"] for m in welcome["messages"]] == ["customer", "agent"]

    # The widget resends a message whose ack it missed: same client id, stored once.
    again = await reloaded.say("Hello", "c-1")
    assert again["message"]["id"] == first["message"]["id"]
    op_token = await live.token("anna")
    _, body = await live.api("GET", f"/api/v1/conversations/{conv['id']}/messages", op_token)
    assert [m["text"] for m in body["messages"]] == ["Hello", "Hi Maria"]

    # Only the newer part with last_seq.
    later = await live.customer()
    welcome = await later.hello(visitor_token=token, last_seq=1)
    assert [m["text"] for m in welcome["messages"]] == ["Hi Maria"]


async def test_an_operator_resend_with_the_same_client_id_is_stored_and_sent_once(
    live: Live,
) -> None:
    await live.add_operator("anna")
    anna = await live.online_operator("anna")
    customer = await live.customer()
    await customer.hello()
    await customer.say("Hello", "c-1")
    conv = (await anna.expect("conversation.assigned"))["conversation"]
    first = await anna.command(
        "message.send", conversation_id=conv["id"], text="Once", client_id="same"
    )
    second = await anna.command(
        "message.send", conversation_id=conv["id"], text="Once", client_id="same"
    )
    assert second["message"]["id"] == first["message"]["id"]
    assert second["duplicate"] is True
    await customer.expect("message")
    try:
        extra = await customer.recv(timeout=0.5)
    except TimeoutError:
        extra = None
    assert extra is None or extra["type"] != "message"


async def test_notes_resolve_and_reopen(live: Live) -> None:
    await live.add_operator("anna")
    anna = await live.online_operator("anna")
    customer = await live.customer()
    token = (await customer.hello())["visitor_token"]
    await customer.say("Hello", "c-1")
    conv = (await anna.expect("conversation.assigned"))["conversation"]

    note = await anna.command("note.add", conversation_id=conv["id"], text="VIP, be nice")
    assert note["message"]["kind"] == "note"
    assert note["message"]["direction"] == "internal"
    resolved = await anna.command("conversation.resolve", conversation_id=conv["id"])
    assert resolved["conversation"]["status"] == "resolved"
    again = await anna.command("conversation.resolve", conversation_id=conv["id"])
    assert again["code"] == "invalid_transition"

    # The customer never sees the note; a new message reopens the conversation.
    reloaded = await live.customer()
    welcome = await reloaded.hello(visitor_token=token)
    assert [m["text"] for m in welcome["messages"]] == ["Hello"]
    await reloaded.say("One more question", "c-2")
    reopened = await anna.expect("conversation.updated", reason="reopened")
    assert reopened["conversation"]["status"] == "queued"
    assert reopened["conversation"]["id"] == conv["id"]
    # ...and the router gives it back to the only online operator.
    back = await anna.expect("conversation.assigned")
    assert back["conversation"]["id"] == conv["id"]


async def test_a_resend_from_a_second_tab_is_acked_but_not_echoed(live: Live) -> None:
    """Two open tabs of one visitor: a message sent in one is pushed to the other. The
    same client id sent again from the second tab (its copy of a message it never saw
    acked) gets the stored message back and is pushed to nobody: ingest's duplicate flag
    decides that, so a wrong one would show the message twice in the first tab."""
    await live.add_operator("anna")
    anna = await live.online_operator("anna")
    tab_a = await live.customer()
    token = (await tab_a.hello())["visitor_token"]
    tab_b = await live.customer()
    await tab_b.hello(visitor_token=token)
    first = await tab_a.say("Hello", "c-1")
    pushed = await tab_b.expect("message")
    assert pushed["message"]["id"] == first["message"]["id"]

    again = await tab_b.say("Hello", "c-1")
    assert again["message"]["id"] == first["message"]["id"]
    # The positive signal: tab B's next message reaches tab A, and nothing came before it.
    await tab_b.say("Second", "c-2")
    frame = await tab_a.recv()
    while frame["type"] in ("typing", "pong"):
        frame = await tab_a.recv()
    assert frame["type"] == "message"
    assert frame["message"]["text"] == "Second"
    created = [await anna.expect("message.created") for _ in range(2)]
    assert [c["message"]["text"] for c in created] == ["Hello", "Second"]
