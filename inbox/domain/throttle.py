"""Login throttling: how long a login or a client address waits after failed log-ins
(CONTRACT.md, "Accounts, tokens, reports and integrations"; docs/api.md, "Login
throttling").

Pure: the counters live in the database (``login_failures``), where every server process
sees them, and the delay is computed here from a counter and the clock.

After ``free`` failures in a row the next attempt waits ``base`` seconds, each further
failure doubles the wait, and the wait never exceeds ``cap``. The cap is what keeps an
attacker from locking a login out for good cheaply: a login waits at most a minute, so its
owner gets in a minute after the attacker stops (and the attacker's own address is slowed
far more, up to 15 minutes). Counters older than ``forget`` since the last failure start
over; a successful log-in clears the login's counter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = [
    "ADDRESS_POLICY",
    "LOGIN_POLICY",
    "FailureCount",
    "ThrottlePolicy",
    "address_key",
    "login_key",
]


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    free: int
    base: timedelta
    cap: timedelta
    forget: timedelta

    def delay(self, failures: int) -> timedelta:
        """The wait after ``failures`` failures in a row: none up to ``free``, then
        ``base``, doubling, at most ``cap``."""
        if failures < self.free:
            return timedelta(0)
        exponent = min(failures - self.free, 30)  # 2**30 s is past any cap
        grown: timedelta = self.base * (2**exponent)
        return min(grown, self.cap)


#: One login: 5 tries, then 1 s, 2 s, 4 s ... at most 60 s.
LOGIN_POLICY = ThrottlePolicy(
    free=5, base=timedelta(seconds=1), cap=timedelta(minutes=1), forget=timedelta(hours=1)
)
#: One client address (an office behind one NAT tries several logins): 20 tries, then
#: 1 s doubling up to 15 minutes.
ADDRESS_POLICY = ThrottlePolicy(
    free=20, base=timedelta(seconds=1), cap=timedelta(minutes=15), forget=timedelta(hours=1)
)


@dataclass(frozen=True, slots=True)
class FailureCount:
    """Failures in a row for one key and when the last one was."""

    key: str
    failures: int
    last_failed_at: datetime

    def blocked_until(self, policy: ThrottlePolicy) -> datetime:
        return self.last_failed_at + policy.delay(self.failures)

    def current(self, policy: ThrottlePolicy, now: datetime) -> int:
        """The count as it stands now: zero once ``forget`` has passed."""
        return 0 if now - self.last_failed_at >= policy.forget else self.failures


def login_key(login: str) -> str:
    """Logins are compared as typed but without case and surrounding spaces: an attacker
    does not get fresh counters by changing case."""
    return "login:" + login.strip().lower()[:200]


def address_key(address: str) -> str:
    return "addr:" + address[:100]
