"""The client's address as login throttling counts it (docs/api.md, "Login throttling").

Directly connected, it is the peer's address. Behind reverse proxies or load balancers
listed in ``INBOX_TRUSTED_PROXIES`` it is the rightmost ``X-Forwarded-For`` entry that is
not one of them: each proxy appends the peer it saw, so that entry was written by a proxy
we trust, while anything to its left is whatever the client claimed. A request from a
peer that is not a trusted proxy has its ``X-Forwarded-For`` ignored: nobody escapes the
address counter by sending the header.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

__all__ = ["Networks", "client_address", "parse_networks"]

Networks = Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]


def parse_networks(spec: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """``"127.0.0.1, 10.0.0.0/8, ::1"`` → the networks; raises :class:`ValueError`
    naming a bad entry."""
    found = []
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        try:
            found.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValueError(f"not an address or network: {item!r}") from exc
    return found


def _trusted(address: str, trusted: Networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_address(remote: str | None, forwarded_for: str | None, trusted: Networks) -> str:
    """See the module; ``""`` when the peer is unknown (a Unix socket)."""
    peer = remote or ""
    if not trusted or not forwarded_for or not _trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop[:100]
    return hops[0] if hops else peer
