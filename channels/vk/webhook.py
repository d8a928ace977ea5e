"""Authenticating and parsing VK's Callback API calls (channel-contracts.md §2.1). No network.

The secret key sits inside the JSON body, so the body is parsed first (400 when it is not
JSON or not VK's envelope), then checked locally: ``group_id`` must be the channel's and
``secret`` must equal the option (constant-time), else 403; a missing ``secret`` is 401. A
``confirmation`` event may come without a secret (communities set up before secret keys
existed): it is answered when the group matches (and the secret, if present, too) with the
bare confirmation string. Every other accepted event is answered with :data:`OK_REPLY`.
"""

from __future__ import annotations

from collections.abc import Mapping

from channels.vk.options import VkOptions, parse_options
from channels.vk.wire import Callback, bad_shape, opt_int
from inbox.domain.channel_io import WebhookRejected, WebhookReply, WebhookRequest
from inbox.domain.errors import InvalidInput
from inbox.domain.untrusted import BadJson, parse_json, same_secret

__all__ = [
    "OK_REPLY",
    "authenticate",
    "check_method",
    "confirmation_reply",
    "parse_callback",
    "webhook_options",
]

#: VK wants exactly ``ok`` (no BOM, no JSON) or it re-sends the event (channel-contracts
#: §2.1: a BOM before "ok" caused duplicates in simpleVK-php#13).
OK_REPLY = WebhookReply(status=200, body=b"ok", content_type="text/plain")


def webhook_options(options: Mapping[str, str]) -> VkOptions:
    """The channel's options for checking a call; a channel that is not configured
    refuses every call (403)."""
    try:
        return parse_options(options)
    except InvalidInput:
        raise WebhookRejected(
            403, "forbidden", "this VK channel is not configured (see docs/channels/vk.md)"
        ) from None


def parse_callback(body: bytes) -> Callback:
    """Parse the raw body. Raises :class:`WebhookRejected` 400 when it is not JSON or not
    the envelope's shape."""
    try:
        raw = parse_json(body)
    except BadJson:
        raise bad_shape("the body is not JSON") from None
    if not isinstance(raw, dict):
        raise bad_shape("the body is not a JSON object")
    kind = raw.get("type")
    if not isinstance(kind, str) or not kind:
        raise bad_shape("no event type")
    group_id = opt_int(raw, "group_id")
    secret = raw.get("secret")
    if secret is not None and not isinstance(secret, str):
        raise bad_shape("secret is not a string")
    event_id = raw.get("event_id", "")
    if not isinstance(event_id, str):
        raise bad_shape("event_id is not a string")
    obj = raw.get("object", {})
    if not isinstance(obj, dict):
        raise bad_shape("object is not a JSON object")
    return Callback(kind, group_id, event_id, secret, obj)


def check_method(request: WebhookRequest) -> None:
    """VK only POSTs; anything else is refused (400) before the channel's options are read."""
    if request.method != "POST":
        raise WebhookRejected(400, "bad_request", "VK sends notifications with POST")


def authenticate(body: bytes, opts: VkOptions) -> Callback:
    """The parsed notification, once it is known to come from VK for this community.
    Raises :class:`WebhookRejected` (400 not VK's shape, 403 another community or a wrong
    secret, 401 no secret on an event other than ``confirmation``)."""
    callback = parse_callback(body)
    if callback.group_id is None:
        raise bad_shape("no group_id")
    if callback.group_id != opts.group_id:
        raise WebhookRejected(403, "forbidden", "the notification is for another community")
    if callback.secret is not None and not _same(callback.secret, opts.secret):
        raise WebhookRejected(403, "forbidden", "wrong secret key")
    if callback.type != "confirmation" and callback.secret is None:
        raise WebhookRejected(401, "unauthorized", "the notification has no secret key")
    return callback


def confirmation_reply(opts: VkOptions) -> WebhookReply:
    """The answer to a ``confirmation`` event: the bare string VK showed the owner."""
    return WebhookReply(200, opts.confirmation.encode(), content_type="text/plain")


def _same(given: str, expected: str) -> bool:
    return same_secret(given, expected)
