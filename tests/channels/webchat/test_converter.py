"""The web chat converter and options: pure functions, no socket."""

from __future__ import annotations

import json
from typing import Any

import pytest

from channels.webchat.converter import (
    MAX_CLIENT_ID,
    MAX_FRAME_BYTES,
    MAX_NAME,
    ChatLine,
    Hello,
    decode_frame,
    inbound_message,
    parse_hello,
    parse_message,
)
from channels.webchat.errors import FrameError, bad_token
from channels.webchat.options import OPTIONS, SECRETS, WebchatOptions
from channels.webchat.spec import SPEC
from inbox.domain.content import Text
from inbox.domain.errors import InvalidInput
from inbox.domain.ids import ChannelId


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("x" * (MAX_FRAME_BYTES + 1), "too_large"),
        ("{", "bad_frame"),
        ("[]", "bad_frame"),
        ('{"type": 1}', "bad_frame"),
    ],
)
def test_decode_frame_refuses(raw: str, code: str) -> None:
    with pytest.raises(FrameError) as err:
        decode_frame(raw)
    assert err.value.frame()["code"] == code
    assert err.value.frame()["type"] == "error"


def test_decode_frame() -> None:
    assert decode_frame(json.dumps({"type": "ping"})) == {"type": "ping"}


def test_parse_hello() -> None:
    assert parse_hello({"type": "hello"}) == Hello(None, 0, "")
    name = "  " + "N" * (MAX_NAME + 5) + " "
    assert parse_hello({"visitor_token": "t", "last_seq": 4, "name": name}) == Hello(
        "t", 4, "N" * MAX_NAME
    )


@pytest.mark.parametrize(
    "frame",
    [{"visitor_token": 5}, {"last_seq": -1}, {"last_seq": True}, {"last_seq": "1"}, {"name": 3}],
)
def test_parse_hello_refuses(frame: dict[str, Any]) -> None:
    with pytest.raises(FrameError) as err:
        parse_hello(frame)
    assert err.value.code == "bad_frame"


def test_parse_message() -> None:
    assert parse_message({"text": "hi", "client_id": "c"}) == ChatLine("hi", "c")
    with pytest.raises(FrameError) as err:
        parse_message({"text": "hi", "client_id": "c" * (MAX_CLIENT_ID + 1)})
    assert err.value.code == "invalid_input"
    with pytest.raises(FrameError) as err:
        parse_message({"text": 5, "client_id": "c1"})
    assert err.value.frame() == {
        "type": "error",
        "code": "bad_frame",
        "message": "text must be a string",
        "client_id": "c1",
    }


def test_inbound_message_scopes_the_client_id_by_visitor() -> None:
    visitor = "v" + "ab12" * 8
    inbound = inbound_message(ChannelId("ch"), visitor, "", ChatLine("hi", "c1"))
    assert inbound.external_id == f"{visitor}:c1"
    assert inbound.thread_key == visitor
    assert inbound.sender.external_user_id == visitor
    assert inbound.sender.display_name == "Visitor AB12"
    assert inbound.parts == (Text("hi"),)
    assert inbound_message(ChannelId("ch"), visitor, "Vera", ChatLine("hi", "c1")).sender == (
        inbound.sender.__class__(external_user_id=visitor, display_name="Vera")
    )


def test_bad_token_frame() -> None:
    assert bad_token()["code"] == "bad_token"


def test_options() -> None:
    assert set(SECRETS) <= set(OPTIONS)
    assert set(SECRETS) == SPEC.secrets  # the spec masks what options.py calls secret
    assert SPEC.options == set(OPTIONS) - {"visitor_secret"}  # generated, not given
    options = WebchatOptions.parse(
        {
            "visitor_secret": "hush-123",
            "origin": " https://a.example/, ,https://b.example",
            "title": "T",
        }
    )
    assert options.origins == ("https://a.example", "https://b.example")
    assert options.title == "T"
    assert options.visitor_secret == "hush-123"
    assert "hush-123" not in repr(options)
    assert options.allows_origin("https://a.example/")
    assert options.allows_origin("https://b.example")
    assert not options.allows_origin("https://evil.example")
    assert not options.allows_origin(None)
    anyone = WebchatOptions.parse({"visitor_secret": "s"})
    assert anyone.allows_origin(None)
    assert anyone.allows_origin("https://x.example")
    with pytest.raises(InvalidInput):
        WebchatOptions.parse({"origin": "https://a.example"})
