"""API tokens: how a machine client (a shop's 1C, a CRM) calls ``/api/v1`` (docs/api.md).

A token is named, limited to a set of scopes, revocable, and stored only as a SHA-256
hash (:func:`inbox.usecases.hash_token`): it is 32 random bytes, so a slow password hash
would add nothing (nobody can guess it) and would cost every request. The token itself is
shown once, when it is created.

Inside the use cases a token acts as a *machine principal*: an :class:`Operator` built by
:func:`machine_actor` with the role its scope needs (supervisor for the data scopes, admin
only for ``webhooks:admin``). It reaches only the routes whose declared scope it holds
(``operator_ws.rest.common.authed``), so the role never reaches operator management,
channels, tokens or anything else without a scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NewType

from inbox.domain.errors import InvalidInput
from inbox.domain.ids import OperatorId
from inbox.domain.operators import Operator, Role

__all__ = [
    "SCOPES",
    "TOKEN_PREFIX",
    "TOUCH_EVERY",
    "ApiToken",
    "ApiTokenId",
    "TokenScope",
    "machine_actor",
    "parse_scopes",
    "scope_role",
    "validate_name",
]

TokenScope = NewType("TokenScope", str)
ApiTokenId = NewType("ApiTokenId", str)

#: Every scope a token may hold, with what it allows (docs/api.md, "Scopes"). The one list:
#: routes name their scope from here (``authed(..., scope=...)`` checks it at start-up).
SCOPES: Mapping[TokenScope, str] = {
    TokenScope("orders:read"): "read orders and payment providers",
    TokenScope("orders:write"): "create and change orders, send payment links",
    TokenScope("contacts:read"): "look contacts up and read their cards",
    TokenScope("contacts:write"): "create and update contacts, their tags",
    TokenScope("conversations:read"): "list and read conversations and messages",
    TokenScope("conversations:write"): "reply, attach files, resolve conversations",
    TokenScope("requests:write"): "post website forms and call events as new conversations",
    TokenScope("reports:read"): "read reports",
    TokenScope("webhooks:admin"): "manage outgoing webhooks",
}

#: The role a machine principal acts with for a scope: supervisors see and act on every
#: conversation and contact; only ``webhooks:admin`` needs an admin's rights.
_ADMIN_SCOPES = frozenset({TokenScope("webhooks:admin")})

#: Tokens start with this, so the server tells them from session tokens without a lookup
#: and secret scanners can recognise a leaked one.
TOKEN_PREFIX = "inbx_"  # noqa: S105 - a public prefix, not a secret

#: ``last_used_at`` is written at most this often per token: a busy integration does not
#: turn every read into a write (docs/api.md).
TOUCH_EVERY = timedelta(minutes=5)

MAX_NAME = 100


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A token's record. ``token_hash`` is the SHA-256 of the token; the token is never
    stored."""

    id: ApiTokenId
    name: str
    scopes: frozenset[TokenScope]
    token_hash: str
    created_at: datetime
    created_by: str = ""
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def needs_touch(self, now: datetime) -> bool:
        """Whether a use now should be written (coarse-grained, :data:`TOUCH_EVERY`)."""
        return self.last_used_at is None or now - self.last_used_at >= TOUCH_EVERY


def parse_scopes(raw: str | Iterable[object]) -> frozenset[TokenScope]:
    """``"orders:write,contacts:read"`` or a JSON list → the scopes; raises
    :class:`InvalidInput` naming an unknown one, or for none at all."""
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    scopes: set[TokenScope] = set()
    for item in items:
        if not isinstance(item, str):
            raise InvalidInput("scopes must be strings")
        name = item.strip()
        if not name:
            continue
        if name not in SCOPES:
            known = ", ".join(sorted(SCOPES))
            raise InvalidInput(f"unknown scope {name[:40]!r}; the scopes are: {known}")
        scopes.add(TokenScope(name))
    if not scopes:
        raise InvalidInput("a token needs at least one scope")
    return frozenset(scopes)


def validate_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise InvalidInput(f"a token's name must be 1..{MAX_NAME} characters")
    return name


def scope_role(scope: TokenScope) -> Role:
    return Role.ADMIN if scope in _ADMIN_SCOPES else Role.SUPERVISOR


def machine_actor(token: ApiToken, scope: TokenScope) -> Operator:
    """The principal a token acts as on a route that needs ``scope``: id ``token:<id>``
    (what messages and orders record as their author), the token's name, the scope's
    role. It is no account: it cannot log in, take offers or be assigned."""
    return Operator(
        id=OperatorId(f"token:{token.id}"),
        login=f"token:{token.id}",
        display_name=token.name,
        role=scope_role(scope),
        password_hash="",
        created_at=token.created_at,
        capacity=0,
    )
