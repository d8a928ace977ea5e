"""Client frame parsing for /ws/operator."""

from __future__ import annotations

import json

import pytest

from operator_ws.frames import MAX_FRAME_BYTES, FrameError, parse_frame


def test_a_valid_command() -> None:
    cmd = parse_frame(
        json.dumps(
            {
                "type": "message.send",
                "request_id": "r1",
                "conversation_id": "c",
                "text": "hi",
                "client_id": "k",
                "extra": 1,
            }
        )
    )
    assert cmd.type == "message.send"
    assert cmd.request_id == "r1"
    assert cmd.text("text") == "hi"
    assert "extra" not in cmd.fields


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "bad_frame"),
        ("[1, 2]", "bad_frame"),
        ('{"no": "type"}', "bad_frame"),
        ('{"type": 5}', "bad_frame"),
        ('{"type": "launch.rockets"}', "unknown_type"),
        ('{"type": "message.send", "conversation_id": "c", "text": "x"}', "bad_frame"),
        (
            '{"type": "message.send", "conversation_id": 1, "text": "x", "client_id": "k"}',
            "bad_frame",
        ),
        ('{"type": "auth", "token": "t", "last_seq": true}', "bad_frame"),
        ('{"type": "ping", "request_id": 7}', "bad_frame"),
        ('{"type": "ping", "pad": "' + "x" * MAX_FRAME_BYTES + '"}', "too_large"),
    ],
)
def test_bad_frames_get_a_code(raw: str, code: str) -> None:
    with pytest.raises(FrameError) as info:
        parse_frame(raw)
    assert info.value.code == code


def test_the_request_id_is_echoed_in_errors_when_readable() -> None:
    with pytest.raises(FrameError) as info:
        parse_frame('{"type": "nope", "request_id": "r9"}')
    assert info.value.request_id == "r9"
