"""The core's repositories and its unit of work: ``Tx`` (one transaction's view of them) and
``Store`` (runs work in a transaction). Repositories are only reachable inside a
:class:`Store` transaction."""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from inbox.domain.canned import CannedReply, CannedReplyId
from inbox.domain.channels import Channel
from inbox.domain.contacts import ChannelIdentity, Contact
from inbox.domain.content import Part
from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.ids import (
    ChannelId,
    ContactId,
    ConversationId,
    MessageId,
    OperatorId,
    OutboxId,
)
from inbox.domain.messages import DeliveryStatus, Message
from inbox.domain.operators import Operator
from inbox.domain.visibility import Visibility
from inbox.ports.tokens import ApiTokenRepo, LoginFailureRepo

__all__ = [
    "AuthSession",
    "AuthSessionRepo",
    "CannedReplyRepo",
    "ChannelRepo",
    "CloseReasonRepo",
    "ContactRepo",
    "ConversationFilter",
    "ConversationPosition",
    "ConversationRepo",
    "Lease",
    "LeaseRepo",
    "MessageRepo",
    "OperatorRepo",
    "OutboxItem",
    "OutboxRepo",
    "Store",
    "Tx",
]

T = TypeVar("T")


class ContactRepo(Protocol):
    async def get(self, contact_id: ContactId) -> Contact | None: ...

    async def find_identity(
        self, channel_id: ChannelId, external_user_id: str
    ) -> ChannelIdentity | None: ...

    async def add(self, contact: Contact, identity: ChannelIdentity | None) -> None:
        """Insert both (a contact the shop's API created has no identity yet). Raises the
        store's integrity error when the identity exists."""

    async def add_identity(self, identity: ChannelIdentity) -> None:
        """Insert an identity of an existing contact. Raises the store's integrity error
        when the (channel, external user id) exists."""

    async def find_by_key(self, kind: str, key: str, *, limit: int = 20) -> builtins.list[Contact]:
        """Contacts with this phone (``kind="phone"``, :func:`phone_key`), e-mail
        (``"email"``, :func:`email_key`) or external id (``"external"``), oldest first."""

    async def update_identity(self, identity: ChannelIdentity) -> None:
        """Overwrite the profile fields of an existing identity (same channel and user)."""

    async def set_tags(self, contact_id: ContactId, tags: frozenset[str]) -> None:
        """Replace the contact's tags."""

    async def set_details(
        self, contact_id: ContactId, *, phone: str | None = None, email: str | None = None
    ) -> None:
        """Set the contact's phone and/or e-mail (what a bot collected); ``None`` keeps
        the stored value."""

    async def get_for_update(self, contact_id: ContactId) -> Contact | None:
        """Like :meth:`get`, and locks the row until the transaction ends."""

    async def update(self, contact: Contact) -> None:
        """Overwrite the contact's name, phones, e-mails, tags and notes (and the keys
        :meth:`find_sharing` looks up)."""

    async def list_identities(self, contact_id: ContactId) -> builtins.list[ChannelIdentity]:
        """The contact's channel identities, by channel then external user id."""

    async def list_conversations(
        self, contact_id: ContactId, *, limit: int = 500
    ) -> builtins.list[Conversation]:
        """Every conversation of the contact on any channel, newest first (by
        ``created_at``). Here rather than in :class:`ConversationRepo`: it is the
        contact's history, read for its card."""

    async def find_sharing(
        self, contact_id: ContactId, *, limit: int = 20
    ) -> builtins.list[Contact]:
        """Other contacts sharing a phone or an e-mail with this one (by
        :func:`~inbox.domain.contacts.phone_key` and ``email_key``), oldest first."""

    async def merge(self, keep: Contact, other_id: ContactId) -> None:
        """Move everything that refers to ``other_id`` (channel identities,
        conversations, and every feature's rows such as orders) onto ``keep``, write
        ``keep`` as given (the caller has united tags, phones and e-mails), and delete
        the other contact. Both rows should be locked by the caller."""


class CloseReasonRepo(Protocol):
    async def list(self) -> builtins.list[str]:
        """The administrator's close reasons in their order (empty: never set)."""

    async def replace(self, names: Sequence[str]) -> None:
        """Store ``names`` (checked by the caller) as the whole list."""


class CannedReplyRepo(Protocol):
    async def get(self, reply_id: CannedReplyId) -> CannedReply | None: ...

    async def list_for(self, operator_id: OperatorId) -> builtins.list[CannedReply]:
        """The operator's own replies and the shared ones, by shortcut (own first when
        both have one)."""

    async def find(self, owner_id: OperatorId | None, shortcut: str) -> CannedReply | None:
        """The reply of this owner (``None``: shared) with this shortcut."""

    async def add(self, reply: CannedReply) -> None:
        """Insert; a shortcut the owner (or the shared set) has raises the store's
        integrity error."""

    async def update(self, reply: CannedReply) -> None:
        """Overwrite shortcut, text and ``updated_at``."""

    async def delete(self, reply_id: CannedReplyId) -> None: ...


@dataclass(frozen=True, slots=True)
class ConversationPosition:
    """Where a page of the conversation list ended: the last row's sort key. The list is
    ordered by ``last_message_at`` (newest first, conversations without one last), then
    ``created_at``, then ``id``, all descending; the next page starts strictly after."""

    last_message_at: datetime | None
    created_at: datetime
    id: ConversationId


@dataclass(frozen=True, slots=True)
class ConversationFilter:
    """Every field narrows the list; ``None`` means no narrowing. Fields combine by AND.

    ``visible_to`` restricts to what a viewer may see, by the one rule of
    :mod:`inbox.domain.visibility` (``Visibility.of(operator, restrictions)``), which reads
    ``status``, ``assignee_id`` and ``queue_id``; a repository must admit
    exactly the conversations that ``visible_to.admits_conversation`` admits.

    ``query``: free text; a conversation matches when one of its messages has every word
    of it, or its contact's name, phone or e-mail does, word forms aside ("заказа" finds
    "заказ", "orders" finds "order"). How is the repository's business. ``queue_id``: the
    routing queue that the conversation's routing task is in. ``tag``: one of the
    contact's tags. ``unread``: ``True`` for ``unread_count > 0``, ``False`` for none.
    ``queued_before``: queued conversations whose ``queued_at`` is earlier. ``after``:
    keyset paging, the rows strictly after that position in the list's order.
    """

    statuses: tuple[ConversationStatus, ...] | None = None
    assignee_id: OperatorId | None = None
    channel_id: ChannelId | None = None
    visible_to: Visibility | None = None
    limit: int = 200
    query: str | None = None
    queue_id: str | None = None
    tag: str | None = None
    unread: bool | None = None
    queued_before: datetime | None = None
    after: ConversationPosition | None = None


class ConversationRepo(Protocol):
    async def get(self, conversation_id: ConversationId) -> Conversation | None: ...

    async def get_for_update(self, conversation_id: ConversationId) -> Conversation | None:
        """Like :meth:`get`, and locks the row until the transaction ends (PostgreSQL
        ``FOR UPDATE``; SQLite serialises writers anyway)."""

    async def find_latest(
        self, contact_id: ContactId, channel_id: ChannelId, *, for_update: bool = False
    ) -> Conversation | None:
        """The most recently created conversation of this contact on this channel; with
        ``for_update``, its row is locked like :meth:`get_for_update` does."""

    async def add(self, conversation: Conversation) -> None: ...

    async def update(self, conversation: Conversation) -> None:
        """Overwrite every mutable field of the row with ``conversation``'s values, except
        ``queue_id``: only :meth:`set_queue` writes it (a conversation read before routing
        moved it must not move it back)."""

    async def set_queue(self, conversation_id: ConversationId, queue_id: str) -> None:
        """Routing filed the conversation in ``queue_id`` (a new task, a transfer, an
        overflow)."""

    async def list(self, flt: ConversationFilter) -> builtins.list[Conversation]:
        """At most ``flt.limit`` rows in the order of :class:`ConversationPosition`
        (``last_message_at`` descending, no message last, then ``created_at``, then
        ``id``), after ``flt.after`` when given. Paging by position stays as fast on the
        thousandth page as on the first."""

    async def list_queued(self, limit: int) -> builtins.list[Conversation]:
        """Queued conversations, longest waiting (``queued_at`` ascending) first."""

    async def count_open_by_assignee(
        self, operator_ids: Sequence[OperatorId]
    ) -> dict[OperatorId, int]:
        """How many non-resolved conversations each operator holds (0 for none)."""


class MessageRepo(Protocol):
    async def add(self, message: Message) -> None:
        """Insert. Unique keys: (channel_id, external_id) when external_id is set and
        (conversation_id, client_id) when client_id is set; a duplicate raises the store's
        integrity error."""

    async def get(self, message_id: MessageId) -> Message | None: ...

    async def find_by_external(self, channel_id: ChannelId, external_id: str) -> Message | None: ...

    async def find_by_client_id(
        self, conversation_id: ConversationId, client_id: str
    ) -> Message | None: ...

    async def list(
        self,
        conversation_id: ConversationId,
        *,
        after_seq: int = 0,
        limit: int = 200,
        include_notes: bool = True,
    ) -> builtins.list[Message]:
        """Messages with ``seq > after_seq`` in ascending seq order, at most ``limit``."""

    async def list_last(
        self, conversation_id: ConversationId, *, limit: int, include_notes: bool
    ) -> builtins.list[Message]:
        """The newest ``limit`` messages, returned in ascending seq order."""

    async def set_parts(self, message_id: MessageId, parts: Sequence[Part]) -> None:
        """Replace the content parts (a downloaded file gets its media key)."""

    async def set_status(
        self,
        message_id: MessageId,
        status: DeliveryStatus,
        *,
        error: str | None = None,
        external_id: str | None = None,
    ) -> None:
        """Set delivery status and error; ``external_id`` only when given (not None)."""


class OperatorRepo(Protocol):
    async def get(self, operator_id: OperatorId) -> Operator | None: ...

    async def get_for_update(self, operator_id: OperatorId) -> Operator | None:
        """Locks the row until the transaction ends (capacity checks across processes)."""

    async def get_by_login(self, login: str) -> Operator | None: ...

    async def add(self, operator: Operator) -> None:
        """Insert; a taken login raises the store's integrity error."""

    async def update(self, operator: Operator) -> None: ...

    async def list(self) -> builtins.list[Operator]:
        """All operators, by login."""

    async def touch_seen(self, operator_ids: Sequence[OperatorId], at: datetime) -> None:
        """Set ``last_seen_at`` of these operators (a console heartbeat), in one statement."""


class ChannelRepo(Protocol):
    async def get(self, channel_id: ChannelId) -> Channel | None: ...

    async def add(self, channel: Channel) -> None: ...

    async def update(self, channel: Channel) -> None: ...

    async def delete(self, channel_id: ChannelId) -> None:
        """Remove a channel nothing refers to yet (a set-up that failed). Raises the
        store's integrity error when conversations or contacts refer to it."""

    async def list(self) -> builtins.list[Channel]:
        """All channels, oldest first."""


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One delivery job: send ``message_id`` to its channel. Committed with the message.
    ``seq`` is the message's: a conversation's jobs are delivered in ``seq`` order."""

    id: OutboxId
    message_id: MessageId
    conversation_id: ConversationId
    channel_id: ChannelId
    created_at: datetime
    available_at: datetime
    attempts: int = 0
    last_error: str | None = None
    seq: int = 0


class OutboxRepo(Protocol):
    async def add(self, item: OutboxItem) -> None: ...

    async def claim_due(
        self, now: datetime, *, limit: int, lease_until: datetime, owner: str
    ) -> list[OutboxItem]:
        """Lease up to ``limit`` jobs that are due (``available_at <= now``, not leased by
        someone else past ``now``), at most one per conversation and only the oldest of
        each conversation, so per-conversation order holds. Safe across processes
        (PostgreSQL ``FOR UPDATE SKIP LOCKED``)."""

    async def complete(self, item_id: OutboxId) -> None:
        """The job is done (delivered or permanently failed): remove it."""

    async def retry_later(
        self, item_id: OutboxId, *, available_at: datetime, attempts: int, error: str
    ) -> None:
        """Release the lease and make the job due again at ``available_at``."""

    async def pending_count(self) -> int: ...

    async def lease_owners(self, now: datetime) -> list[str]:
        """The owners of leases that have not run out at ``now``."""

    async def release_owners(self, owners: Sequence[str]) -> int:
        """Drop every lease these owners hold (they are gone): their jobs are due again at
        once, with their attempts and availability as they were. Returns how many."""


@dataclass(frozen=True, slots=True)
class AuthSession:
    token_hash: str
    operator_id: OperatorId
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None


class AuthSessionRepo(Protocol):
    async def add(self, session: AuthSession) -> None: ...

    async def get(self, token_hash: str) -> AuthSession | None: ...

    async def revoke(self, token_hash: str, at: datetime) -> None: ...


@dataclass(frozen=True, slots=True)
class Lease:
    """A named singleton job (a poller, a timer) owned by one process until ``expires_at``.
    ``cursor`` is the job's progress (Telegram's next update offset, an IMAP UID)."""

    name: str
    owner: str
    expires_at: datetime
    cursor: str | None = None


class LeaseRepo(Protocol):
    async def acquire(
        self,
        name: str,
        owner: str,
        now: datetime,
        until: datetime,
        *,
        holder_gone: Callable[[str], bool] | None = None,
    ) -> Lease | None:
        """Take or renew the lease: succeeds when nobody holds it, it expired, ``owner``
        holds it already, or ``holder_gone`` says its holder is gone; returns it (with its
        cursor), else ``None``. Safe across processes (a row lock on PostgreSQL)."""

    async def release(self, name: str, owner: str) -> None:
        """Give the lease up (only if ``owner`` holds it); the cursor is kept."""

    async def set_cursor(self, name: str, owner: str, cursor: str | None) -> bool:
        """Store progress; False (and nothing written) when ``owner`` no longer holds it."""


class Tx(Protocol):
    """One database transaction's view of the core's repositories. A feature extends it
    with its own (``routing.ports.RoutingTx``); the storage's transaction implements
    them all."""

    @property
    def contacts(self) -> ContactRepo: ...

    @property
    def conversations(self) -> ConversationRepo: ...

    @property
    def messages(self) -> MessageRepo: ...

    @property
    def operators(self) -> OperatorRepo: ...

    @property
    def channels(self) -> ChannelRepo: ...

    @property
    def outbox(self) -> OutboxRepo: ...

    @property
    def sessions(self) -> AuthSessionRepo: ...

    @property
    def leases(self) -> LeaseRepo: ...

    @property
    def close_reasons(self) -> CloseReasonRepo: ...

    @property
    def canned_replies(self) -> CannedReplyRepo: ...

    @property
    def api_tokens(self) -> ApiTokenRepo: ...

    @property
    def login_failures(self) -> LoginFailureRepo: ...


class Store(Protocol):
    """The unit of work.

    ``transact(work)`` runs ``work`` inside a database transaction and returns its result
    once that transaction has **committed**. Implementations may run the work of several
    concurrent callers in one transaction (group commit), each inside its own savepoint, so
    ``work`` must touch the database only through ``tx`` and must be safe to run again: on an
    integrity error the implementation rolls the savepoint back and runs ``work`` once more
    (where it will now see the row that another writer committed). Raises what ``work``
    raises (its writes are rolled back) or the store's error when the commit fails.

    ``read(work)`` runs read-only work on its own connection, without batching.
    """

    async def transact(self, work: Callable[[Tx], Awaitable[T]]) -> T: ...

    async def read(self, work: Callable[[Tx], Awaitable[T]]) -> T: ...
