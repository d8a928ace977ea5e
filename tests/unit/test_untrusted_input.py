"""Hostile input at the edges (inbox.domain.untrusted and its users): absurdly nested
JSON, bytes that are not UTF-8 in secret headers, lone surrogates, a WhatsApp change
without its metadata. Each gets a clear refusal (a 4xx, ``False``, ``InvalidInput``) or is
made storable; none raises anything else."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.telegram.webhook import SECRET_HEADER, check_secret, read_json
from channels.viber.webhook import SIGNATURE_HEADER as VIBER_SIGNATURE
from channels.viber.webhook import check_signature as check_viber
from channels.viber.webhook import read_callback
from channels.vk.webhook import parse_callback
from channels.webchat.converter import decode_frame
from channels.webchat.errors import FrameError
from channels.whatsapp.inbound import parse_webhook
from channels.whatsapp.webhook import SIGNATURE_HEADER as WHATSAPP_SIGNATURE
from channels.whatsapp.webhook import check_signature as check_whatsapp
from channels.whatsapp.wire import WebhookShapeError
from inbox.domain.channel_io import WebhookRejected, WebhookRequest
from inbox.domain.content import validate_text
from inbox.domain.errors import InvalidInput
from inbox.domain.ids import ChannelId
from inbox.domain.untrusted import MAX_DEPTH, BadJson, parse_json, same_secret
from operator_ws.frames import FrameError as OperatorFrameError
from operator_ws.frames import parse_frame
from payments.providers.stripe import signature_matches as stripe_signature_matches
from webhooks.signing import verify as verify_outgoing

NESTED = b"[" * 100_000 + b"]" * 100_000
#: What aiohttp hands over for a header whose bytes are not UTF-8 (surrogate escapes).
NOT_UTF8 = b"\xff\xfe secret".decode("utf-8", "surrogateescape")
CHANNEL = ChannelId("ch-1")


def _request(body: bytes, headers: dict[str, str] | None = None) -> WebhookRequest:
    return WebhookRequest("POST", headers or {}, {}, body)


def test_absurd_nesting_is_bad_json_not_a_recursion_error() -> None:
    with pytest.raises(BadJson, match="nested"):
        parse_json(NESTED)
    with pytest.raises(BadJson, match="nested"):
        parse_json("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert parse_json("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    # Brackets inside strings are not nesting.
    assert parse_json(json.dumps({"text": "[" * 500})) == {"text": "[" * 500}


def test_bad_utf8_and_bad_json_are_bad_json() -> None:
    with pytest.raises(BadJson, match="UTF-8"):
        parse_json(b'{"text": "\xff"}')
    with pytest.raises(BadJson, match="valid JSON"):
        parse_json(b"{'text': 1}")


def test_lone_surrogates_become_replacement_characters_and_pairs_stay_characters() -> None:
    value = parse_json(r'{"a\ud800": ["x\udc00y", {"k": "\ud83d\ude00 ok"}], "n": 1}')
    assert value == {"a\ufffd": ["x\ufffdy", {"k": "😀 ok"}], "n": 1}
    assert parse_json(r'"\udfff"') == "\ufffd"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_parse_or_raise_bad_json_and_never_leave_a_surrogate(raw: bytes) -> None:
    try:
        value = parse_json(raw)
    except BadJson:
        return
    json.dumps(value).encode("utf-8")  # storable: no lone surrogate anywhere


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.text() | st.integers() | st.none(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=20,
    )
)
def test_json_with_escaped_surrogates_round_trips_to_storable_values(value: Any) -> None:
    parsed = parse_json(json.dumps(value))  # ensure_ascii escapes everything, pairs too
    json.dumps(parsed, ensure_ascii=False).encode("utf-8")


def test_validate_text_refuses_a_lone_surrogate() -> None:
    with pytest.raises(InvalidInput, match="surrogate"):
        validate_text("a\ud800b")
    assert validate_text("emoji 😀 and кириллица") == "emoji 😀 and кириллица"


def test_secrets_with_bytes_that_are_not_utf8_are_wrong_not_errors() -> None:
    assert not same_secret(NOT_UTF8, "secret")
    assert not same_secret("\ud800", "secret")
    assert not same_secret("secret", "")
    assert same_secret("secret", "secret")
    with pytest.raises(WebhookRejected) as telegram:
        check_secret({SECRET_HEADER: NOT_UTF8}, "expected-secret")
    assert telegram.value.status == 403
    with pytest.raises(WebhookRejected) as viber:
        check_viber({VIBER_SIGNATURE: NOT_UTF8}, b"{}", "token")
    assert viber.value.status == 403
    with pytest.raises(WebhookRejected) as whatsapp:
        check_whatsapp({WHATSAPP_SIGNATURE: "sha256=" + NOT_UTF8}, b"{}", "app-secret")
    assert whatsapp.value.status == 403
    assert not stripe_signature_matches(f"t=1,v1={NOT_UTF8}", b"{}", "whsec")
    assert not verify_outgoing("secret", f"t=1,v1={NOT_UTF8}", b"{}")


@pytest.mark.parametrize("body", [NESTED, b"\xff\xfe", b'{"a": "\\ud800"'])
def test_webhook_parsers_answer_400_to_hostile_bodies(body: bytes) -> None:
    with pytest.raises(WebhookRejected) as telegram:
        read_json(_request(body))
    assert telegram.value.status == 400
    with pytest.raises(WebhookRejected) as vk:
        parse_callback(body)
    assert vk.value.status == 400
    from channels.viber.webhook import sign as viber_sign

    with pytest.raises(WebhookRejected) as viber:
        read_callback(CHANNEL, _request(body, {VIBER_SIGNATURE: viber_sign("t", body)}), "t")
    assert viber.value.status == 400


def test_sockets_answer_an_error_to_hostile_frames() -> None:
    with pytest.raises(FrameError) as webchat:
        decode_frame(NESTED.decode())
    assert webchat.value.code == "bad_frame"
    with pytest.raises(OperatorFrameError) as operator:
        parse_frame("[" * 5000 + "]" * 5000)
    assert operator.value.code == "bad_frame"


def _whatsapp(value: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
    }


_MESSAGE = {"from": "79001234567", "id": "wamid.1", "timestamp": "1700000000", "type": "text"}
_METADATA = {"display_phone_number": "15550000000", "phone_number_id": "111"}


def test_a_whatsapp_change_without_metadata_or_with_a_list_for_a_text_is_refused() -> None:
    ok = parse_webhook(
        _whatsapp({"metadata": _METADATA, "messages": [{**_MESSAGE, "text": {"body": "hi"}}]}),
        CHANNEL,
    )
    assert len(ok.messages) == 1
    with pytest.raises(WebhookShapeError, match="metadata"):
        parse_webhook(_whatsapp({"messages": [{**_MESSAGE, "text": {"body": "hi"}}]}), CHANNEL)
    with pytest.raises(WebhookShapeError, match=r"text\.body"):
        parse_webhook(
            _whatsapp(
                {"metadata": _METADATA, "messages": [{**_MESSAGE, "text": {"body": ["hi"]}}]}
            ),
            CHANNEL,
        )
