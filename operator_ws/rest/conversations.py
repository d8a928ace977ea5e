"""Conversations and their messages: ``GET /api/v1/conversations``,
``GET /api/v1/conversations/{id}``, ``GET|POST /api/v1/conversations/{id}/messages``.

Who may see which conversation is decided by the use cases (``inbox.domain.visibility``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from inbox.domain.conversations import ConversationStatus
from inbox.domain.errors import InvalidInput
from inbox.domain.ids import ChannelId, ConversationId, OperatorId
from inbox.domain.views import conversation_view, message_view
from inbox.usecases import Core, get_conversation, list_conversations, list_messages, send_reply
from inbox.usecases.queries import MAX_CONVERSATION_PAGE
from operator_ws.compose import compose_parts
from operator_ws.rest.common import Caller, authed, int_param, json_body

__all__ = ["ConversationRoutes", "CsatLookup"]

#: A conversation's rating as its JSON shows it (the bots' ``BotService.csat``).
CsatLookup = Callable[[ConversationId], Awaitable[Mapping[str, object] | None]]


class ConversationRoutes:
    def __init__(self, core: Core, csat: CsatLookup | None = None) -> None:
        self._core = core
        self._csat = csat

    def routes(self) -> list[web.RouteDef]:
        core = self._core
        return [
            web.get(
                "/api/v1/conversations",
                authed(core, self.conversations, scope="conversations:read"),
            ),
            web.get(
                "/api/v1/conversations/{id}",
                authed(core, self.conversation, scope="conversations:read"),
            ),
            web.get(
                "/api/v1/conversations/{id}/messages",
                authed(core, self.messages, scope="conversations:read"),
            ),
            web.post(
                "/api/v1/conversations/{id}/messages",
                authed(core, self.post_message, scope="conversations:write"),
            ),
        ]

    async def conversations(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        """Query (all optional, combined by AND; docs/operator-protocol.md): ``q`` (full
        text over messages and contacts), ``status`` (comma-separated; ``open`` is all but
        resolved), ``assignee`` (an id or ``me``), ``channel``, ``queue``, ``tag``,
        ``unread`` (true/false), ``waiting_over`` (seconds), ``limit`` (1..200, default
        200) and ``cursor`` (the previous page's ``next_cursor``)."""
        query = request.query
        assignee = query.get("assignee")
        assignee_id = (
            caller.operator.id if assignee == "me" else (OperatorId(assignee) if assignee else None)
        )
        channel = query.get("channel")
        waiting = query.get("waiting_over")
        page = await list_conversations(
            self._core,
            caller.operator,
            statuses=_statuses(query.get("status")),
            assignee_id=assignee_id,
            channel_id=ChannelId(channel) if channel else None,
            query=query.get("q") or None,
            queue_id=query.get("queue") or None,
            tag=query.get("tag") or None,
            unread=_flag(query.get("unread"), "unread"),
            waiting_over=int_param(waiting, 0, "waiting_over") if waiting else None,
            cursor=query.get("cursor") or None,
            limit=int_param(query.get("limit"), MAX_CONVERSATION_PAGE, "limit"),
        )
        return web.json_response(
            {
                "conversations": [conversation_view(c) for c in page.conversations],
                "next_cursor": page.next_cursor,
            }
        )

    async def conversation(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        found = await get_conversation(
            self._core, caller.operator, ConversationId(request.match_info["id"])
        )
        view = conversation_view(found)
        # CONTRACT.md: the conversation's JSON gains ``csat`` (null or the rating).
        view["csat"] = await self._csat(found.id) if self._csat is not None else None
        return web.json_response({"conversation": view})

    async def messages(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        """Query ``after_seq`` (ascending from there; without it the newest page) and
        ``limit`` (default 200)."""
        after = request.query.get("after_seq")
        found = await list_messages(
            self._core,
            caller.operator,
            ConversationId(request.match_info["id"]),
            after_seq=int_param(after, 0, "after_seq") if after is not None else None,
            limit=int_param(request.query.get("limit"), 200, "limit"),
        )
        return web.json_response({"messages": [message_view(m) for m in found]})

    async def post_message(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        """``{"text", "buttons", "attachments", "template", "client_id"}`` → 201 with the
        new message, or 200 with the earlier one when ``client_id`` repeats."""
        body = await json_body(request)
        client_id = body.get("client_id")
        if client_id is not None and not isinstance(client_id, str):
            raise InvalidInput("client_id must be a string")
        parts = compose_parts(
            body.get("text", ""),
            body.get("buttons"),
            body.get("attachments"),
            body.get("template"),
        )
        result = await send_reply(
            self._core,
            caller.operator,
            ConversationId(request.match_info["id"]),
            parts,
            client_id,
        )
        return web.json_response(
            {"message": message_view(result.message)}, status=200 if result.duplicate else 201
        )


_STATUS_WORDS = "bot, queued, assigned, resolved or open (all but resolved)"


def _statuses(raw: str | None) -> tuple[ConversationStatus, ...] | None:
    """``status=queued,assigned``; ``open`` stands for every status but resolved."""
    if not raw:
        return None
    chosen: list[ConversationStatus] = []
    for word in raw.split(","):
        word = word.strip()
        named: list[ConversationStatus]
        if word == "open":
            named = [s for s in ConversationStatus if s is not ConversationStatus.RESOLVED]
        else:
            try:
                named = [ConversationStatus(word)]
            except ValueError as exc:
                raise InvalidInput(f"unknown status {word!r}: use {_STATUS_WORDS}") from exc
        chosen.extend(s for s in named if s not in chosen)
    return tuple(chosen)


def _flag(raw: str | None, name: str) -> bool | None:
    if raw is None or raw == "":
        return None
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    raise InvalidInput(f"{name} must be true or false")
