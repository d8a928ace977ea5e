"""Argon2id password hashing (argon2-cffi, RFC 9106 parameters as the library defaults)."""

from __future__ import annotations

from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["Argon2PasswordHasher"]


class Argon2PasswordHasher:
    """Implements :class:`inbox.ports.PasswordHasher`. CPU-bound: call it in a thread."""

    def __init__(self, *, fast_for_tests: bool = False) -> None:
        # The tests hash many passwords; the minimum parameters keep them quick. Production
        # uses the library defaults (RFC 9106's second recommended option: t=3, 64 MiB).
        self._argon = (
            _Argon2(time_cost=1, memory_cost=8, parallelism=1) if fast_for_tests else _Argon2()
        )
        # Verified for unknown logins so that they cost as much as a wrong password.
        self._dummy = self._argon.hash("dummy password for timing equality")

    def hash(self, password: str) -> str:
        return self._argon.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._argon.verify(password_hash or self._dummy, password) and bool(
                password_hash
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
