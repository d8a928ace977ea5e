"""Bad input gets a clear error, keeps the connection usable, writes nothing."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from inbox.domain.content import MAX_TEXT_BYTES
from inbox.domain.operators import Role
from tests.e2e.conftest import Live, OperatorClient


async def _conversation_for(live: Live, login: str) -> tuple[OperatorClient, str]:
    """An online operator with one conversation assigned to them."""
    if login not in live.operators:
        await live.add_operator(login)
    client = await live.online_operator(login)
    customer = await live.customer()
    await customer.hello()
    await customer.say("Hello", "c-1")
    conv = (await client.expect("conversation.assigned"))["conversation"]
    return client, str(conv["id"])


async def _drain(client: OperatorClient) -> None:
    while True:
        await client.recv()


async def _message_texts(live: Live, token: str, conversation_id: str) -> list[str]:
    status, body = await live.api("GET", f"/api/v1/conversations/{conversation_id}/messages", token)
    assert status == 200, body
    return [m["text"] for m in body["messages"]]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("this is not json", "bad_frame"),
        ("[]", "bad_frame"),
        ('{"type": "teleport"}', "unknown_type"),
        ('{"type": "message.send", "conversation_id": "x"}', "bad_frame"),
        ('{"type": "presence.set", "status": "sleeping"}', "invalid_input"),
        ('{"type": "auth", "token": "again"}', "bad_frame"),
    ],
)
async def test_malformed_operator_frames_get_an_error_frame(
    live: Live, raw: str, code: str
) -> None:
    anna, _conversation_id = await _conversation_for(live, "anna")
    await anna.ws.send(raw)
    error = await anna.expect("error")
    assert error["code"] == code
    assert error["message"]
    # The connection stays usable.
    pong = await anna.command("ping")
    assert pong["type"] == "pong"


async def test_oversize_text_and_bad_commands_write_nothing(live: Live) -> None:
    anna, conversation_id = await _conversation_for(live, "anna")
    token = await live.token("anna")
    before = await _message_texts(live, token, conversation_id)

    huge = await anna.command(
        "message.send",
        conversation_id=conversation_id,
        text="x" * (MAX_TEXT_BYTES + 1),
        client_id="k1",
    )
    assert huge["type"] == "error"
    assert huge["code"] == "too_large"
    empty = await anna.command(
        "message.send", conversation_id=conversation_id, text="  ", client_id="k2"
    )
    assert empty["code"] == "invalid_input"
    long_id = await anna.command(
        "message.send", conversation_id=conversation_id, text="hi", client_id="k" * 101
    )
    assert long_id["code"] == "invalid_input"
    missing = await anna.command("message.send", conversation_id="nope", text="hi", client_id="k3")
    assert missing["code"] == "not_found"
    note = await anna.command(
        "note.add", conversation_id=conversation_id, text="y" * (MAX_TEXT_BYTES + 1)
    )
    assert note["code"] == "too_large"

    assert await _message_texts(live, token, conversation_id) == before
    assert (await anna.command("ping"))["type"] == "pong"


async def test_a_frame_over_the_socket_limit_closes_only_that_socket(live: Live) -> None:
    anna, _ = await _conversation_for(live, "anna")
    await anna.ws.send(json.dumps({"type": "ping", "pad": "x" * (2 * 1024 * 1024)}))
    with pytest.raises(ConnectionClosed) as info:
        await _drain(anna)
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == 1009
    again, _ok = await live.operator(await live.token("anna"))
    assert (await again.command("ping"))["type"] == "pong"


@pytest.mark.parametrize("token", ["wrong", ""])
async def test_a_wrong_token_is_refused_and_closed(live: Live, token: str) -> None:
    async with connect(live.ws_url("/ws/operator")) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        frame = json.loads(await ws.recv())
        assert frame == {"type": "error", "code": "unauthorized", "message": frame["message"]}
        with pytest.raises(ConnectionClosed) as info:
            await ws.recv()
        assert info.value.rcvd is not None
        assert info.value.rcvd.code == 4401


async def test_the_first_frame_must_be_auth(live: Live) -> None:
    async with connect(live.ws_url("/ws/operator")) as ws:
        await ws.send(json.dumps({"type": "ping"}))
        frame = json.loads(await ws.recv())
        assert frame["code"] == "unauthorized"


async def test_a_revoked_token_cannot_connect_and_its_sockets_close(live: Live) -> None:
    await live.add_operator("anna")
    token = await live.token("anna")
    anna, _ = await live.operator(token)
    status, _ = await live.api("POST", "/api/v1/auth/logout", token)
    assert status == 200
    frame = await anna.recv()
    assert frame["code"] == "unauthorized"
    async with connect(live.ws_url("/ws/operator")) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        assert json.loads(await ws.recv())["code"] == "unauthorized"
    status, body = await live.api("GET", "/api/v1/me", token)
    assert status == 401
    assert body["error"]["code"] == "unauthorized"


async def test_an_operator_may_not_touch_a_colleagues_conversation(live: Live) -> None:
    _anna, conversation_id = await _conversation_for(live, "anna")
    await live.add_operator("boris")
    boris, _ = await live.operator(await live.token("boris"))
    token = await live.token("anna")
    before = await _message_texts(live, token, conversation_id)
    for command, fields in [
        ("message.send", {"text": "mine now", "client_id": "b1"}),
        ("note.add", {"text": "psst"}),
        ("conversation.resolve", {}),
        ("conversation.claim", {}),
        ("typing", {}),
    ]:
        answer = await boris.command(command, conversation_id=conversation_id, **fields)
        assert answer["type"] == "error", (command, answer)
        assert answer["code"] in ("forbidden", "conflict"), (command, answer)
    status, body = await live.api(
        "GET", f"/api/v1/conversations/{conversation_id}", await live.token("boris")
    )
    assert status == 403
    assert body["error"]["code"] == "forbidden"
    assert await _message_texts(live, token, conversation_id) == before


async def test_rest_errors_are_json(live: Live) -> None:
    await live.add_operator("anna")
    async with live.http.post(
        live.url("/api/v1/auth/login"), json={"login": "anna", "password": "wrong password"}
    ) as resp:
        assert resp.status == 401
        assert (await resp.json())["error"]["code"] == "invalid_credentials"
    async with live.http.post(
        live.url("/api/v1/auth/login"),
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    ) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == "invalid_input"
    async with live.http.get(live.url("/api/v1/conversations")) as resp:
        assert resp.status == 401
        assert (await resp.json())["error"]["code"] == "unauthorized"
    async with live.http.get(live.url("/api/v1/nothing-here")) as resp:
        assert resp.status == 404
        assert (await resp.json())["error"]["code"] == "not_found"
    token = await live.token("anna")
    status, _ = await live.api("GET", "/api/v1/conversations?status=sleeping", token)
    assert status == 400
    status, _ = await live.api("GET", "/api/v1/conversations?limit=0", token)
    assert status == 400
    async with live.http.post(
        live.url("/api/v1/auth/login"), data=b"x" * (2 * 1024 * 1024)
    ) as resp:
        assert resp.status == 413
        assert (await resp.json())["error"]["code"] == "too_large"


async def test_rest_post_message_is_idempotent(live: Live) -> None:
    _anna, conversation_id = await _conversation_for(live, "anna")
    token = await live.token("anna")
    path = f"/api/v1/conversations/{conversation_id}/messages"
    status, first = await live.api("POST", path, token, json={"text": "Hi", "client_id": "r1"})
    assert status == 201
    status, again = await live.api("POST", path, token, json={"text": "Hi", "client_id": "r1"})
    assert status == 200
    assert again["message"]["id"] == first["message"]["id"]
    assert await _message_texts(live, token, conversation_id) == ["Hello", "Hi"]


async def _webchat_error(live: Live, frames: list[dict[str, Any] | str]) -> dict[str, Any]:
    async with connect(live.ws_url(f"/ws/webchat/{live.channel_id}")) as ws:
        for frame in frames:
            await ws.send(frame if isinstance(frame, str) else json.dumps(frame))
        while True:
            answer: dict[str, Any] = json.loads(await ws.recv())
            if answer["type"] == "error":
                # The socket is still usable after the error.
                await ws.send(json.dumps({"type": "ping"}))
                assert json.loads(await ws.recv())["type"] == "pong"
                return answer


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        (["not json"], "bad_frame"),
        ([{"type": "message", "text": "hi", "client_id": "1"}], "hello_required"),
        ([{"type": "dance"}], "unknown_type"),
        ([{"type": "hello", "visitor_token": "v" * 33 + ".forged"}], "bad_token"),
        ([{"type": "hello", "last_seq": -1}], "bad_frame"),
        (
            [{"type": "hello"}, {"type": "message", "text": "   ", "client_id": "1"}],
            "invalid_input",
        ),
        ([{"type": "hello"}, {"type": "message", "text": "x", "client_id": ""}], "invalid_input"),
        (
            [
                {"type": "hello"},
                {"type": "message", "text": "x" * (MAX_TEXT_BYTES + 1), "client_id": "1"},
            ],
            "too_large",
        ),
    ],
)
async def test_webchat_bad_input(live: Live, frames: list[dict[str, Any] | str], code: str) -> None:
    error = await _webchat_error(live, frames)
    assert error["code"] == code
    await live.add_operator("sveta", role=Role.SUPERVISOR)
    _, body = await live.api("GET", "/api/v1/conversations", await live.token("sveta"))
    assert body["conversations"] == []  # nothing was stored


async def test_webchat_unknown_channel_and_foreign_origin_are_refused(live: Live) -> None:
    async with live.http.get(live.url("/ws/webchat/does-not-exist")) as resp:
        assert resp.status == 404
        assert (await resp.json())["error"]["code"] == "not_found"
    from inbox.domain.channels import ChannelKind
    from inbox.usecases import add_channel

    guarded = await add_channel(
        live.core, ChannelKind("webchat"), "Guarded", {"origin": "https://shop.example"}
    )
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            live.url(f"/ws/webchat/{guarded.id}"), headers={"Origin": "https://evil.example"}
        ) as resp,
    ):
        assert resp.status == 403
    async with connect(
        live.ws_url(f"/ws/webchat/{guarded.id}"),
        origin="https://shop.example",  # type: ignore[arg-type]
    ) as ws:
        await ws.send(json.dumps({"type": "hello"}))
        assert json.loads(await ws.recv())["type"] == "welcome"


async def test_a_token_from_another_channel_is_refused(live: Live) -> None:
    from inbox.domain.channels import ChannelKind
    from inbox.usecases import add_channel

    other = await add_channel(live.core, ChannelKind("webchat"), "Other", {})
    customer = await live.customer(other.id)
    token = (await customer.hello())["visitor_token"]
    error = await _webchat_error(live, [{"type": "hello", "visitor_token": token}])
    assert error["code"] == "bad_token"


NESTED = "[" * 50_000 + "]" * 50_000


async def test_absurdly_nested_json_gets_a_clear_error_everywhere(live: Live) -> None:
    """``[[[[…]]]]`` used to raise RecursionError (not a ValueError): a 500 on the login
    route before any check, and a socket closed without an error frame."""
    async with live.http.post(
        live.url("/api/v1/auth/login"),
        data=NESTED,
        headers={"Content-Type": "application/json"},
    ) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == "invalid_input"
    error = await _webchat_error(live, [NESTED])
    assert error["code"] == "bad_frame"
    anna, _conversation_id = await _conversation_for(live, "anna")
    await anna.ws.send(NESTED)
    assert (await anna.expect("error"))["code"] == "bad_frame"
    assert (await anna.command("ping"))["type"] == "pong"


async def test_a_lone_surrogate_in_a_visitors_text_is_kept_as_a_replacement_character(
    live: Live,
) -> None:
    """``"\\ud800"`` is valid JSON but no character; it used to fail the store for ever
    while the widget resent it. Now the message is stored with U+FFFD in its place (the
    pair after it stays one emoji)."""
    customer = await live.customer()
    await customer.hello()
    await customer.ws.send(
        '{"type": "message", "text": "a\\ud800b \\ud83d\\ude00", "client_id": "s1"}'
    )
    await customer.expect("ack")
    await live.add_operator("sveta", role=Role.SUPERVISOR)
    token = await live.token("sveta")
    _, body = await live.api("GET", "/api/v1/conversations", token)
    (conversation,) = body["conversations"]
    assert await _message_texts(live, token, conversation["id"]) == ["a\ufffdb 😀"]
