"""The VK channel: Callback API in, ``messages.send`` out (docs/channels/vk.md).

Implements :class:`inbox.ports.ChannelAdapter`. It moves bytes and converts; it never
touches storage. Conversion is in :mod:`channels.vk.converter` (pure), the API in
:mod:`channels.vk.client` (vk_api in a thread).
"""

from __future__ import annotations

import hmac
import logging
import mimetypes
from collections.abc import Mapping
from typing import Any

from channels.vk.client import VkClient
from channels.vk.converter import SendPlan, build_sends, convert_event, send_params
from channels.vk.errors import from_api_error
from channels.vk.options import VkOptions, parse_options
from channels.vk.outbound import Upload
from channels.vk.wire import bad_shape, parse_callback
from inbox.domain.channel_errors import PermanentFailure, RetryLater
from inbox.domain.channel_io import (
    MediaBlob,
    WebhookBatch,
    WebhookRejected,
    WebhookReply,
    WebhookRequest,
)
from inbox.domain.channels import Channel
from inbox.domain.content import MediaRef
from inbox.domain.errors import InvalidInput, NotFound
from inbox.domain.ids import ChannelId
from inbox.domain.messages import OutboundMessage
from inbox.ports import AdapterDeps, SendReceipt

__all__ = ["MAX_DOWNLOAD_BYTES", "VkAdapter"]

logger = logging.getLogger(__name__)

#: Customers' files larger than this are not downloaded (VK allows 200 MB documents; the
#: console shows what a shop needs to read, and the core keeps every download).
MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024

#: VK wants exactly ``ok`` (no BOM, no JSON) or it re-sends the event (channel-contracts
#: §2.1: a BOM before "ok" caused duplicates in simpleVK-php#13).
_OK = WebhookReply(status=200, body=b"ok", content_type="text/plain")


class VkAdapter:
    """One adapter for every VK channel; a :class:`VkClient` per channel is made on first
    use and kept (re-made when the channel's token or ``api_base`` changes)."""

    kind = "vk"

    def __init__(self, deps: AdapterDeps, *, max_download_bytes: int = MAX_DOWNLOAD_BYTES) -> None:
        self._media = deps.media
        self._max_download = max_download_bytes
        self._clients: dict[ChannelId, tuple[VkOptions, VkClient]] = {}

    # ------------------------------------------------------------------ inbound

    async def handle_webhook(self, channel: Channel, request: WebhookRequest) -> WebhookBatch:
        """Authenticate and convert one Callback API notification.

        The secret key sits inside the JSON body, so the body is parsed first (400 when it
        is not JSON or not VK's envelope), then checked locally: ``group_id`` must be the
        channel's and ``secret`` must equal the option (constant-time), else 403; a
        missing ``secret`` is 401. A ``confirmation`` event may come without a secret
        (communities set up before secret keys existed): it is answered when the group
        matches (and the secret, if present, too) with the bare confirmation string."""
        if request.method != "POST":
            raise WebhookRejected(400, "bad_request", "VK sends notifications with POST")
        try:
            opts = parse_options(channel.options)
        except InvalidInput:
            raise WebhookRejected(
                403, "forbidden", "this VK channel is not configured (see docs/channels/vk.md)"
            ) from None
        callback = parse_callback(request.body)
        if callback.group_id is None:
            raise bad_shape("no group_id")
        if callback.group_id != opts.group_id:
            raise WebhookRejected(403, "forbidden", "the notification is for another community")
        if callback.secret is not None and not _same(callback.secret, opts.secret):
            raise WebhookRejected(403, "forbidden", "wrong secret key")
        if callback.type == "confirmation":
            return WebhookBatch(
                reply=WebhookReply(200, opts.confirmation.encode(), content_type="text/plain")
            )
        if callback.secret is None:
            raise WebhookRejected(401, "unauthorized", "the notification has no secret key")
        converted = convert_event(channel.id, callback, group_id=opts.group_id)
        return WebhookBatch(messages=converted.messages, statuses=converted.statuses, reply=_OK)

    # ------------------------------------------------------------------ outbound

    async def send(self, channel: Channel, message: OutboundMessage) -> SendReceipt:
        """Upload the attachments, then one ``messages.send`` per planned VK message.

        A retry (after :class:`RetryLater`, a crash or a timeout) repeats every call with the
        same ``random_id``s, so VK does not deliver a second copy of a message it already
        took; uploads are repeated (an unused upload costs nothing). The receipt carries the
        external id (``"{peer_id}:{conversation_message_id}"``) of the last VK message."""
        client = self._client(channel, _options_for_send(channel))
        plan = build_sends(message)
        external_id: str | None = None
        for send in plan.sends:
            attachments = [await self._upload(client, plan, upload) for upload in send.uploads]
            response = await client.call("messages.send", send_params(plan, send, attachments))
            external_id = _sent_id(plan.peer_id, response)
        return SendReceipt(external_id=external_id)

    async def _upload(self, client: VkClient, plan: SendPlan, upload: Upload) -> str:
        """Upload one file; returns its ``attachment=`` name (``photo1_2_key``)."""
        media = upload.media
        assert media.key is not None  # the planner only uploads files we hold
        try:
            data = await self._media.get(media.key)
        except NotFound:
            raise PermanentFailure("The attached file is no longer on the server.") from None
        filename = _filename(media)
        try:
            if upload.kind == "photo":
                server = await client.call(
                    "photos.getMessagesUploadServer", {"peer_id": plan.peer_id}
                )
                sent = await client.upload(
                    str(server["upload_url"]), "photo", filename, data, media.mime_type
                )
                saved = await client.call(
                    "photos.saveMessagesPhoto",
                    {"photo": sent["photo"], "server": sent["server"], "hash": sent["hash"]},
                )
                return _attachment_name("photo", saved[0])
            server = await client.call(
                "docs.getMessagesUploadServer", {"peer_id": plan.peer_id, "type": upload.kind}
            )
            sent = await client.upload(
                str(server["upload_url"]), "file", filename, data, media.mime_type
            )
            saved = await client.call("docs.save", {"file": sent["file"], "title": filename})
            # 5.199: {"type": "doc"|"audio_message", <type>: {...}}; older: [{...}].
            doc = saved[saved["type"]] if isinstance(saved, dict) else saved[0]
            return _attachment_name("doc", doc)
        except (KeyError, IndexError, TypeError) as exc:
            raise PermanentFailure("VK answered the file upload in an unknown shape.") from exc

    # ------------------------------------------------------------------ media

    async def fetch_media(self, channel: Channel, ref: MediaRef) -> MediaBlob:
        """Download a customer's file by its URL (``provider_ref``). VK's file links need
        no token, so none is sent."""
        if not ref.provider_ref:
            raise PermanentFailure("This file has no VK link to download it from.")
        client = self._client(channel, _options_for_send(channel))
        data, content_type = await client.download(ref.provider_ref, max_bytes=self._max_download)
        mime = ref.mime_type
        if (not mime or mime == "application/octet-stream") and content_type:
            mime = content_type.split(";")[0].strip() or mime
        return MediaBlob(
            data=data, mime_type=mime or "application/octet-stream", filename=ref.filename
        )

    # ------------------------------------------------------------------ set-up

    async def setup(self, channel: Channel, public_url: str | None) -> Mapping[str, str]:
        """Check the options and, with ``groups.getById``, that the token is a working
        community token of ``group_id``. Raises :class:`InvalidInput` otherwise.

        VK's Callback API server is added by the community's owner in the community
        settings (docs/channels/vk.md), so nothing is registered and nothing is returned
        to store."""
        opts = parse_options(channel.options)
        client = self._client(channel, opts)
        try:
            answer = await client.call("groups.getById")
        except PermanentFailure as exc:
            raise InvalidInput(f"VK did not accept the token: {exc.reason}") from exc
        except RetryLater as exc:
            raise InvalidInput(f"Could not check the token with VK: {exc.reason}") from exc
        groups: Any = answer.get("groups") if isinstance(answer, dict) else answer
        ids = {g.get("id") for g in groups or [] if isinstance(g, dict)}
        if opts.group_id not in ids:
            raise InvalidInput(
                f"the token does not belong to community {opts.group_id}; "
                "use a token created in that community's settings"
            )
        if public_url:
            logger.info(
                "VK channel %s: add %s as the Callback API server address in the "
                "community settings",
                channel.id,
                f"{public_url.rstrip('/')}/webhooks/vk/{channel.id}",
            )
        return {}

    async def close(self) -> None:
        """Close every client's HTTP session (the composition root calls this on exit)."""
        for _, client in self._clients.values():
            client.close()
        self._clients.clear()

    def _client(self, channel: Channel, opts: VkOptions) -> VkClient:
        cached = self._clients.get(channel.id)
        if cached is not None:
            known, client = cached
            if known == opts:
                return client
            client.close()
        client = VkClient(token=opts.token, api_base=opts.api_base)
        self._clients[channel.id] = (opts, client)
        return client


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _options_for_send(channel: Channel) -> VkOptions:
    try:
        return parse_options(channel.options)
    except InvalidInput as exc:
        raise PermanentFailure(f"The VK channel is not configured: {exc.message}") from exc


def _filename(media: MediaRef) -> str:
    if media.filename:
        return media.filename
    return "file" + (mimetypes.guess_extension(media.mime_type) or ".bin")


def _attachment_name(kind: str, obj: Mapping[str, Any]) -> str:
    name = f"{kind}{int(obj['owner_id'])}_{int(obj['id'])}"
    access_key = obj.get("access_key")
    return f"{name}_{access_key}" if access_key else name


def _sent_id(peer_id: int, response: Any) -> str:
    """The external id of a sent message from ``messages.send``'s answer: with
    ``peer_ids`` a list of ``{"peer_id", "message_id", "conversation_message_id",
    "error"?}``; a bare message id from a proxy that rewrote the call."""
    if isinstance(response, list):
        item = next(
            (i for i in response if isinstance(i, dict) and i.get("peer_id") == peer_id),
            response[0] if response and isinstance(response[0], dict) else None,
        )
        if item is None:
            raise PermanentFailure("VK answered the send in an unknown shape.")
        error = item.get("error")
        if isinstance(error, dict):
            code = error.get("code", error.get("error_code"))
            text = error.get("description", error.get("error_msg", ""))
            raise from_api_error(code if isinstance(code, int) else 0, str(text))
        cmid = item.get("conversation_message_id")
        if isinstance(cmid, int):
            return f"{peer_id}:{cmid}"
        return f"{peer_id}:id{item.get('message_id')}"
    if isinstance(response, int):
        return f"{peer_id}:id{response}"
    raise PermanentFailure("VK answered the send in an unknown shape.")
