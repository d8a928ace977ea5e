"""The repositories of API tokens and login-failure counters (docs/api.md)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from inbox.domain.api_tokens import ApiToken, ApiTokenId
from inbox.domain.throttle import FailureCount

__all__ = ["ApiTokenRepo", "LoginFailureRepo"]


class ApiTokenRepo(Protocol):
    async def add(self, token: ApiToken) -> None:
        """Insert; the hash is unique (a collision of 32 random bytes does not happen)."""

    async def get(self, token_id: ApiTokenId) -> ApiToken | None: ...

    async def get_by_hash(self, token_hash: str) -> ApiToken | None: ...

    async def list(self) -> builtins.list[ApiToken]:
        """Every token, revoked ones included, oldest first."""

    async def revoke(self, token_id: ApiTokenId, at: datetime) -> None:
        """Idempotent: a token revoked earlier keeps its first revocation time."""

    async def touch(self, token_id: ApiTokenId, at: datetime) -> None:
        """Record a use (the callers write it coarse-grained, see ``ApiToken.needs_touch``)."""


class LoginFailureRepo(Protocol):
    """Failures in a row per key (``login:...``, ``addr:...``), shared by every process."""

    async def get(self, keys: Sequence[str]) -> builtins.list[FailureCount]:
        """The counters of those keys that have one."""

    async def record(self, key: str, failures: int, at: datetime) -> None:
        """Set the key's counter (insert or update)."""

    async def clear(self, key: str) -> None:
        """Forget the key's failures; idempotent."""
