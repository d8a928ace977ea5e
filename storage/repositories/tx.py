"""One transaction's view of every repository: the core's and each feature's."""

from __future__ import annotations

from storage.repositories.base import SqlConnection, WriteCounter
from storage.repositories.bots import SqlBotsRepo
from storage.repositories.console import SqlCannedReplyRepo, SqlCloseReasonRepo
from storage.repositories.contacts import SqlContactRepo
from storage.repositories.conversations import SqlConversationRepo
from storage.repositories.leases import SqlLeaseRepo
from storage.repositories.messages import SqlMessageRepo
from storage.repositories.operators import SqlAuthSessionRepo, SqlChannelRepo, SqlOperatorRepo
from storage.repositories.outbox import SqlOutboxRepo
from storage.repositories.payments import SqlPaymentsRepo
from storage.repositories.reports import SqlReportsRepo
from storage.repositories.routing import SqlRoutingRepo
from storage.repositories.tokens import SqlApiTokenRepo, SqlLoginFailureRepo
from storage.repositories.webhooks import SqlWebhooksRepo

__all__ = ["SqlTx"]


class SqlTx:
    """Implements :class:`inbox.ports.Tx` and every feature's extension of it
    (:class:`routing.ports.RoutingTx`, :class:`bots.ports.BotsTx`,
    :class:`payments.ports.PaymentsTx`, :class:`webhooks.ports.WebhooksTx`,
    :class:`reports.ports.ReportsTx`) over the
    connection of an open transaction.

    The store creates one per unit of work; it is only valid until that work returns.
    """

    __slots__ = (
        "_api_tokens",
        "_bots",
        "_canned_replies",
        "_channels",
        "_close_reasons",
        "_contacts",
        "_conversations",
        "_leases",
        "_login_failures",
        "_messages",
        "_operators",
        "_outbox",
        "_payments",
        "_reports",
        "_routing",
        "_sessions",
        "_webhooks",
        "_writes",
    )

    def __init__(self, conn: SqlConnection) -> None:
        self._writes = writes = WriteCounter()
        self._contacts = SqlContactRepo(conn, writes)
        self._conversations = SqlConversationRepo(conn, writes)
        self._messages = SqlMessageRepo(conn, writes)
        self._operators = SqlOperatorRepo(conn, writes)
        self._channels = SqlChannelRepo(conn, writes)
        self._outbox = SqlOutboxRepo(conn, writes)
        self._sessions = SqlAuthSessionRepo(conn, writes)
        self._leases = SqlLeaseRepo(conn, writes)
        self._routing = SqlRoutingRepo(conn, writes)
        self._bots = SqlBotsRepo(conn, writes)
        self._payments = SqlPaymentsRepo(conn, writes)
        self._reports = SqlReportsRepo(conn, writes)
        self._close_reasons = SqlCloseReasonRepo(conn, writes)
        self._canned_replies = SqlCannedReplyRepo(conn, writes)
        self._webhooks = SqlWebhooksRepo(conn, writes)
        self._api_tokens = SqlApiTokenRepo(conn, writes)
        self._login_failures = SqlLoginFailureRepo(conn, writes)

    @property
    def writes_done(self) -> int:
        """Writing statements run so far through this transaction's repositories."""
        return self._writes.count

    @property
    def contacts(self) -> SqlContactRepo:
        return self._contacts

    @property
    def conversations(self) -> SqlConversationRepo:
        return self._conversations

    @property
    def messages(self) -> SqlMessageRepo:
        return self._messages

    @property
    def operators(self) -> SqlOperatorRepo:
        return self._operators

    @property
    def channels(self) -> SqlChannelRepo:
        return self._channels

    @property
    def outbox(self) -> SqlOutboxRepo:
        return self._outbox

    @property
    def sessions(self) -> SqlAuthSessionRepo:
        return self._sessions

    @property
    def leases(self) -> SqlLeaseRepo:
        return self._leases

    @property
    def routing(self) -> SqlRoutingRepo:
        return self._routing

    @property
    def bots(self) -> SqlBotsRepo:
        return self._bots

    @property
    def payments(self) -> SqlPaymentsRepo:
        return self._payments

    @property
    def reports(self) -> SqlReportsRepo:
        return self._reports

    @property
    def close_reasons(self) -> SqlCloseReasonRepo:
        return self._close_reasons

    @property
    def canned_replies(self) -> SqlCannedReplyRepo:
        return self._canned_replies

    @property
    def webhooks(self) -> SqlWebhooksRepo:
        return self._webhooks

    @property
    def api_tokens(self) -> SqlApiTokenRepo:
        return self._api_tokens

    @property
    def login_failures(self) -> SqlLoginFailureRepo:
        return self._login_failures
