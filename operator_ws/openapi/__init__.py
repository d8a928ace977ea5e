"""The OpenAPI 3.1 document of every ``/api/v1`` route, served at ``GET /api/openapi.json``
(CONTRACT.md; docs/openapi.md).

The document is data, not code: ``base.yaml`` in this package holds the frame (``info``,
security schemes, the shared components) and every other ``*.yaml`` here adds the
``paths``, ``components`` and ``tags`` of its resources, so a new resource is a new file
and never a merge conflict in one long one. The files are read and merged once, the first
time the document is asked for; ``tests/e2e/test_openapi.py`` fails while a live route is
missing from it, or a response drifts from its schema.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any

import yaml
from aiohttp import web

from operator_ws.rest.common import ROUTE_SCOPE

__all__ = ["OpenApiDocument", "assemble", "load_document", "route_scopes", "with_scopes"]

_BASE = "base.yaml"
#: The sections a resource file may add to; anything else in one is a mistake.
_SECTIONS = frozenset({"paths", "components", "tags"})


@cache
def load_document() -> dict[str, Any]:
    """The merged document of this package's files (see :func:`assemble`). Callers must
    not change the returned mapping (it is cached); copy it first."""
    folder = resources.files(__name__)
    parts = {
        entry.name: entry.read_text("utf-8")
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml") and entry.name != _BASE
    }
    return assemble(folder.joinpath(_BASE).read_text("utf-8"), parts)


def assemble(base: str, parts: Mapping[str, str]) -> dict[str, Any]:
    """``base`` (YAML) with the ``paths``, ``components`` and ``tags`` of each of
    ``parts`` (file name → YAML) merged in, in name order. Raises :class:`ValueError` when
    two files declare the same path, component or tag, or a part has any other top-level
    key: a silent overwrite would drop a route from the document."""
    document: dict[str, Any] = yaml.safe_load(base)
    document.setdefault("paths", {})
    document.setdefault("tags", [])
    components = document.setdefault("components", {})
    for name in sorted(parts):
        part = yaml.safe_load(parts[name]) or {}
        unknown = sorted(set(part) - _SECTIONS)
        if unknown:
            raise ValueError(f"{name}: unknown top-level key {unknown[0]!r}")
        _merge(document["paths"], part.get("paths") or {}, f"{name}: path")
        for section, entries in (part.get("components") or {}).items():
            _merge(components.setdefault(section, {}), entries, f"{name}: components.{section}")
        known = {tag["name"] for tag in document["tags"]}
        for tag in part.get("tags") or []:
            if tag["name"] in known:
                raise ValueError(f"{name}: tag {tag['name']!r} is declared twice")
            document["tags"].append(tag)
    return document


def _merge(into: dict[str, Any], entries: dict[str, Any], where: str) -> None:
    for key, value in entries.items():
        if key in into:
            raise ValueError(f"{where} {key!r} is declared twice")
        into[key] = value


#: (METHOD, path template) → the API token scope the route takes, or None (sessions only).
Scopes = Mapping[tuple[str, str], str | None]

_FORBIDDEN = {"$ref": "#/components/responses/Forbidden"}


def route_scopes(routes: Iterable[web.AbstractRouteDef]) -> dict[tuple[str, str], str | None]:
    """The scope each ``/api/v1`` route states where it is declared (``authed(...,
    scope=...)`` in ``operator_ws.rest.common``), read off the handlers themselves."""
    found: dict[tuple[str, str], str | None] = {}
    for route in routes:
        if (
            isinstance(route, web.RouteDef)
            and route.path.startswith("/api/v1/")
            and hasattr(route.handler, ROUTE_SCOPE)
        ):
            found[(route.method.upper(), route.path)] = getattr(route.handler, ROUTE_SCOPE)
    return found


def with_scopes(document: Mapping[str, Any], scopes: Scopes) -> dict[str, Any]:
    """A copy of ``document`` whose operations name their token scope: ``x-api-scope``
    and ``security`` (a session, or an API token with that scope), plus the 403 an API
    token gets without it. Taken from the live routes, so the document cannot drift
    from what the server checks (docs/api.md, "Scopes of the routes")."""
    copied: dict[str, Any] = copy.deepcopy(dict(document))
    for path, item in copied.get("paths", {}).items():
        for method, operation in item.items():
            key = (method.upper(), path)
            if key not in scopes or not isinstance(operation, dict):
                continue
            scope = scopes[key]
            operation["x-api-scope"] = scope
            operation["security"] = [{"sessionToken": []}] + (
                [{"apiToken": [scope]}] if scope is not None else []
            )
            operation.setdefault("responses", {}).setdefault("403", _FORBIDDEN)
    return copied


class OpenApiDocument:
    """``GET /api/openapi.json``, open to anyone (it holds no data, only shapes).

    The document is serialised once; each answer only puts a ``servers`` entry in front:
    ``public_url`` (``INBOX_PUBLIC_URL``) when set, else the base the request came to, so
    a client tried against a test server calls that server. The base is JSON-encoded, so a
    forged ``Host`` header cannot break out of its string."""

    def __init__(self, public_url: str = "", scopes: Scopes | None = None) -> None:
        self._public_url = public_url.rstrip("/")
        self._scopes = scopes
        self._body: bytes | None = None

    def _serialized(self) -> bytes:
        if self._body is None:
            document = {k: v for k, v in load_document().items() if k != "servers"}
            if self._scopes is not None:
                document = with_scopes(document, self._scopes)
            self._body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        return self._body

    async def handle(self, request: web.Request) -> web.Response:
        base = self._public_url or f"{request.scheme}://{request.host}"
        servers = json.dumps({"servers": [{"url": base}]}).encode()
        body = servers[:-1] + b"," + self._serialized()[1:]
        return web.Response(
            body=body,
            content_type="application/json",
            charset="utf-8",
            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
        )
