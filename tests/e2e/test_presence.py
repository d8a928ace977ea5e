"""Presence changes, including the grace timer's guarded one."""

from __future__ import annotations

from inbox.bus import InProcessEventBus
from inbox.domain.clock import FixedClock
from inbox.domain.operators import Presence
from inbox.usecases import Core, add_operator, set_presence
from operator_ws import Argon2PasswordHasher
from server.channels import CATALOG
from storage import SqlStore


async def test_the_grace_timer_turns_online_into_away_but_never_offline(store: SqlStore) -> None:
    core = Core(store=store, bus=InProcessEventBus(), clock=FixedClock(), channels=CATALOG)
    op = await add_operator(
        core, Argon2PasswordHasher(fast_for_tests=True), login="anna", password="long enough"
    )
    # Offline (the operator switched off meanwhile): the guarded change does nothing.
    unchanged = await set_presence(core, op.id, Presence.AWAY, only_from=Presence.ONLINE)
    assert unchanged.presence is Presence.OFFLINE
    await set_presence(core, op.id, Presence.ONLINE)
    away = await set_presence(core, op.id, Presence.AWAY, only_from=Presence.ONLINE)
    assert away.presence is Presence.AWAY
