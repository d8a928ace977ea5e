"""``POST /api/v1/requests``: a website form or a call event from the shop's systems
becomes a new conversation on an ``api`` channel, routed like any other (docs/api.md,
"Inbound API"). Here, in the root, because it joins the API channel's converter
(``channels.api``), the contacts use case and routing's queues.

The channel: the request's ``channel_id`` (an ``api`` channel), else the ``api`` channel
its ``queue`` lists (routing then takes it to that queue), else the only ``api`` channel
there is. Idempotent on the request's ``id``: a retry answers 200 with the conversation
the first one created (201).
"""

from __future__ import annotations

from aiohttp import web

from channels.api import KIND as API
from channels.api import ApiRequest, parse_request, to_inbound
from inbox.domain.channels import Channel
from inbox.domain.errors import InvalidInput
from inbox.domain.ids import ChannelId
from inbox.domain.views import conversation_view
from inbox.ports import Tx
from inbox.usecases import Core, cached_channel, ingest_inbound
from inbox.usecases.contact_sync import parse_contact_data, upsert_contact
from operator_ws.rest.common import Caller, authed, json_body
from routing import RoutingTx, parse_settings
from storage.repositories.tx import SqlTx

__all__ = ["RequestRoutes"]

_ADD_ONE = 'add one with: inbox channel add api "Site forms"'


class RequestRoutes:
    def __init__(self, core: Core) -> None:
        self._core = core

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/api/v1/requests", authed(self._core, self.post, scope="requests:write"))]

    async def post(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        """201 ``{"conversation", "contact_id", "message_id", "duplicate": false}``; a
        retry of the same ``id`` answers 200 with ``"duplicate": true``."""
        body = await json_body(request)
        parsed = parse_request(body)
        data = parse_contact_data(parsed.contact)
        channel = await _channel_for(self._core, parsed)
        external_id = f"request:{parsed.request_id}"

        async def earlier(tx: Tx) -> tuple[str, str, dict[str, object]] | None:
            message = await tx.messages.find_by_external(channel.id, external_id)
            if message is None:
                return None
            conversation = await tx.conversations.get(message.conversation_id)
            assert conversation is not None
            return message.id, conversation.contact_id, conversation_view(conversation)

        found = await self._core.store.read(earlier)
        if found is not None:
            return _answer(*found, duplicate=True)
        upserted = await upsert_contact(self._core, caller.operator, data, on_channel=channel.id)
        assert upserted.identity is not None
        inbound = to_inbound(
            parsed, channel.id, upserted.identity.external_user_id, upserted.contact.display_name
        )
        result = await ingest_inbound(self._core, inbound, channel=channel)
        return _answer(
            result.message.id,
            result.conversation.contact_id,
            conversation_view(result.conversation),
            duplicate=result.duplicate,
        )


def _answer(
    message_id: str, contact_id: str, conversation: dict[str, object], *, duplicate: bool
) -> web.Response:
    return web.json_response(
        {
            "conversation": conversation,
            "contact_id": contact_id,
            "message_id": message_id,
            "duplicate": duplicate,
        },
        status=200 if duplicate else 201,
    )


async def _channel_for(core: Core, request: ApiRequest) -> Channel:
    """The request's ``api`` channel (see the module); raises :class:`InvalidInput`
    telling the integrator what to set up. A named channel comes from the process's cache
    (a request per form sent); the others from the list of channels."""
    if request.channel_id and request.queue:
        raise InvalidInput("give queue or channel_id, not both")
    if request.channel_id:
        channel = await cached_channel(core, ChannelId(request.channel_id))
        if channel is None or channel.kind != API or not channel.enabled:
            raise InvalidInput(f"channel_id {request.channel_id!r} is no enabled api channel")
        return channel
    return await core.store.read(lambda tx: _listed_channel(tx, request))


async def _listed_channel(tx: Tx, request: ApiRequest) -> Channel:
    channels = [c for c in await tx.channels.list() if c.kind == API and c.enabled]
    if request.queue:
        if not isinstance(tx, SqlTx):  # pragma: no cover - the root always wires the SqlStore
            raise TypeError("queues need the storage's transaction")
        routing_tx: RoutingTx = tx
        queue = await routing_tx.routing.get_queue_by_name(request.queue)
        if queue is None:
            raise InvalidInput(f"no queue named {request.queue!r}")
        listed = parse_settings(queue).config.channel_ids
        mine = [c for c in channels if c.id in listed]
        if not mine:
            raise InvalidInput(
                f"the queue {request.queue!r} lists no api channel: {_ADD_ONE}, then "
                f"inbox queue update {request.queue} --channels ID"
            )
        return mine[0]
    if not channels:
        raise InvalidInput(f"there is no api channel yet: {_ADD_ONE}")
    if len(channels) > 1:
        raise InvalidInput("there are several api channels: name a queue or a channel_id")
    return channels[0]
