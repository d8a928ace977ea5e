"""Webhook authentication (locally, before parsing) and the shape checks."""

from __future__ import annotations

import json

import pytest

from channels.whatsapp import WhatsAppAdapter
from channels.whatsapp.webhook import sign
from inbox.domain.channel_io import WebhookRejected, WebhookReply, WebhookRequest
from inbox.domain.content import Text
from tests.channels.whatsapp.support import (
    APP_SECRET,
    encode,
    make_channel,
    own,
    shared,
    signed_post,
)

CHANNEL = make_channel()


async def rejected(adapter: WhatsAppAdapter, request: WebhookRequest) -> WebhookRejected:
    with pytest.raises(WebhookRejected) as caught:
        await adapter.handle_webhook(CHANNEL, request)
    return caught.value


def test_sign_reproduces_metas_test_vector() -> None:
    vector = shared("whatsapp_signature_test_vector.json")
    body = vector["raw_body"].encode("ascii")
    assert sign(body, vector["app_secret"]) == vector["header_X-Hub-Signature-256"]


async def test_the_test_vector_is_accepted_on_its_raw_bytes(adapter: WhatsAppAdapter) -> None:
    vector = shared("whatsapp_signature_test_vector.json")
    assert vector["app_secret"] == APP_SECRET
    request = WebhookRequest(
        "POST",
        {"x-hub-signature-256": vector["header_X-Hub-Signature-256"]},
        {},
        vector["raw_body"].encode("ascii"),
    )
    batch = await adapter.handle_webhook(CHANNEL, request)
    assert [m.parts for m in batch.messages] == [(Text("Привет, где мой заказ?"),)]
    assert batch.reply == WebhookReply()  # 200 {"ok":true}, sent by the core after storing


async def test_a_signature_over_re_encoded_json_is_refused(adapter: WhatsAppAdapter) -> None:
    # The same JSON re-serialised with raw UTF-8 has other bytes: the signature must not fit.
    vector = shared("whatsapp_signature_test_vector.json")
    reencoded = json.dumps(json.loads(vector["raw_body"]), ensure_ascii=False).encode()
    request = WebhookRequest(
        "POST", {"x-hub-signature-256": vector["header_X-Hub-Signature-256"]}, {}, reencoded
    )
    assert (await rejected(adapter, request)).status == 403


async def test_missing_signature_is_401(adapter: WhatsAppAdapter) -> None:
    body = encode(shared("whatsapp_webhook_message_text.json"))
    error = await rejected(adapter, WebhookRequest("POST", {}, {}, body))
    assert (error.status, error.code) == (401, "unauthorized")


@pytest.mark.parametrize(
    "header",
    [
        "sha256=" + "0" * 64,
        "sha256=nothex",
        "sha1=" + "0" * 40,
        "garbage",
        sign(b"another body", APP_SECRET),
        sign(b"", "another secret"),
    ],
)
async def test_wrong_signature_is_403(adapter: WhatsAppAdapter, header: str) -> None:
    body = encode(shared("whatsapp_webhook_message_text.json"))
    error = await rejected(
        adapter, WebhookRequest("POST", {"x-hub-signature-256": header}, {}, body)
    )
    assert (error.status, error.code) == (403, "forbidden")


async def test_a_body_signed_with_another_secret_is_403(adapter: WhatsAppAdapter) -> None:
    body = encode(shared("whatsapp_webhook_message_text.json"))
    error = await rejected(adapter, signed_post(body, secret="not the app secret"))
    assert error.status == 403


async def test_a_channel_without_app_secret_accepts_nothing(adapter: WhatsAppAdapter) -> None:
    body = encode(shared("whatsapp_webhook_message_text.json"))
    channel = make_channel(app_secret="")
    with pytest.raises(WebhookRejected) as caught:
        await adapter.handle_webhook(channel, signed_post(body, secret=""))
    assert caught.value.status == 403


async def test_signed_but_not_json_is_400_without_the_body(adapter: WhatsAppAdapter) -> None:
    body = b"card 4111 1111 1111 1111 {"
    error = await rejected(adapter, signed_post(body))
    assert (error.status, error.code) == (400, "bad_request")
    assert "4111" not in error.message


async def test_signed_but_not_whatsapps_shape_is_400(adapter: WhatsAppAdapter) -> None:
    body = encode({"object": "page", "entry": [{"secret": "4111"}]})
    error = await rejected(adapter, signed_post(body))
    assert (error.status, error.code) == (400, "bad_request")
    assert "4111" not in error.message


async def test_unknown_fields_are_accepted(adapter: WhatsAppAdapter) -> None:
    body = encode(own("message_text_extra_fields.json"))
    batch = await adapter.handle_webhook(CHANNEL, signed_post(body))
    assert [m.parts for m in batch.messages] == [(Text("Hello"),)]


async def test_statuses_come_back_in_the_batch(adapter: WhatsAppAdapter) -> None:
    body = encode(shared("whatsapp_webhook_status_read.json"))
    batch = await adapter.handle_webhook(CHANNEL, signed_post(body))
    assert [(s.external_id, s.status.value) for s in batch.statuses] == [("wamid.xyzxyz", "read")]


# --------------------------------------------------------------------------- verification GET


async def test_verification_answers_the_bare_challenge(adapter: WhatsAppAdapter) -> None:
    fixture = shared("whatsapp_webhook_verify_get.json")
    batch = await adapter.handle_webhook(CHANNEL, WebhookRequest("GET", {}, fixture["query"], b""))
    assert batch.messages == ()
    assert batch.reply.status == fixture["expected_response"]["status"]
    assert batch.reply.body == fixture["expected_response"]["body"].encode()
    assert batch.reply.content_type == "text/plain"


@pytest.mark.parametrize(
    "query",
    [
        {"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": "wrong"},
        {"hub.mode": "unsubscribe", "hub.challenge": "1", "hub.verify_token": "vibecoding"},
        {"hub.challenge": "1"},
        {},
    ],
)
async def test_verification_with_a_wrong_token_is_403(
    adapter: WhatsAppAdapter, query: dict[str, str]
) -> None:
    error = await rejected(adapter, WebhookRequest("GET", {}, query, b""))
    assert error.status == 403


async def test_verification_without_a_challenge_is_400(adapter: WhatsAppAdapter) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": "vibecoding"}
    error = await rejected(adapter, WebhookRequest("GET", {}, query, b""))
    assert error.status == 400


async def test_a_channel_without_verify_token_verifies_nothing(adapter: WhatsAppAdapter) -> None:
    query = {"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": ""}
    with pytest.raises(WebhookRejected) as caught:
        await adapter.handle_webhook(
            make_channel(verify_token=""), WebhookRequest("GET", {}, query, b"")
        )
    assert caught.value.status == 403


async def test_other_methods_are_refused(adapter: WhatsAppAdapter) -> None:
    error = await rejected(adapter, WebhookRequest("PUT", {}, {}, b""))
    assert error.status == 405


@pytest.mark.parametrize(
    "body", [b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe not utf-8", b'{"object": "x"'], ids=str
)
async def test_a_rightly_signed_hostile_body_is_a_400(
    adapter: WhatsAppAdapter, body: bytes
) -> None:
    """Signed with the app secret, so it passes the signature check; then refused as bad
    JSON (absurd nesting used to raise RecursionError: a 500)."""
    error = await rejected(adapter, signed_post(body))
    assert error.status == 400
