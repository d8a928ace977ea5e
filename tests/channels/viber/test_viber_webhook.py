"""``handle_webhook``: the signature first, then the shape; never the body in an error."""

from __future__ import annotations

import json

import pytest

from channels.viber import ViberAdapter
from channels.viber.webhook import sign
from inbox.domain.channel_io import WebhookRejected, WebhookRequest
from inbox.domain.content import Text
from inbox.domain.messages import DeliveryStatus
from tests.channels.viber.helpers import TOKEN, load, make_channel, signed_request


async def rejected(
    adapter: ViberAdapter, request: WebhookRequest, **options: str
) -> WebhookRejected:
    channel = make_channel(options or {"token": TOKEN})
    with pytest.raises(WebhookRejected) as caught:
        await adapter.handle_webhook(channel, request)
    return caught.value


async def test_valid_signature_is_accepted_and_acknowledged(adapter: ViberAdapter) -> None:
    batch = await adapter.handle_webhook(
        make_channel(), signed_request(load("callback_message_text.json"))
    )
    (message,) = batch.messages
    assert message.parts == (Text(load("callback_message_text.json")["message"]["text"]),)
    assert batch.reply.status == 200
    assert batch.reply.body == b"{}"
    assert batch.reply.content_type == "application/json"


async def test_signature_in_upper_case_hex_is_accepted(adapter: ViberAdapter) -> None:
    body = json.dumps(load("callback_message_text.json")).encode()
    request = WebhookRequest(
        "POST", {"x-viber-content-signature": sign(TOKEN, body).upper()}, {}, body
    )
    assert len((await adapter.handle_webhook(make_channel(), request)).messages) == 1


async def test_signature_is_over_the_raw_bytes(adapter: ViberAdapter) -> None:
    # Same JSON, other spacing: the signature of the re-serialised JSON does not count.
    raw = b'{ "event" : "webhook", "timestamp": 1, "message_token": 7 }'
    request = WebhookRequest(
        "POST",
        {"x-viber-content-signature": sign(TOKEN, json.dumps(json.loads(raw)).encode())},
        {},
        raw,
    )
    assert (await rejected(adapter, request)).status == 403
    good = WebhookRequest("POST", {"x-viber-content-signature": sign(TOKEN, raw)}, {}, raw)
    assert (await adapter.handle_webhook(make_channel(), good)).reply.status == 200


async def test_missing_signature_is_401(adapter: ViberAdapter) -> None:
    body = json.dumps(load("callback_message_text.json")).encode()
    error = await rejected(adapter, WebhookRequest("POST", {}, {}, body))
    assert (error.status, error.code) == (401, "unauthorized")


async def test_wrong_signature_is_403(adapter: ViberAdapter) -> None:
    error = await rejected(adapter, signed_request(load("callback_message_text.json"), "other"))
    assert (error.status, error.code) == (403, "forbidden")


async def test_tampered_body_is_403(adapter: ViberAdapter) -> None:
    request = signed_request(load("callback_message_text.json"))
    tampered = WebhookRequest(
        request.method, request.headers, {}, request.body.replace(b"42", b"43")
    )
    assert (await rejected(adapter, tampered)).status == 403


async def test_channel_without_token_refuses_everything(adapter: ViberAdapter) -> None:
    error = await rejected(
        adapter, signed_request(load("callback_message_text.json"), ""), api_base="x"
    )
    assert error.status == 403


async def test_not_json_is_400_without_echoing_the_body(adapter: ViberAdapter) -> None:
    error = await rejected(adapter, signed_request(b"<html>SECRET-BODY</html>"))
    assert (error.status, error.code) == (400, "bad_request")
    assert "SECRET" not in error.message


@pytest.mark.parametrize(
    "payload",
    [
        ["event", "message"],
        {"event": "message", "message_token": 1, "message": {"type": "text", "text": "SECRET"}},
        {"no_event": "SECRET"},
    ],
)
async def test_wrong_shape_is_400_without_echoing_the_body(
    adapter: ViberAdapter, payload: object
) -> None:
    error = await rejected(adapter, signed_request(payload))
    assert (error.status, error.code) == (400, "bad_request")
    assert "SECRET" not in error.message


async def test_get_is_refused(adapter: ViberAdapter) -> None:
    request = signed_request(b"")
    get = WebhookRequest("GET", request.headers, {}, b"")
    assert (await rejected(adapter, get)).status == 405


async def test_unknown_fields_are_accepted(adapter: ViberAdapter) -> None:
    payload = load("callback_message_extra_fields.json")
    payload["brand_new"] = {"nested": [1, 2]}
    batch = await adapter.handle_webhook(make_channel(), signed_request(payload))
    assert len(batch.messages) == 1


async def test_receipts_come_back_as_statuses(adapter: ViberAdapter) -> None:
    batch = await adapter.handle_webhook(make_channel(), signed_request(load("callback_seen.json")))
    assert batch.messages == ()
    assert [(s.external_id, s.status) for s in batch.statuses] == [
        ("5741311803571730001", DeliveryStatus.READ)
    ]


async def test_the_set_webhook_check_is_acknowledged(adapter: ViberAdapter) -> None:
    batch = await adapter.handle_webhook(
        make_channel(), signed_request(load("callback_webhook.json"))
    )
    assert (batch.messages, batch.statuses, batch.reply.status) == ((), (), 200)
