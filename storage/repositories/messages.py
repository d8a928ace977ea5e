"""Messages of a conversation, in ``seq`` order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Text, bindparam, delete, insert, select, update

from inbox.domain.content import Part, parts_to_json, plain_text
from inbox.domain.ids import ChannelId, ConversationId, MessageId
from inbox.domain.messages import DeliveryStatus, Message, MessageKind
from storage import search
from storage.repositories.base import SqlRepo
from storage.rows import message_from_row, message_values
from storage.tables import message_search, messages

__all__ = ["SqlMessageRepo"]

_t = messages

_INSERT = insert(_t)
_GET = select(_t).where(_t.c.id == bindparam("id"))
_BY_EXTERNAL = select(_t).where(
    _t.c.channel_id == bindparam("channel_id"), _t.c.external_id == bindparam("external_id")
)
_BY_CLIENT_ID = select(_t).where(
    _t.c.conversation_id == bindparam("conversation_id"), _t.c.client_id == bindparam("client_id")
)
_UPDATE = update(_t).where(_t.c.id == bindparam("b_id"))

# The search index, written with the message (storage.search): PostgreSQL computes the
# tsvector from the plain text, SQLite stores the words stemmed here (its FTS5 table
# follows by trigger).
_s = message_search
_PG_TEXT = bindparam("text_", type_=Text())
_INDEX_PG = insert(_s).values(
    message_id=bindparam("message_id"),
    conversation_id=bindparam("conversation_id"),
    document=search.pg_document(_PG_TEXT),
)
_INDEX_SQLITE = insert(_s)
_REINDEX_PG = (
    update(_s)
    .where(_s.c.message_id == bindparam("b_message_id"))
    .values(document=search.pg_document(_PG_TEXT))
)
_REINDEX_SQLITE = update(_s).where(_s.c.message_id == bindparam("b_message_id"))
_DROP_INDEX = delete(_s).where(_s.c.message_id == bindparam("b_message_id"))
_INDEXED = select(_s.c.id).where(_s.c.message_id == bindparam("message_id"))


class SqlMessageRepo(SqlRepo):
    """Implements :class:`inbox.ports.MessageRepo`."""

    async def add(self, message: Message) -> None:
        await self._run(_INSERT, message_values(message))
        plain = plain_text(message.parts)[: search.MAX_DOCUMENT_CHARS]
        if plain.strip():
            await self._index(message, plain)

    async def _index(self, message: Message, plain: str) -> None:
        if self._is_postgres:
            await self._run(
                _INDEX_PG,
                {
                    "message_id": message.id,
                    "conversation_id": message.conversation_id,
                    "text_": plain,
                },
            )
        else:
            await self._run(
                _INDEX_SQLITE,
                {
                    "message_id": message.id,
                    "conversation_id": message.conversation_id,
                    "document": search.sqlite_document(plain),
                },
            )

    async def get(self, message_id: MessageId) -> Message | None:
        row = await self._first(_GET, {"id": message_id})
        return message_from_row(row) if row is not None else None

    async def find_by_external(self, channel_id: ChannelId, external_id: str) -> Message | None:
        row = await self._first(
            _BY_EXTERNAL, {"channel_id": channel_id, "external_id": external_id}
        )
        return message_from_row(row) if row is not None else None

    async def find_by_client_id(
        self, conversation_id: ConversationId, client_id: str
    ) -> Message | None:
        row = await self._first(
            _BY_CLIENT_ID, {"conversation_id": conversation_id, "client_id": client_id}
        )
        return message_from_row(row) if row is not None else None

    async def list_last(
        self, conversation_id: ConversationId, *, limit: int, include_notes: bool
    ) -> list[Message]:
        stmt = select(_t).where(_t.c.conversation_id == conversation_id)
        if not include_notes:
            stmt = stmt.where(_t.c.kind != str(MessageKind.NOTE))
        stmt = stmt.order_by(_t.c.seq.desc()).limit(limit)
        newest_first = [message_from_row(r) for r in await self._all(stmt)]
        return newest_first[::-1]

    async def set_parts(self, message_id: MessageId, parts: Sequence[Part]) -> None:
        await self._run(_UPDATE, {"b_id": message_id, "parts": parts_to_json(parts)})
        await self._reindex(message_id, plain_text(parts)[: search.MAX_DOCUMENT_CHARS])

    async def _reindex(self, message_id: MessageId, plain: str) -> None:
        """The message's search row follows its new text (rare: a file's caption)."""
        indexed = await self._first(_INDEXED, {"message_id": message_id})
        if not plain.strip():
            if indexed is not None:
                await self._run(_DROP_INDEX, {"b_message_id": message_id})
            return
        if indexed is None:
            message = await self.get(message_id)
            if message is None:
                return
            await self._index(message, plain)
        elif self._is_postgres:
            await self._run(_REINDEX_PG, {"b_message_id": message_id, "text_": plain})
        else:
            document = search.sqlite_document(plain)
            await self._run(_REINDEX_SQLITE, {"b_message_id": message_id, "document": document})

    async def set_status(
        self,
        message_id: MessageId,
        status: DeliveryStatus,
        *,
        error: str | None = None,
        external_id: str | None = None,
    ) -> None:
        values: dict[str, Any] = {"b_id": message_id, "status": str(status), "error": error}
        if external_id is not None:
            values["external_id"] = external_id
        await self._run(_UPDATE, values)

    async def list(
        self,
        conversation_id: ConversationId,
        *,
        after_seq: int = 0,
        limit: int = 200,
        include_notes: bool = True,
    ) -> list[Message]:
        stmt = select(_t).where(_t.c.conversation_id == conversation_id, _t.c.seq > after_seq)
        if not include_notes:
            stmt = stmt.where(_t.c.kind != str(MessageKind.NOTE))
        stmt = stmt.order_by(_t.c.seq.asc()).limit(limit)
        return [message_from_row(r) for r in await self._all(stmt)]
