"""Decision table for the basic assignment policy."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from inbox.domain.ids import OperatorId
from routing import Candidate, pick_operator

T1 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
T2 = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)


def c(
    name: str, *, online: bool = True, load: int = 0, cap: int = 3, last: datetime | None = None
) -> Candidate:
    return Candidate(OperatorId(name), online, load, cap, last)


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        ([], None),
        ([c("a", online=False)], None),
        ([c("a", load=3, cap=3)], None),
        ([c("a", cap=0)], None),
        ([c("a", load=2), c("b", load=1)], "b"),
        ([c("a", load=1, last=T2), c("b", load=1, last=T1)], "b"),
        ([c("a", load=1, last=T1), c("b", load=1)], "b"),  # never assigned waits longest
        ([c("a", load=0, online=False), c("b", load=2)], "b"),
        ([c("b"), c("a")], "a"),  # a full tie is broken by id, not by input order
    ],
)
def test_pick_operator(candidates: list[Candidate], expected: str | None) -> None:
    assert pick_operator(candidates) == expected
    assert pick_operator(list(reversed(candidates))) == expected
