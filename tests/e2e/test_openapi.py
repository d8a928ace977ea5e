"""The OpenAPI document (operator_ws/openapi, docs/openapi.md): it is a valid OpenAPI 3.1
document, it describes exactly the live ``/api/v1`` routes, and ``/api/openapi.json`` and
``/api/docs`` are served. The answers themselves are checked against it in
``test_openapi_responses.py``."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer, make_mocked_request
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from operator_ws import Argon2PasswordHasher
from operator_ws.openapi import OpenApiDocument, load_document, with_scopes
from operator_ws.rest.common import ROUTE_SCOPE
from server.app import create_app
from tests.e2e.conftest import make_settings
from tests.e2e.openapi_check import HTTP_METHODS, documented_operations


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[TestServer]:
    """The real application with every route, serving (SQLite: the routes do not depend on
    the database)."""
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}", tmp_path)
    application = await create_app(settings, hasher=Argon2PasswordHasher(fast_for_tests=True))
    running = TestServer(application, host="127.0.0.1")
    await running.start_server()
    try:
        yield running
    finally:
        await running.close()


def live_operations(app: web.Application) -> set[tuple[str, str]]:
    """``(METHOD, path template)`` of every ``/api/v1`` route (aiohttp's automatic HEAD
    of a GET left out)."""
    found = set()
    for route in app.router.routes():
        template = route.resource.canonical if route.resource is not None else ""
        if template.startswith("/api/v1/") and route.method != "HEAD":
            found.add((route.method, template))
    return found


def route_scopes_of(app: web.Application) -> dict[tuple[str, str], str | None]:
    """The token scope every authenticated ``/api/v1`` route of ``app`` states."""
    found: dict[tuple[str, str], str | None] = {}
    for route in app.router.routes():
        template = route.resource.canonical if route.resource is not None else ""
        if (
            template.startswith("/api/v1/")
            and route.method != "HEAD"
            and hasattr(route.handler, ROUTE_SCOPE)
        ):
            found[(route.method, template)] = getattr(route.handler, ROUTE_SCOPE)
    return found


def test_the_document_is_valid_openapi_3_1() -> None:
    document = load_document()
    assert document["openapi"].startswith("3.1")
    validate(copy.deepcopy(document))


def test_the_validator_refuses_a_broken_document() -> None:
    """The check above can fail: a response without a description is not OpenAPI."""
    broken = copy.deepcopy(load_document())
    del broken["paths"]["/api/v1/me"]["get"]["responses"]["200"]["description"]
    with pytest.raises(OpenAPIValidationError):
        validate(broken)


async def test_every_live_route_is_in_the_document(server: TestServer) -> None:
    missing = sorted(live_operations(server.app) - documented_operations(load_document()))
    assert not missing, (
        "these /api/v1 routes are not in the OpenAPI document; describe them in "
        "operator_ws/openapi/*.yaml (docs/openapi.md):\n"
        + "\n".join(f"  {method} {path}" for method, path in missing)
    )


async def test_every_documented_operation_is_live(server: TestServer) -> None:
    stale = sorted(documented_operations(load_document()) - live_operations(server.app))
    assert not stale, (
        "the OpenAPI document describes routes the server does not have:\n"
        + "\n".join(f"  {method} {path}" for method, path in stale)
    )


async def test_the_served_document_names_the_scope_each_route_checks(
    server: TestServer,
) -> None:
    """``x-api-scope`` and ``security`` come from the live routes' own declarations, so a
    machine client reads in the document exactly what the server will check."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(server.make_url("/api/openapi.json")) as resp,
    ):
        served = await resp.json()
    live = route_scopes_of(server.app)
    assert len(live) == len(live_operations(server.app)) - 1  # all but the login
    seen = {}
    for path, item in served["paths"].items():
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            if op.get("security") == []:
                assert "x-api-scope" not in op  # the login: no token at all
                continue
            seen[(method.upper(), path)] = op["x-api-scope"]
            expected: list[dict[str, list[str]]] = [{"sessionToken": []}]
            if op["x-api-scope"] is not None:
                expected.append({"apiToken": [op["x-api-scope"]]})
            assert op["security"] == expected, (method, path)
            assert "403" in op["responses"], (method, path)
    assert seen == live
    assert seen[("POST", "/api/v1/orders")] == "orders:write"
    assert seen[("GET", "/api/v1/me")] is None


def test_the_coverage_check_names_what_is_missing() -> None:
    """The route check compares the same sets: a route dropped from the document shows."""
    document = copy.deepcopy(load_document())
    del document["paths"]["/api/v1/canned-replies/{id}/render"]
    assert ("POST", "/api/v1/canned-replies/{id}/render") not in documented_operations(document)


def test_every_operation_says_who_may_call_it_and_how_it_fails() -> None:
    document = load_document()
    ids: list[str] = []
    problems: list[str] = []
    for path, item in document["paths"].items():
        if not path.startswith("/api/v1/"):
            problems.append(f"{path}: only /api/v1 routes belong here")
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            where = f"{method.upper()} {path}"
            ids.append(op.get("operationId", ""))
            if not op.get("summary") or not op.get("tags"):
                problems.append(f"{where}: needs a summary and a tag")
            public = op.get("security") == []
            if not public and op.get("x-min-role") not in ("operator", "supervisor", "admin"):
                problems.append(f"{where}: x-min-role must name the least role")
            if not public and "401" not in op["responses"]:
                problems.append(f"{where}: a route behind a token answers 401")
            if op.get("x-min-role") in ("supervisor", "admin") and "403" not in op["responses"]:
                problems.append(f"{where}: a route for some roles answers 403")
            if "requestBody" in op and "400" not in op["responses"]:
                problems.append(f"{where}: a route with a body answers 400 for a bad one")
    assert not problems, "\n".join(problems)
    assert all(ids), "every operation has an operationId"
    assert len(ids) == len(set(ids)), "operationIds are unique"


async def test_openapi_json_and_the_docs_page_are_served_to_anyone(server: TestServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(server.make_url("/api/openapi.json")) as resp:
            assert resp.status == 200
            assert resp.content_type == "application/json"
            served: dict[str, Any] = await resp.json()
        async with http.get(server.make_url("/api/docs")) as resp:
            assert resp.status == 200
            assert resp.content_type == "text/html"
            page = await resp.text()
            assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
        async with http.get(server.make_url("/static/api-docs.js")) as resp:
            assert resp.status == 200, "the page's script"
            script = await resp.text()
    # The files' document, with each operation's token scope from the live routes.
    scopes = route_scopes_of(server.app)
    expected = {k: v for k, v in with_scopes(load_document(), scopes).items() if k != "servers"}
    assert {k: v for k, v in served.items() if k != "servers"} == expected
    assert served["servers"] == [{"url": f"http://127.0.0.1:{server.port}"}]
    assert 'src="/static/api-docs.js"' in page
    assert "/api/openapi.json" in script
    assert "innerHTML" not in script, "the page builds its nodes with textContent"


async def test_servers_names_the_public_url_when_it_is_set() -> None:
    """Behind a proxy the request's own base is the proxy's; INBOX_PUBLIC_URL wins."""
    handler = OpenApiDocument("https://inbox.example/")
    response = await handler.handle(make_mocked_request("GET", "/api/openapi.json"))
    assert isinstance(response.body, bytes)
    served = json.loads(response.body)
    assert served["servers"] == [{"url": "https://inbox.example"}]
    assert served["paths"] == load_document()["paths"]
