"""API tokens in the use cases: admins only, the principal a scope gives, and
``last_used_at`` written coarse-grained (at most every TOUCH_EVERY), not per request. On a
real store (SQLite and PostgreSQL) with a fake clock."""

from __future__ import annotations

import pytest

from inbox.domain.api_tokens import TOUCH_EVERY, TokenScope, machine_actor
from inbox.domain.errors import Forbidden, InvalidInput, Unauthorized
from inbox.domain.operators import Role
from inbox.usecases.api_tokens import (
    authenticate_api_token,
    create_api_token,
    list_api_tokens,
    revoke_api_token,
)
from storage import SqlStore
from tests.usecases.console_support import Console


@pytest.fixture
async def console(store: SqlStore) -> Console:
    return await Console.open(store)


async def test_last_used_at_is_written_at_most_every_few_minutes(console: Console) -> None:
    token, secret = await create_api_token(console.core, console.admin, "1C", ["orders:read"])
    assert token.last_used_at is None
    first = await authenticate_api_token(console.core, secret)
    assert first.last_used_at == console.clock.now()
    used_at = first.last_used_at

    console.clock.advance(TOUCH_EVERY.total_seconds() - 1)
    for _ in range(3):
        again = await authenticate_api_token(console.core, secret)
        assert again.last_used_at == used_at  # read, not written
    [stored] = await list_api_tokens(console.core, console.admin)
    assert stored.last_used_at == used_at

    console.clock.advance(1)
    later = await authenticate_api_token(console.core, secret)
    assert later.last_used_at == console.clock.now()
    [stored] = await list_api_tokens(console.core, console.admin)
    assert stored.last_used_at == console.clock.now()


async def test_only_admins_manage_tokens_and_revoked_ones_are_refused(console: Console) -> None:
    for actor in (console.op1, console.sup):
        with pytest.raises(Forbidden):
            await create_api_token(console.core, actor, "x", ["orders:read"])
        with pytest.raises(Forbidden):
            await list_api_tokens(console.core, actor)
    with pytest.raises(InvalidInput, match="unknown scope 'admin'"):
        await create_api_token(console.core, console.admin, "x", "orders:read,admin")
    token, secret = await create_api_token(console.core, console.admin, " CRM ", "orders:read, ")
    assert (token.name, token.scopes, token.created_by) == (
        "CRM",
        frozenset({TokenScope("orders:read")}),
        "admin",
    )
    with pytest.raises(Forbidden):
        await revoke_api_token(console.core, console.sup, token.id)
    revoked = await revoke_api_token(console.core, console.admin, token.id)
    assert revoked.revoked_at == console.clock.now()
    console.clock.advance(60)
    assert (await revoke_api_token(console.core, console.admin, token.id)).revoked_at == (
        revoked.revoked_at
    )
    with pytest.raises(Unauthorized, match="revoked"):
        await authenticate_api_token(console.core, secret)
    with pytest.raises(Unauthorized, match="unknown"):
        await authenticate_api_token(console.core, secret[:-1])


async def test_a_token_acts_with_the_role_its_scope_needs(console: Console) -> None:
    token, _ = await create_api_token(
        console.core, console.admin, "Hooks", ["webhooks:admin", "orders:write"]
    )
    orders = machine_actor(token, TokenScope("orders:write"))
    hooks = machine_actor(token, TokenScope("webhooks:admin"))
    assert (orders.id, orders.role, orders.display_name) == (
        f"token:{token.id}",
        Role.SUPERVISOR,
        "Hooks",
    )
    assert hooks.role is Role.ADMIN
    assert orders.capacity == 0
