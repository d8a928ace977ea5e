"""The administrator's list of close reasons (docs/console.md, "Close reasons"); a
resolve checks its reason against it (``resolve_conversation``)."""

from __future__ import annotations

from inbox.domain.close_reasons import parse_close_reasons
from inbox.domain.errors import Forbidden
from inbox.domain.operators import Operator, Role
from inbox.ports import Tx
from inbox.usecases.deps import Core, Outcome, run

__all__ = ["list_close_reasons", "set_close_reasons"]


async def list_close_reasons(core: Core) -> list[str]:
    """The list in the administrator's order; every operator may read it."""

    async def work(tx: Tx) -> list[str]:
        return await tx.close_reasons.list()

    return await core.store.read(work)


async def set_close_reasons(core: Core, actor: Operator, raw: object) -> list[str]:
    """Replace the list (admins only) with ``raw``, checked by
    :func:`~inbox.domain.close_reasons.parse_close_reasons` (never empty). Conversations
    resolved before keep the reason they were given."""
    if actor.role is not Role.ADMIN:
        raise Forbidden("only admins may change the close reasons")
    names = parse_close_reasons(raw)

    async def work(tx: Tx) -> Outcome[list[str]]:
        await tx.close_reasons.replace(names)
        return Outcome(list(names))

    return await run(core, work)
