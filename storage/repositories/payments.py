"""Payments: providers, orders and the notifications acted on."""

from __future__ import annotations

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from inbox.domain.ids import ContactId, ConversationId
from payments.records import Order, OrderId, OrderStatus, ProviderId, ProviderRecord
from storage.payments_rows import order_from_row, order_values, provider_from_row, provider_values
from storage.repositories.base import SqlRepo
from storage.tables import orders, payment_notices, payment_providers

__all__ = ["FIRST_ORDER_NUMBER", "SqlPaymentsRepo"]

#: The first order is number 1001: short, and never confused with a quantity.
FIRST_ORDER_NUMBER = 1001

_p = payment_providers
_o = orders
_PROVIDERS = select(_p).order_by(_p.c.name.asc(), _p.c.id.asc())
_PROVIDER = select(_p).where(_p.c.id == bindparam("id"))
_MAX_NUMBER = select(func.max(_o.c.number))
_ORDER = select(_o).where(_o.c.id == bindparam("id"))
_ORDER_FOR_UPDATE = _ORDER.with_for_update()
_BY_NUMBER = select(_o).where(_o.c.number == bindparam("number"))
_BY_PAYMENT = select(_o).where(
    _o.c.payment_provider_id == bindparam("provider_id"), _o.c.payment_id == bindparam("pid")
)
_BY_PAYMENT_FOR_UPDATE = _BY_PAYMENT.with_for_update()
_NEWEST = (_o.c.created_at.desc(), _o.c.id.desc())
_UNPAID = (
    select(_o.c.id)
    .where(
        _o.c.contact_id == bindparam("contact_id"),
        _o.c.status == str(OrderStatus.AWAITING_PAYMENT),
    )
    .limit(1)
)
_UPDATE = update(_o).where(_o.c.id == bindparam("b_id"))
_NOTICE = {
    "postgresql": postgresql.insert(payment_notices).on_conflict_do_nothing(),
    "sqlite": sqlite.insert(payment_notices).on_conflict_do_nothing(),
}


class SqlPaymentsRepo(SqlRepo):
    """Implements :class:`payments.ports.PaymentsRepo`."""

    async def add_provider(self, provider: ProviderRecord) -> None:
        await self._run(insert(_p), provider_values(provider))

    async def get_provider(self, provider_id: ProviderId) -> ProviderRecord | None:
        row = await self._first(_PROVIDER, {"id": provider_id})
        return provider_from_row(row) if row is not None else None

    async def list_providers(self) -> list[ProviderRecord]:
        return [provider_from_row(r) for r in await self._all(_PROVIDERS)]

    async def next_order_number(self) -> int:
        highest = await self._scalar(_MAX_NUMBER)
        return max(int(highest or 0) + 1, FIRST_ORDER_NUMBER)

    async def add_order(self, order: Order) -> None:
        await self._run(insert(_o), order_values(order))

    async def update_order(self, order: Order) -> None:
        values = order_values(order)
        values.pop("id")
        await self._run(_UPDATE, {"b_id": order.id, **values})

    async def get_order(self, order_id: OrderId, *, for_update: bool = False) -> Order | None:
        stmt = self._locked(_ORDER, _ORDER_FOR_UPDATE) if for_update else _ORDER
        row = await self._first(stmt, {"id": order_id})
        return order_from_row(row) if row is not None else None

    async def get_order_by_number(self, number: int) -> Order | None:
        row = await self._first(_BY_NUMBER, {"number": number})
        return order_from_row(row) if row is not None else None

    async def get_order_by_payment(
        self, provider_id: ProviderId, payment_id: str, *, for_update: bool = False
    ) -> Order | None:
        stmt = self._locked(_BY_PAYMENT, _BY_PAYMENT_FOR_UPDATE) if for_update else _BY_PAYMENT
        row = await self._first(stmt, {"provider_id": provider_id, "pid": payment_id})
        return order_from_row(row) if row is not None else None

    async def list_orders(
        self,
        conversation_id: ConversationId | None = None,
        *,
        contact_id: ContactId | None = None,
        limit: int = 200,
    ) -> list[Order]:
        stmt = select(_o).order_by(*_NEWEST).limit(limit)
        if conversation_id is not None:
            stmt = stmt.where(_o.c.conversation_id == conversation_id)
        if contact_id is not None:
            stmt = stmt.where(_o.c.contact_id == contact_id)
        return [order_from_row(r) for r in await self._all(stmt)]

    async def has_unpaid(self, contact_id: ContactId) -> bool:
        return await self._first(_UNPAID, {"contact_id": contact_id}) is not None

    async def remember_notice(self, provider_id: ProviderId, key: str) -> bool:
        self._writes.count += 1
        result = await self._conn.execute(
            _NOTICE[self._conn.dialect.name], {"provider_id": provider_id, "key": key}
        )
        return bool(getattr(result, "rowcount", 0))
