"""Log-in with throttling (CONTRACT.md; docs/api.md, "Login throttling"): repeated
failures for one login or one client address make the server answer "too many attempts"
until the delay ends -- even for the right password, which is not even checked then.

The counters are rows in the database (``login_failures``), so every server process of a
PostgreSQL deployment (and every process on one SQLite file) counts the same failures.
The delay comes from :mod:`inbox.domain.throttle` and the core's clock.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from inbox.domain.errors import TooManyAttempts, Unauthorized
from inbox.domain.throttle import (
    ADDRESS_POLICY,
    LOGIN_POLICY,
    FailureCount,
    ThrottlePolicy,
    address_key,
    login_key,
)
from inbox.ports import PasswordHasher, Tx
from inbox.usecases.deps import Core, Outcome, run
from inbox.usecases.operators import LoginResult, login

__all__ = ["throttled_login"]


def _keys(
    login_name: str, address: str, policies: tuple[ThrottlePolicy, ThrottlePolicy]
) -> list[tuple[str, ThrottlePolicy]]:
    keyed = [(login_key(login_name), policies[0])]
    if address:
        keyed.append((address_key(address), policies[1]))
    return keyed


def _wait(
    keyed: Sequence[tuple[str, ThrottlePolicy]], counts: Sequence[FailureCount], now: datetime
) -> timedelta:
    by_key = {c.key: c for c in counts}
    wait = timedelta(0)
    for key, policy in keyed:
        count = by_key.get(key)
        if count is None or count.current(policy, now) == 0:
            continue
        wait = max(wait, count.blocked_until(policy) - now)
    return wait


async def throttled_login(
    core: Core,
    hasher: PasswordHasher,
    login_name: str,
    password: str,
    ttl: timedelta,
    *,
    address: str,
    policies: tuple[ThrottlePolicy, ThrottlePolicy] = (LOGIN_POLICY, ADDRESS_POLICY),
) -> LoginResult:
    """:func:`~inbox.usecases.operators.login`, throttled per login and per ``address``
    (``policies``: the login's, the address's). Raises :class:`TooManyAttempts` with the
    seconds to wait while either is delayed, else what ``login`` raises. A failure counts
    for both keys; a success clears the login's counter (the address's fades with
    ``forget``)."""
    keyed = _keys(login_name, address, policies)

    async def counts(tx: Tx) -> list[FailureCount]:
        return await tx.login_failures.get([k for k, _ in keyed])

    found = await core.store.read(counts)
    wait = _wait(keyed, found, core.clock.now())
    if wait > timedelta(0):
        raise TooManyAttempts(
            "too many failed log-ins; try again later", math.ceil(wait.total_seconds())
        )
    try:
        result = await login(core, hasher, login_name, password, ttl)
    except Unauthorized:
        await _count_failure(core, keyed)
        raise

    if any(c.key == keyed[0][0] for c in found):  # nothing to clear after a clean login

        async def clear(tx: Tx) -> Outcome[None]:
            await tx.login_failures.clear(keyed[0][0])
            return Outcome(None)

        await run(core, clear)
    return result


async def _count_failure(core: Core, keyed: Sequence[tuple[str, ThrottlePolicy]]) -> None:
    async def work(tx: Tx) -> Outcome[None]:
        now = core.clock.now()
        by_key = {c.key: c for c in await tx.login_failures.get([k for k, _ in keyed])}
        for key, policy in keyed:
            found = by_key.get(key)
            failures = found.current(policy, now) if found is not None else 0
            await tx.login_failures.record(key, failures + 1, now)
        return Outcome(None)

    await run(core, work)
