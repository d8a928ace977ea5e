"""Singleton leases (pollers): one owner at a time, run out after their term, and taken
over at once from a holder that is gone."""

from __future__ import annotations

from datetime import timedelta

from storage import SqlStore
from tests.storage.builders import at


async def test_a_lease_is_held_runs_out_and_is_taken_from_a_gone_holder(store: SqlStore) -> None:
    until = at(10) + timedelta(seconds=60)
    first = await store.transact(lambda tx: tx.leases.acquire("poll:c1", "a", at(10), until))
    assert first is not None
    assert first.owner == "a"
    assert await store.transact(lambda tx: tx.leases.set_cursor("poll:c1", "a", "42"))
    # Held: another owner gets nothing, unless the holder is gone.
    assert await store.transact(lambda tx: tx.leases.acquire("poll:c1", "b", at(20), until)) is None
    alive = await store.transact(
        lambda tx: tx.leases.acquire("poll:c1", "b", at(20), until, holder_gone=lambda owner: False)
    )
    assert alive is None
    taken = await store.transact(
        lambda tx: tx.leases.acquire(
            "poll:c1", "b", at(20), until, holder_gone=lambda owner: owner == "a"
        )
    )
    assert taken is not None
    assert (taken.owner, taken.cursor) == ("b", "42")  # the progress is kept
    assert not await store.transact(lambda tx: tx.leases.set_cursor("poll:c1", "a", "43"))
    # Run out: anyone takes it.
    late = at(10) + timedelta(seconds=61)
    again = await store.transact(
        lambda tx: tx.leases.acquire("poll:c1", "c", late, late + timedelta(seconds=60))
    )
    assert again is not None
    assert again.owner == "c"
