"""API tokens (docs/api.md, "Authentication"): made by the command line or an admin, shown
once, stored hashed, limited to their scopes, revocable; every /api/v1 route states the
scope a token needs. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from pathlib import Path

import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect

from inbox.domain.api_tokens import SCOPES
from inbox.domain.operators import Role
from operator_ws.rest.common import ROUTE_SCOPE
from server.app import SERVICES
from server.cli import main
from storage.repositories.tx import SqlTx
from storage.tables_integrations import api_tokens
from tests.e2e.conftest import Live

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"
#: Routes outside the scope rule: logging in is how a session starts.
PUBLIC = {("POST", "/api/v1/auth/login")}


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def test_cli_token_add_list_revoke_and_the_token_works_once_then_not(
    live: Live,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("INBOX_DATABASE_URL", database_url)
    monkeypatch.setenv("INBOX_DATA_DIR", str(tmp_path / "cli-data"))
    monkeypatch.setenv("INBOX_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("INBOX_LOG_LEVEL", "WARNING")

    async def cli(*argv: str) -> tuple[int, str, str]:
        return await asyncio.to_thread(_cli, capsys, *argv)

    code, out, _ = await cli("token", "add", "1C", "--scope", "orders:write,conversations:read")
    assert code == 0, out
    created = json.loads(out)
    assert set(created) == {"id", "token"}
    secret = created["token"]
    assert secret.startswith("inbx_")
    assert len(secret) > 40

    # Stored hashed: the table holds the SHA-256, never the token.
    async def stored(tx: SqlTx) -> list[dict[str, object]]:
        rows = await tx.api_tokens._all(select(api_tokens))
        return [dict(r) for r in rows]

    rows = await live.app[SERVICES].store.read(stored)
    assert [r["token_hash"] for r in rows] == [hashlib.sha256(secret.encode()).hexdigest()]
    assert secret not in str(rows)

    code, out, _ = await cli("token", "list")
    assert code == 0
    listed = [json.loads(line) for line in out.splitlines()]
    assert [(t["id"], t["name"], t["scopes"], t["active"]) for t in listed] == [
        (created["id"], "1C", ["conversations:read", "orders:write"], True)
    ]
    assert secret not in out
    assert "hash" not in out

    status, body = await live.api("GET", "/api/v1/conversations", secret)
    assert status == 200, body

    code, out, _ = await cli("token", "revoke", created["id"])
    assert code == 0
    assert json.loads(out)["active"] is False
    status, body = await live.api("GET", "/api/v1/conversations", secret)
    assert status == 401, body
    assert body["error"]["code"] == "unauthorized"

    code, _, err = await cli("token", "add", "bad", "--scope", "orders:delete")
    assert code == 2
    assert "unknown scope" in err
    code, _, err = await cli("token", "revoke", "nope")
    assert code == 1
    assert "no API token" in err
    code, out, _ = await cli("token", "list")
    assert len(out.splitlines()) == 1  # the refused one was not stored


async def test_scopes_decide_and_tokens_never_reach_operator_routes(live: Live) -> None:
    await live.add_operator("root", Role.ADMIN)
    await live.add_operator("anna")
    admin, anna = await live.token("root"), await live.token("anna")
    status, created = await live.api(
        "POST", "/api/v1/tokens", admin, json={"name": "CRM", "scopes": ["conversations:read"]}
    )
    assert status == 201, created
    secret = created["token"]

    status, body = await live.api("GET", "/api/v1/conversations", secret)
    assert status == 200, body
    # Without the scope: 403 saying which one is missing.
    status, body = await live.api(
        "POST", "/api/v1/orders", secret, json={"conversation_id": "x", "lines": []}
    )
    assert status == 403, body
    assert body["error"] == {
        "code": "forbidden",
        "message": "this API token lacks the scope orders:write",
    }
    # Routes with no scope refuse every token: no escalation to operator management.
    for method, path in (
        ("GET", "/api/v1/operators"),
        ("POST", "/api/v1/operators"),
        ("GET", "/api/v1/tokens"),
        ("POST", "/api/v1/tokens"),
        ("GET", "/api/v1/me"),
    ):
        status, body = await live.api(method, path, secret, json={})
        assert status == 403, (method, path, body)
        assert "for operators" in body["error"]["message"]
    # Only admins manage tokens; bad input is 400 and stores nothing.
    status, body = await live.api(
        "POST", "/api/v1/tokens", anna, json={"name": "x", "scopes": ["orders:read"]}
    )
    assert status == 403, body
    for payload in (
        {"name": "x", "scopes": ["orders:everything"]},
        {"name": "x", "scopes": []},
        {"name": "", "scopes": ["orders:read"]},
        {"name": "x", "scopes": "orders:read"},
    ):
        status, body = await live.api("POST", "/api/v1/tokens", admin, json=payload)
        assert status == 400, (payload, body)
    status, body = await live.api("GET", "/api/v1/tokens", admin)
    assert status == 200
    assert [t["name"] for t in body["tokens"]] == ["CRM"]
    assert secret not in json.dumps(body)
    assert body["tokens"][0]["last_used_at"] is not None

    status, body = await live.api("DELETE", f"/api/v1/tokens/{created['id']}", admin)
    assert status == 200, body
    assert body["token"]["active"] is False
    status, body = await live.api("GET", "/api/v1/conversations", secret)
    assert status == 401, body
    status, body = await live.api("GET", "/api/v1/conversations", "inbx_" + "x" * 43)
    assert status == 401, body
    status, body = await live.api("DELETE", "/api/v1/tokens/nope", admin)
    assert status == 404, body


async def test_an_api_token_opens_no_operator_socket(live: Live) -> None:
    await live.add_operator("root", Role.ADMIN)
    status, created = await live.api(
        "POST",
        "/api/v1/tokens",
        await live.token("root"),
        json={"name": "CRM", "scopes": sorted(SCOPES)},
    )
    assert status == 201, created
    async with connect(live.ws_url("/ws/operator")) as ws:
        await ws.send(json.dumps({"type": "auth", "token": created["token"]}))
        frame = json.loads(await ws.recv())
        assert (frame["type"], frame["code"]) == ("error", "unauthorized")


async def test_tokens_stay_out_of_the_logs(live: Live, caplog: pytest.LogCaptureFixture) -> None:
    # Before the first request: a connection's access log is on when its logger was.
    caplog.set_level(logging.DEBUG)
    await live.add_operator("root", Role.ADMIN)
    admin = await live.token("root")
    status, created = await live.api(
        "POST", "/api/v1/tokens", admin, json={"name": "CRM", "scopes": ["orders:read"]}
    )
    assert status == 201
    secret = created["token"]
    await live.api("GET", "/api/v1/orders", secret)
    await live.api("GET", "/api/v1/operators", secret)
    await live.api("GET", "/api/v1/orders", secret + "x")
    assert any(r.name == "aiohttp.access" for r in caplog.records)  # the log was on
    assert secret not in caplog.text


def _live_scopes(live: Live) -> dict[tuple[str, str], str | None]:
    found: dict[tuple[str, str], str | None] = {}
    for route in live.app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if not path.startswith("/api/v1") or route.method == "HEAD":
            continue
        if (route.method, path) in PUBLIC:
            continue
        assert hasattr(route.handler, ROUTE_SCOPE), (
            f"{route.method} {path} is not built with authed(..., scope=...)"
        )
        found[(route.method, path)] = getattr(route.handler, ROUTE_SCOPE)
    return found


def _documented_scopes() -> dict[tuple[str, str], str | None]:
    """The table in docs/api.md, "Scopes of the routes": | METHOD | `/path` | scope |."""
    text = DOCS.read_text("utf-8")
    section = text.split("### Scopes of the routes", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (GET|POST|PUT|PATCH|DELETE) \| `([^`]+)` \| ([^|]+) \|", section, re.M)
    return {
        (method, path): (None if scope.strip() == "—" else scope.strip().strip("`"))
        for method, path, scope in rows
    }


async def test_every_api_route_states_its_scope_and_the_docs_list_it(live: Live) -> None:
    found = _live_scopes(live)
    assert found, "no /api/v1 routes found"
    assert all(scope is None or scope in SCOPES for scope in found.values())
    assert _documented_scopes() == found
    documented = DOCS.read_text("utf-8")
    for scope, meaning in SCOPES.items():
        assert f"| `{scope}` | {meaning} |" in documented, scope
