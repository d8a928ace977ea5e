"""The operator edge: REST API, the ``/ws/operator`` WebSocket and the hub that fans events
out to every operator session allowed to see them (docs/operator-protocol.md)."""

from operator_ws.dashboard import DashboardFeed
from operator_ws.handler import OperatorSocket
from operator_ws.hub import HubSettings, OperatorHub
from operator_ws.passwords import Argon2PasswordHasher
from operator_ws.rest import OperatorApi

__all__ = [
    "Argon2PasswordHasher",
    "DashboardFeed",
    "HubSettings",
    "OperatorApi",
    "OperatorHub",
    "OperatorSocket",
]
