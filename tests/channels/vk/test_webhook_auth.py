"""Webhook authentication (local, no network) and shape checks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from channels.vk.adapter import VkAdapter
from inbox.domain.channel_io import WebhookRejected, WebhookRequest
from tests.channels.vk.conftest import CONFIRMATION, SECRET, make_channel, post, shared


async def rejected(adapter: VkAdapter, request: WebhookRequest, **options: str) -> WebhookRejected:
    with pytest.raises(WebhookRejected) as caught:
        await adapter.handle_webhook(make_channel(**options), request)
    return caught.value


async def test_valid_secret_is_accepted(adapter: VkAdapter) -> None:
    batch = await adapter.handle_webhook(
        make_channel(), post(shared("vk_callback_message_new_text.json"))
    )
    assert len(batch.messages) == 1
    assert batch.reply.body == b"ok"


async def test_wrong_secret_is_forbidden(adapter: VkAdapter) -> None:
    payload = shared("vk_callback_message_new_text.json")
    payload["secret"] = "guess"
    error = await rejected(adapter, post(payload))
    assert (error.status, error.code) == (403, "forbidden")
    assert "guess" not in error.message
    assert SECRET not in error.message


async def test_missing_secret_is_unauthorized(adapter: VkAdapter) -> None:
    payload = shared("vk_callback_message_new_text.json")
    del payload["secret"]
    error = await rejected(adapter, post(payload))
    assert (error.status, error.code) == (401, "unauthorized")


async def test_another_community_is_forbidden(adapter: VkAdapter) -> None:
    payload = shared("vk_callback_message_new_text.json")
    payload["group_id"] = 999
    error = await rejected(adapter, post(payload))
    assert error.status == 403


async def test_secret_of_another_channel_is_forbidden(adapter: VkAdapter) -> None:
    error = await rejected(
        adapter, post(shared("vk_callback_message_new_text.json")), secret="other"
    )
    assert error.status == 403


async def test_confirmation_without_secret_answers_the_bare_string(adapter: VkAdapter) -> None:
    batch = await adapter.handle_webhook(
        make_channel(), post(shared("vk_callback_confirmation.json"))
    )
    assert batch.messages == ()
    assert batch.reply.status == 200
    assert batch.reply.body == CONFIRMATION.encode()
    assert batch.reply.content_type == "text/plain"


async def test_confirmation_with_secret(adapter: VkAdapter) -> None:
    request = post(shared("vk_callback_confirmation_with_secret.json"))
    assert (await adapter.handle_webhook(make_channel(), request)).reply.body == b"693d0ba9"
    payload = shared("vk_callback_confirmation_with_secret.json")
    payload["secret"] = "wrong"
    assert (await rejected(adapter, post(payload))).status == 403


async def test_confirmation_for_another_community_is_forbidden(adapter: VkAdapter) -> None:
    payload = shared("vk_callback_confirmation.json")
    payload["group_id"] = 1
    error = await rejected(adapter, post(payload))
    assert error.status == 403
    assert CONFIRMATION not in error.message


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (b"not json at all", "not JSON"),
        (b"\xff\xfe\x00", "not JSON"),
        (b"[1, 2, 3]", "not a JSON object"),
        (b'{"group_id": 123456, "secret": "secret_123456"}', "no event type"),
        (b'{"type": "message_new", "secret": "secret_123456"}', "group_id"),
        (b'{"type": "message_new", "group_id": "abc", "secret": "s"}', "group_id"),
        (b'{"type": "message_new", "group_id": 123456, "secret": 5}', "secret"),
        (b'{"type": "message_new", "group_id": 123456, "secret": "s", "object": []}', "object"),
    ],
)
async def test_not_vks_shape_is_bad_request(adapter: VkAdapter, body: bytes, what: str) -> None:
    error = await rejected(adapter, post(body))
    assert (error.status, error.code) == (400, "bad_request")
    assert what in error.message


async def test_bad_message_shape_after_auth_is_bad_request_without_echo(adapter: VkAdapter) -> None:
    payload: dict[str, Any] = shared("vk_callback_message_new_text.json")
    payload["object"]["message"]["peer_id"] = "Здравствуйте-secret-text"
    error = await rejected(adapter, post(payload))
    assert error.status == 400
    assert "Здравствуйте" not in error.message


async def test_unknown_fields_are_accepted(adapter: VkAdapter) -> None:
    payload: dict[str, Any] = shared("vk_callback_message_new_text.json")
    payload["brand_new_field"] = {"x": 1}
    payload["object"]["message"]["is_expired"] = True
    payload["object"]["message"]["attachments"] = []
    payload["object"]["something"] = [1]
    batch = await adapter.handle_webhook(make_channel(), post(payload))
    assert len(batch.messages) == 1


async def test_get_is_bad_request(adapter: VkAdapter) -> None:
    request = WebhookRequest("GET", {}, {}, b"")
    assert (await rejected(adapter, request)).status == 400


async def test_unconfigured_channel_is_forbidden(adapter: VkAdapter) -> None:
    error = await rejected(adapter, post(shared("vk_callback_message_new_text.json")), secret="")
    assert error.status == 403


async def test_retry_header_does_not_matter(adapter: VkAdapter) -> None:
    payload = shared("vk_callback_message_new_text.json")
    first = await adapter.handle_webhook(make_channel(), post(payload))
    retry = await adapter.handle_webhook(
        make_channel(), post(json.dumps(payload).encode(), **{"X-Retry-Counter": "2"})
    )
    assert first.messages == retry.messages
