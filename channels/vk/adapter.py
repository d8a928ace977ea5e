"""The VK channel: Callback API in, ``messages.send`` out (docs/channels/vk.md).

Implements :class:`inbox.ports.ChannelAdapter`. It moves bytes and converts; it never
touches storage. Conversion is in :mod:`channels.vk.converter` (pure), authentication of
the Callback API in :mod:`channels.vk.webhook`, the API in :mod:`channels.vk.client`
(vk_api in the threads of one bounded pool the adapter owns).
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from channels.vk.client import VkClient
from channels.vk.converter import SendPlan, build_sends, convert_event, send_params
from channels.vk.errors import from_send_error
from channels.vk.options import VkOptions, parse_options
from channels.vk.outbound import Upload
from channels.vk.webhook import (
    OK_REPLY,
    authenticate,
    check_method,
    confirmation_reply,
    webhook_options,
)
from inbox.domain.channel_errors import PermanentFailure, RetryLater
from inbox.domain.channel_io import MediaBlob, WebhookBatch, WebhookRequest
from inbox.domain.channels import Channel
from inbox.domain.content import MediaRef
from inbox.domain.errors import InvalidInput, NotFound
from inbox.domain.ids import ChannelId
from inbox.domain.messages import OutboundMessage
from inbox.ports import AdapterDeps, SendReceipt

__all__ = ["API_THREADS", "MAX_DOWNLOAD_BYTES", "VkAdapter"]

logger = logging.getLogger(__name__)

#: Customers' files larger than this are not downloaded (VK allows 200 MB documents; the
#: console shows what a shop needs to read, and the core keeps every download).
MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024
#: Threads for vk_api's blocking calls, shared by every VK channel: at most this many API
#: calls, uploads and downloads run at once; more wait their turn in the pool's queue.
API_THREADS = 8


class VkAdapter:
    """One adapter for every VK channel; a :class:`VkClient` per channel is made on first
    use and kept (re-made when the channel's token or ``api_base`` changes). Every client
    runs vk_api in one ``ThreadPoolExecutor`` of ``api_threads`` threads that the adapter
    owns: made on first use, shut down by :meth:`close`."""

    kind = "vk"

    def __init__(
        self,
        deps: AdapterDeps,
        *,
        max_download_bytes: int = MAX_DOWNLOAD_BYTES,
        api_threads: int = API_THREADS,
    ) -> None:
        self._media = deps.media
        self._max_download = max_download_bytes
        self._api_threads = api_threads
        self._executor: ThreadPoolExecutor | None = None
        self._clients: dict[ChannelId, tuple[VkOptions, VkClient]] = {}

    # ------------------------------------------------------------------ inbound

    async def handle_webhook(self, channel: Channel, request: WebhookRequest) -> WebhookBatch:
        """Authenticate (:func:`channels.vk.webhook.authenticate`: the secret key inside
        the body, checked in constant time) and convert one Callback API notification; a
        ``confirmation`` event is answered with the bare confirmation string."""
        check_method(request)
        opts = webhook_options(channel.options)
        callback = authenticate(request.body, opts)
        if callback.type == "confirmation":
            return WebhookBatch(reply=confirmation_reply(opts))
        converted = convert_event(channel.id, callback, group_id=opts.group_id)
        return WebhookBatch(
            messages=converted.messages, statuses=converted.statuses, reply=OK_REPLY
        )

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
        """Close every client's HTTP session and shut the thread pool down (the
        composition root calls this on exit). Calls still queued in the pool are cancelled;
        running ones finish in their threads without being waited for. A later call makes
        a new pool."""
        for _, client in self._clients.values():
            client.close()
        self._clients.clear()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def _client(self, channel: Channel, opts: VkOptions) -> VkClient:
        cached = self._clients.get(channel.id)
        if cached is not None:
            known, client = cached
            if known == opts:
                return client
            client.close()
        client = VkClient(token=opts.token, executor=self._pool(), api_base=opts.api_base)
        self._clients[channel.id] = (opts, client)
        return client

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=self._api_threads, thread_name_prefix="vk-api"
            )
        return self._executor


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
            raise from_send_error(error)
        cmid = item.get("conversation_message_id")
        if isinstance(cmid, int):
            return f"{peer_id}:{cmid}"
        return f"{peer_id}:id{item.get('message_id')}"
    if isinstance(response, int):
        return f"{peer_id}:id{response}"
    raise PermanentFailure("VK answered the send in an unknown shape.")
