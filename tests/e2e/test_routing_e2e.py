"""Routing end to end over the real WebSocket and REST surface, with the real clock: queues
by skill and capacity, offers that expire, are declined and accepted, requeueing when an
operator leaves, queue positions for waiting customers, SLA alerts, the supervisor-only
surface and transfers (ISSUE: routing, "Done when"; docs/routing.md).

Timeouts are configured small (offers, SLA, presence grace) so the router's deadline
wake-ups fire within a second; every wait is an ``expect`` with a generous timeout."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest

from inbox.domain.channels import ChannelKind
from inbox.domain.operators import Operator, Role
from inbox.usecases import add_channel, add_operator
from operator_ws import Argon2PasswordHasher
from tests.e2e.conftest import PASSWORD, Customer, Live, OperatorClient

#: Offers expire after this long; short, but long enough for a test to answer in time.
ACCEPT_TIMEOUT = 0.8
LONG = 15.0


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # An operator whose console closed turns away after 0.3 s (the requeue test).
    return {"presence_grace_seconds": 0.3}


# ---------------------------------------------------------------------- helpers


async def _operator(
    live: Live,
    login: str,
    *,
    skills: dict[str, int] | None = None,
    capacity: int = 5,
    role: Role = Role.OPERATOR,
) -> Operator:
    op = await add_operator(
        live.core,
        Argon2PasswordHasher(fast_for_tests=True),
        login=login,
        password=PASSWORD,
        display_name=login.title(),
        role=role,
        skills=skills,
        capacity=capacity,
    )
    live.operators[login] = op
    return op


async def _supervisor(live: Live, login: str = "sam") -> str:
    await _operator(live, login, role=Role.SUPERVISOR)
    return await live.token(login)


async def _queue(live: Live, token: str, name: str, **settings: Any) -> dict[str, Any]:
    status, body = await live.api(
        "POST", "/api/v1/queues", token, json={"name": name, "settings": settings}
    )
    assert status == 201, body
    queue: dict[str, Any] = body["queue"]
    return queue


async def _customer_writes(live: Live, text: str, channel_id: str | None = None) -> Customer:
    customer = await live.customer(channel_id)
    await customer.hello()
    ack = await customer.say(text, "c-1")
    assert ack["message"]["text"] == text
    return customer


async def _conversation_id(live: Live, token: str, preview: str) -> str:
    """The id of the one conversation whose last message is ``preview`` (a supervisor's
    token sees every conversation)."""
    status, body = await live.api("GET", "/api/v1/conversations", token)
    assert status == 200, body
    found = [c["id"] for c in body["conversations"] if c["preview"] == preview]
    assert len(found) == 1, (preview, body)
    return str(found[0])


async def _conversation(live: Live, token: str, conversation_id: str) -> dict[str, Any]:
    status, body = await live.api("GET", f"/api/v1/conversations/{conversation_id}", token)
    assert status == 200, body
    conversation: dict[str, Any] = body["conversation"]
    return conversation


async def _routing(live: Live, token: str, conversation_id: str) -> dict[str, Any]:
    status, body = await live.api("GET", f"/api/v1/conversations/{conversation_id}/routing", token)
    assert status == 200, body
    explained: dict[str, Any] = body
    return explained


async def _eventually(check: Callable[[], Awaitable[bool]], timeout: float = LONG) -> None:
    """Poll until ``check`` holds (a state the server reaches on its own, e.g. a task)."""
    for _ in range(int(timeout / 0.02)):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not within {timeout} s")


async def _drain(client: OperatorClient, within: float = 0.3) -> list[dict[str, Any]]:
    """Every frame that arrives until the socket is quiet for ``within`` seconds, plus the
    frames ``expect`` passed over."""
    frames, client.pending = list(client.pending), []
    try:
        while True:
            frames.append(await client.recv(within))
    except TimeoutError:
        return frames


async def _agent_message(customer: Customer) -> dict[str, Any]:
    """The next message the server pushes to the customer (not an echo of their own)."""
    while True:
        frame = await customer.expect("message", timeout=LONG)
        if frame["message"]["from"] == "agent":
            message: dict[str, Any] = frame["message"]
            return message


def _at(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


# ---------------------------------------------------------------------- 1. queues by skill


async def test_two_queues_by_skill_route_only_to_skilled_operators_up_to_capacity(
    live: Live,
) -> None:
    sam = await _supervisor(live)
    repairs_channel = await add_channel(live.core, ChannelKind("webchat"), "Repairs", {})
    anna = await _operator(live, "anna", skills={"lenses": 3}, capacity=2)
    boris = await _operator(live, "boris", skills={"repairs": 2}, capacity=1)
    lenses_q = await _queue(
        live,
        sam,
        "Lenses",
        channels=[live.channel_id],
        skills={"lenses": 1},
        members=["anna", "boris"],
    )
    await _queue(
        live,
        sam,
        "Repairs",
        channels=[repairs_channel.id],
        skills={"repairs": 1},
        members=["anna", "boris"],
    )
    # Members given by login are stored as ids.
    assert lenses_q["settings"]["members"] == [anna.id, boris.id]
    anna_ws = await live.online_operator("anna")
    boris_ws = await live.online_operator("boris")

    for n in range(4):
        await _customer_writes(live, f"lens {n}")
    for n in range(2):
        await _customer_writes(live, f"repair {n}", repairs_channel.id)

    # Anna gets the first two lens conversations (her capacity), Boris the first repair.
    got = [(await anna_ws.expect("conversation.assigned"))["conversation"] for _ in range(2)]
    assert sorted(c["preview"] for c in got) == ["lens 0", "lens 1"]
    assert {c["channel_id"] for c in got} == {live.channel_id}
    repair = (await boris_ws.expect("conversation.assigned"))["conversation"]
    assert repair["preview"] == "repair 0"
    assert repair["assignee_id"] == boris.id

    # The rest waits: Anna is full, and Boris lacks the lens skill (and is full anyway).
    lens3 = await _conversation_id(live, sam, "lens 3")

    async def lens3_decided() -> bool:
        return (await _routing(live, sam, lens3))["now"] is not None

    await _eventually(lens3_decided)
    now = (await _routing(live, sam, lens3))["now"]
    assert now["outcome"] == "wait"
    excluded = {c["operator"]: c.get("excluded") for c in now["candidates"]}
    assert excluded == {anna.id: "no_capacity", boris.id: "missing_skill"}

    # Capacity frees up: the longest waiting lens conversation goes next, to Anna.
    lens0 = next(c["id"] for c in got if c["preview"] == "lens 0")
    resolved = await anna_ws.command("conversation.resolve", conversation_id=lens0)
    assert resolved["type"] == "ack", resolved
    nxt = (await anna_ws.expect("conversation.assigned", timeout=LONG))["conversation"]
    assert nxt["preview"] == "lens 2"

    status, body = await live.api("GET", "/api/v1/conversations?status=queued", sam)
    assert status == 200, body
    assert sorted(c["preview"] for c in body["conversations"]) == ["lens 3", "repair 1"]
    # Boris was never given a lens conversation, nor Anna a repair.
    boris_assigned = [
        f["conversation"]["preview"] for f in boris_ws.seen if f["type"] == "conversation.assigned"
    ]
    assert boris_assigned == ["repair 0"]
    anna_assigned = [
        f["conversation"]["preview"] for f in anna_ws.seen if f["type"] == "conversation.assigned"
    ]
    assert sorted(anna_assigned) == ["lens 0", "lens 1", "lens 2"]

    # The queue list shows what waits where.
    status, body = await live.api("GET", "/api/v1/queues", sam)
    assert status == 200, body
    stats = {q["name"]: q["stats"] for q in body["queues"]}
    assert stats["Lenses"]["waiting"] == 1
    assert stats["Lenses"]["assigned"] == 2
    assert stats["Repairs"]["waiting"] == 1
    assert stats["Repairs"]["members_online"] == 2


# ---------------------------------------------------------------------- 2. offers


async def test_an_offer_expires_is_declined_then_accepted_and_a_late_accept_conflicts(
    live: Live,
) -> None:
    sam = await _supervisor(live)
    for login in ("anna", "boris", "carl"):
        await _operator(live, login)
    await _queue(
        live,
        sam,
        "Sales",
        channels=[live.channel_id],
        members=["anna", "boris", "carl"],
        strategy="round_robin",
        accept_timeout=ACCEPT_TIMEOUT,
    )
    anna = await live.online_operator("anna")
    boris = await live.online_operator("boris")
    carl = await live.online_operator("carl")
    await _customer_writes(live, "Can I return these glasses?")

    # Round robin: Anna first. She lets the offer run out.
    created = await anna.expect("offer.created")
    offer = created["offer"]
    conversation_id = offer["conversation_id"]
    assert offer["queue_name"] == "Sales"
    assert offer["preview"] == "Can I return these glasses?"
    window = (_at(offer["expires_at"]) - _at(offer["offered_at"])).total_seconds()
    assert window == pytest.approx(ACCEPT_TIMEOUT)
    assert created["conversation"]["status"] == "queued"
    ended = await anna.expect("offer.ended", timeout=LONG, conversation_id=conversation_id)
    assert ended["state"] == "expired"

    # Boris is offered it next; the offer is listed for him (not for Anna); he declines.
    await boris.expect("offer.created", timeout=LONG)
    status, body = await live.api("GET", "/api/v1/offers", await live.token("boris"))
    assert status == 200, body
    assert [o["conversation_id"] for o in body["offers"]] == [conversation_id]
    assert body["offers"][0]["queue_name"] == "Sales"
    status, body = await live.api("GET", "/api/v1/offers", await live.token("anna"))
    assert (status, body["offers"]) == (200, [])
    declined = await boris.command("offer.decline", conversation_id=conversation_id)
    assert declined["type"] == "ack", declined
    ended = await boris.expect("offer.ended", conversation_id=conversation_id)
    assert ended["state"] == "declined"

    # Carl accepts and gets the conversation.
    await carl.expect("offer.created", timeout=LONG)
    accepted = await carl.command("offer.accept", conversation_id=conversation_id)
    assert accepted["type"] == "ack", accepted
    assert accepted["conversation"]["assignee_id"] == live.operators["carl"].id
    assigned = await carl.expect("conversation.assigned")
    assert assigned["conversation"]["id"] == conversation_id
    assert assigned["conversation"]["status"] == "assigned"

    # Anna's late accept (and Boris's, after declining) is a conflict.
    late = await anna.command("offer.accept", conversation_id=conversation_id)
    assert late["type"] == "error", late
    assert late["code"] == "conflict"
    again = await boris.command("offer.accept", conversation_id=conversation_id)
    assert again["code"] == "conflict"

    # The explanation tells the story.
    explained = await _routing(live, sam, conversation_id)
    outcomes = [d["outcome"] for d in explained["decisions"]]
    assert outcomes == ["offer", "timeout", "offer", "decline", "offer", "accept"]
    winners = [
        d["explanation"]["winners"] for d in explained["decisions"] if d["outcome"] == "offer"
    ]
    ids = live.operators
    assert winners == [[ids["anna"].id], [ids["boris"].id], [ids["carl"].id]]
    assert explained["offers"] == []


# ---------------------------------------------------------------------- 3. requeue on leave


async def test_a_closed_console_requeues_unanswered_conversations_after_the_grace(
    live: Live,
) -> None:
    sam = await _supervisor(live)
    anna_op = await _operator(live, "anna", capacity=3)
    await _operator(live, "boris", capacity=3)
    anna = await live.online_operator("anna")
    await _customer_writes(live, "answered")
    await _customer_writes(live, "unanswered")
    got = {
        c["preview"]: c["id"]
        for c in [(await anna.expect("conversation.assigned"))["conversation"] for _ in range(2)]
    }
    reply = await anna.command(
        "message.send", conversation_id=got["answered"], text="On it", client_id="o-1"
    )
    assert reply["type"] == "ack", reply

    # Boris comes online after Anna holds both; then Anna closes her console.
    boris = await live.online_operator("boris")
    await anna.ws.close()

    assigned = await boris.expect("conversation.assigned", timeout=LONG)
    assert assigned["conversation"]["id"] == got["unanswered"]
    # The conversation waiting for the customer stays Anna's.
    kept = await _conversation(live, sam, got["answered"])
    assert (kept["status"], kept["assignee_id"]) == ("assigned", anna_op.id)
    status, body = await live.api("GET", "/api/v1/operators", sam)
    assert status == 200, body
    presence = {o["login"]: o["presence"] for o in body["operators"]}
    assert presence["anna"] == "away"

    explained = await _routing(live, sam, got["unanswered"])
    requeue = [d for d in explained["decisions"] if d["outcome"] == "requeue"]
    assert len(requeue) == 1
    assert requeue[0]["explanation"]["operator"] == anna_op.id
    assert explained["task"]["last_operator_id"] == anna_op.id


# ---------------------------------------------------------------------- 4. queue position


async def test_a_queued_customer_is_told_their_position_in_russian(live: Live) -> None:
    sam = await _supervisor(live)
    await _queue(
        live,
        sam,
        "Shop",
        channels=[live.channel_id],
        position={"interval": 60, "first_after": 0.2, "language": "ru"},
    )
    customer = await _customer_writes(live, "Есть кто-нибудь?")

    message = await _agent_message(customer)
    assert "в очереди" in message["text"]
    assert "1-й" in message["text"]

    # Operators see it in the conversation as a system message.
    conversation_id = await _conversation_id(live, sam, "Есть кто-нибудь?")
    status, body = await live.api("GET", f"/api/v1/conversations/{conversation_id}/messages", sam)
    assert status == 200, body
    system = [m for m in body["messages"] if m["author"]["kind"] == "system"]
    assert [m["text"] for m in system] == [message["text"]]
    # Telling the position changes nothing else: the conversation still waits.
    assert (await _conversation(live, sam, conversation_id))["status"] == "queued"


# ---------------------------------------------------------------------- 5. SLA alerts


async def test_a_breached_first_response_sla_alerts_supervisors_live(live: Live) -> None:
    sam_token = await _supervisor(live)
    anna_op = await _operator(live, "anna")
    await _operator(live, "boris")
    await _queue(
        live,
        sam_token,
        "Shop",
        channels=[live.channel_id],
        members=["anna"],
        sla={"0": {"first_response": 0.6}},
        sla_warning_before=0.3,
    )
    sam, _ = await live.operator(sam_token)  # a console, not taking conversations
    anna = await live.online_operator("anna")
    boris = await live.online_operator("boris")  # a plain operator, not in the queue
    await _customer_writes(live, "Where is my order?")
    conversation_id = (await anna.expect("conversation.assigned"))["conversation"]["id"]

    # The assignee is warned before the deadline...
    warning = await anna.expect("routing.alert", timeout=LONG)
    assert warning["alert"]["kind"] == "sla_warning"
    assert warning["alert"]["target"] == "first_response"
    assert warning["alert"]["operator_id"] == anna_op.id
    # ...and at the deadline the supervisor gets the breach.
    breach = await sam.expect("routing.alert", timeout=LONG)
    alert = breach["alert"]
    assert (alert["kind"], alert["target"]) == ("sla_breach", "first_response")
    assert alert["conversation_id"] == conversation_id
    assert alert["queue_name"] == "Shop"
    assert alert["operator_id"] == anna_op.id
    assert breach["conversation"]["id"] == conversation_id

    # Plain operators get no breach (Anna only her own warning; Boris nothing).
    for client in (anna, boris):
        kinds = [f["alert"]["kind"] for f in await _drain(client) if f["type"] == "routing.alert"]
        assert "sla_breach" not in kinds
    assert not any(f["type"] == "routing.alert" for f in boris.seen)
    sam_kinds = [f["alert"]["kind"] for f in sam.seen if f["type"] == "routing.alert"]
    assert sam_kinds == ["sla_breach"]
    explained = await _routing(live, sam_token, conversation_id)
    assert explained["task"]["first_response_breached_at"] is not None


# ---------------------------------------------------------------------- 6. supervisor-only


async def test_explanations_and_queue_management_are_for_supervisors(live: Live) -> None:
    sam = await _supervisor(live)
    anna_op = await _operator(live, "anna")
    await _operator(live, "boris", capacity=0)
    anna_token = await live.token("anna")
    anna = await live.online_operator("anna")
    await live.online_operator("boris")
    await _customer_writes(live, "Hello")
    conversation_id = (await anna.expect("conversation.assigned"))["conversation"]["id"]

    explained = await _routing(live, sam, conversation_id)
    assert explained["conversation_id"] == conversation_id
    assert explained["task"]["assignee_id"] == anna_op.id
    [assign] = [d for d in explained["decisions"] if d["outcome"] == "assign"]
    why = assign["explanation"]
    assert why["winners"] == [anna_op.id]
    assert why["conversation"] == conversation_id
    assert why["strategy"] == "least_loaded"
    notes = {c["operator"]: c for c in why["candidates"]}
    assert "score" in notes[anna_op.id]
    assert notes[live.operators["boris"].id]["excluded"] == "no_capacity"
    assert notes[live.operators["sam"].id]["excluded"] == "not_online"

    # Operators may not read explanations nor manage queues.
    for method, path, kwargs in (
        ("GET", f"/api/v1/conversations/{conversation_id}/routing", {}),
        ("POST", "/api/v1/queues", {"json": {"name": "Mine", "settings": {}}}),
        ("PATCH", "/api/v1/queues/Default", {"json": {"settings": {"accept_timeout": 5}}}),
    ):
        status, body = await live.api(method, path, anna_token, **kwargs)
        assert status == 403, (path, body)
        assert body["error"]["code"] == "forbidden"

    # Bad settings: 400 naming the field, nothing stored.
    for settings, field in (
        ({"accept_timeout": -1}, "accept_timeout"),
        ({"colour": "red"}, "colour"),
        ({"strategy": "fastest"}, "strategy"),
        ({"members": ["nobody"]}, "nobody"),
        ({"sla": {"0": {"first_response": "soon"}}}, "first_response"),
        ({"position": {"language": "de"}}, "language"),
    ):
        status, body = await live.api(
            "POST", "/api/v1/queues", sam, json={"name": "Bad", "settings": settings}
        )
        assert status == 400, (settings, body)
        assert body["error"]["code"] == "invalid_input"
        assert field in body["error"]["message"], (settings, body)
    status, body = await live.api("POST", "/api/v1/queues", sam, json={"name": "X", "nope": 1})
    assert status == 400
    assert "nope" in body["error"]["message"]
    status, body = await live.api("GET", "/api/v1/queues", sam)
    assert status == 200
    assert "Bad" not in {q["name"] for q in body["queues"]}
    status, body = await live.api("PATCH", "/api/v1/queues/Nowhere", sam, json={"settings": {}})
    assert (status, body["error"]["code"]) == (404, "not_found")

    # Bad routing commands get an error frame; the socket stays usable.
    for type_, fields, code in (
        ("offer.accept", {}, "bad_frame"),
        ("offer.decline", {"conversation_id": 7}, "bad_frame"),
        ("conversation.transfer", {"conversation_id": conversation_id, "skills": "x"}, "bad_frame"),
        (
            "conversation.transfer",
            {"conversation_id": conversation_id, "skills": {"lenses": "high"}},
            "invalid_input",
        ),
        ("conversation.transfer", {"conversation_id": conversation_id}, "invalid_input"),
        (
            "conversation.transfer",
            {"conversation_id": conversation_id, "operator_id": anna_op.id, "queue": "Default"},
            "invalid_input",
        ),
        (
            "conversation.transfer",
            {"conversation_id": conversation_id, "queue": "Nope"},
            "not_found",
        ),
        ("offer.decline", {"conversation_id": conversation_id}, "conflict"),
        ("conversation.claim", {"conversation_id": conversation_id}, "conflict"),
    ):
        error = await anna.command(type_, **fields)
        assert error["type"] == "error", (type_, fields, error)
        assert error["code"] == code, (type_, fields, error)
        assert error["message"]
    await anna.send(type="offer.snooze", request_id="r-x", conversation_id=conversation_id)
    unknown = await anna.expect("error")
    assert unknown["code"] == "unknown_type"
    assert (await anna.command("ping"))["type"] == "pong"
    # Nothing moved.
    still = await _conversation(live, sam, conversation_id)
    assert (still["status"], still["assignee_id"]) == ("assigned", anna_op.id)


async def test_claiming_by_hand_follows_the_queue_rules(live: Live) -> None:
    sam_token = await _supervisor(live)
    await _operator(live, "anna")
    await _queue(live, sam_token, "Picky", channels=[live.channel_id], allow_pick=False)
    anna, _ = await live.operator(await live.token("anna"))  # connected, but not online
    sam, _ = await live.operator(sam_token)
    await _customer_writes(live, "Anyone?")
    conversation_id = await _conversation_id(live, sam_token, "Anyone?")

    refused = await anna.command("conversation.claim", conversation_id=conversation_id)
    assert (refused["type"], refused["code"]) == ("error", "forbidden")
    claimed = await sam.command("conversation.claim", conversation_id=conversation_id)
    assert claimed["type"] == "ack", claimed
    assert claimed["conversation"]["assignee_id"] == live.operators["sam"].id
    await sam.expect("conversation.assigned")
    explained = await _routing(live, sam_token, conversation_id)
    assert [d["outcome"] for d in explained["decisions"]] == ["pick"]


# ---------------------------------------------------------------------- 7. transfers


async def test_transfer_to_an_operator_with_a_note_then_to_a_queue_and_skill(live: Live) -> None:
    sam = await _supervisor(live)
    anna_op = await _operator(live, "anna")
    boris_op = await _operator(live, "boris")
    carl_op = await _operator(live, "carl", skills={"returns": 3})
    await _queue(live, sam, "Care", members=["anna", "boris", "carl"])
    anna = await live.online_operator("anna")
    await _customer_writes(live, "I want a refund")
    conversation_id = (await anna.expect("conversation.assigned"))["conversation"]["id"]
    boris = await live.online_operator("boris")
    carl = await live.online_operator("carl")

    # To an online operator, with a note.
    moved = await anna.command(
        "conversation.transfer",
        conversation_id=conversation_id,
        operator_id=boris_op.id,
        note="VIP, knows the manager",
    )
    assert moved["type"] == "ack", moved
    assert moved["conversation"]["assignee_id"] == boris_op.id
    assigned = await boris.expect("conversation.assigned")
    assert assigned["conversation"]["id"] == conversation_id
    note = await boris.expect("message.created", conversation_id=conversation_id)
    assert note["message"]["kind"] == "note"
    assert "Transferred to Boris by Anna" in note["message"]["text"]
    assert "VIP, knows the manager" in note["message"]["text"]
    status, body = await live.api("GET", f"/api/v1/conversations/{conversation_id}/messages", sam)
    assert status == 200, body
    notes = [m for m in body["messages"] if m["kind"] == "note"]
    assert len(notes) == 1
    assert notes[0]["author"]["id"] == anna_op.id
    # Anna no longer holds it.
    after = await anna.command(
        "message.send", conversation_id=conversation_id, text="x", client_id="a"
    )
    assert after["code"] == "forbidden"

    # To a queue and a skill: back in the queue, then to the only operator with the skill.
    moved = await boris.command(
        "conversation.transfer",
        conversation_id=conversation_id,
        queue="Care",
        skills={"returns": 2},
    )
    assert moved["type"] == "ack", moved
    assert moved["conversation"]["status"] == "queued"
    back = await boris.expect("conversation.updated", reason="unassigned")
    assert back["conversation"]["id"] == conversation_id
    assigned = await carl.expect("conversation.assigned", timeout=LONG)
    assert assigned["conversation"]["id"] == conversation_id
    assert assigned["conversation"]["assignee_id"] == carl_op.id

    explained = await _routing(live, sam, conversation_id)
    outcomes = [d["outcome"] for d in explained["decisions"]]
    assert outcomes == ["assign", "transfer", "transfer", "assign"]
    second = explained["decisions"][2]["explanation"]
    assert second["skills"] == {"returns": 2}
    last = explained["decisions"][3]["explanation"]
    assert last["winners"] == [carl_op.id]
    excluded = {c["operator"]: c.get("excluded") for c in last["candidates"]}
    assert excluded[anna_op.id] == "missing_skill"
    assert excluded[boris_op.id] == "missing_skill"
    assert explained["task"]["extra_skills"] == {"returns": 2}


async def test_supervisors_change_skills_and_capacity_and_routing_follows(live: Live) -> None:
    anna = await live.add_operator("anna", capacity=0)
    await live.add_operator("sveta", role=Role.SUPERVISOR)
    await live.add_operator("admin", role=Role.ADMIN)
    sveta, admin = await live.token("sveta"), await live.token("admin")
    client = await live.online_operator("anna")
    customer = await live.customer()
    await customer.hello()
    await customer.say("Hello", "c1")
    status, _ = await live.api(
        "PATCH", f"/api/v1/operators/{anna.id}", await live.token("anna"), json={"capacity": 3}
    )
    assert status == 403
    status, body = await live.api(
        "PATCH", "/api/v1/operators/anna", sveta, json={"capacity": 2, "skills": {"lenses": 3}}
    )
    assert status == 200
    assert body["operator"]["capacity"] == 2
    assert body["operator"]["skills"] == {"lenses": 3}
    await client.expect("conversation.assigned", timeout=5)  # room now: routing looked again
    status, body = await live.api("PATCH", "/api/v1/operators/anna", sveta, json={"role": "admin"})
    assert (status, body["error"]["code"]) == (403, "forbidden")
    for bad in ({"capacity": -1}, {"skills": {"x": 11}}, {"role": "king"}, {"shoe": 1}):
        status, body = await live.api("PATCH", "/api/v1/operators/anna", admin, json=bad)
        assert (status, body["error"]["code"]) == (400, "invalid_input"), bad
    status, body = await live.api("PATCH", "/api/v1/operators/ghost", admin, json={"capacity": 1})
    assert status == 404


async def test_the_assignee_tags_the_customer_over_rest(live: Live) -> None:
    await live.add_operator("anna")
    await live.add_operator("boris", capacity=0)
    anna = await live.online_operator("anna")
    customer = await live.customer()
    await customer.hello()
    await customer.say("Hello", "c1")
    conv = (await anna.expect("conversation.assigned", timeout=5))["conversation"]
    path = f"/api/v1/conversations/{conv['id']}/contact"
    token = await live.token("anna")
    status, body = await live.api("PUT", path + "/tags", token, json={"tags": ["VIP", "opt"]})
    assert status == 200
    assert body["contact"]["tags"] == ["opt", "vip"]
    status, body = await live.api("GET", path, token)
    assert (status, body["contact"]["tags"]) == (200, ["opt", "vip"])
    boris = await live.token("boris")
    status, body = await live.api("PUT", path + "/tags", boris, json={"tags": []})
    assert (status, body["error"]["code"]) == (403, "forbidden")
    for bad in ({"tags": "vip"}, {"tags": ["no spaces"]}, {"tags": [f"t{i}" for i in range(21)]}):
        status, body = await live.api("PUT", path + "/tags", token, json=bad)
        assert (status, body["error"]["code"]) == (400, "invalid_input"), bad
