"""A real server on a real port, driven by real WebSocket clients (the ``websockets``
package) for both the operator and the customer. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from websockets.asyncio.client import ClientConnection, connect

from inbox.domain.channels import ChannelKind
from inbox.domain.operators import Operator, Role
from inbox.usecases import Core, add_channel, add_operator
from operator_ws import Argon2PasswordHasher
from server.app import SERVICES, create_app
from server.config import Settings

PASSWORD = "correct horse battery"
#: A deadline, not a timing: passing tests never wait it out, and a loaded CI machine once
#: took over 5 s to answer the first web chat hello on PostgreSQL.
TIMEOUT = 15.0
#: Frames that may arrive at any time and that tests waiting for something else skip.
BACKGROUND = {"heartbeat", "presence", "typing", "pong", "audience.changed"}


class OperatorClient:
    """An operator socket that checks, on every frame, that ``seq`` goes up by exactly 1."""

    def __init__(self, ws: ClientConnection, last_seq: int) -> None:
        self.ws = ws
        self.last_seq = last_seq
        self.seen: list[dict[str, Any]] = []
        self.pending: list[dict[str, Any]] = []

    async def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        if "seq" in frame:
            assert frame["seq"] == self.last_seq + 1, (frame, self.last_seq)
            self.last_seq = frame["seq"]
        self.seen.append(frame)
        return frame

    async def expect(self, type_: str, timeout: float = TIMEOUT, **match: Any) -> dict[str, Any]:
        """The first not yet expected event of this type (and these top-level values).

        Events of one change may come in any order (a message and its assignment), so
        frames passed over are kept for later ``expect`` calls; background frames are
        ignored; an ack or error nobody asked for fails the test."""

        def fits(frame: dict[str, Any]) -> bool:
            return frame["type"] == type_ and all(frame.get(k) == v for k, v in match.items())

        for frame in self.pending:
            if fits(frame):
                self.pending.remove(frame)
                return frame
        while True:
            frame = await self.recv(timeout)
            if fits(frame):
                return frame
            if frame["type"] in BACKGROUND:
                continue
            if frame["type"] in ("ack", "error", "resync_required"):
                raise AssertionError(f"expected {type_} {match}, got {frame}")
            self.pending.append(frame)

    async def send(self, **frame: Any) -> None:
        await self.ws.send(json.dumps(frame))

    async def command(self, type_: str, **fields: Any) -> dict[str, Any]:
        """Send a command with a fresh request id and return its ack (or error) frame;
        events arriving meanwhile are kept for ``expect``."""
        request_id = f"r{len(self.seen)}-{type_}"
        await self.send(type=type_, request_id=request_id, **fields)
        while True:
            frame = await self.recv()
            if frame.get("request_id") == request_id:
                return frame
            if frame["type"] not in BACKGROUND:
                self.pending.append(frame)

    async def no_frame(self, within: float = 0.3) -> None:
        """Nothing but background frames arrives for a while."""
        try:
            while True:
                frame = await self.recv(within)
                assert frame["type"] in BACKGROUND, frame
        except TimeoutError:
            return


class Customer:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        return frame

    async def expect(self, type_: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        while True:
            frame = await self.recv(timeout)
            if frame["type"] == type_:
                return frame
            if frame["type"] not in ("typing", "pong", "message"):
                raise AssertionError(f"expected {type_}, got {frame}")

    async def send(self, **frame: Any) -> None:
        await self.ws.send(json.dumps(frame))

    async def hello(self, **fields: Any) -> dict[str, Any]:
        await self.send(type="hello", **fields)
        return await self.expect("welcome")

    async def say(self, text: str, client_id: str) -> dict[str, Any]:
        await self.send(type="message", text=text, client_id=client_id)
        return await self.expect("ack")


@dataclass
class Live:
    app: web.Application
    server: TestServer
    channel_id: str
    http: aiohttp.ClientSession
    operators: dict[str, Operator] = field(default_factory=dict)
    _sockets: list[ClientConnection] = field(default_factory=list)

    @property
    def core(self) -> Core:
        return self.app[SERVICES].core

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    def ws_url(self, path: str) -> str:
        return self.url(path).replace("http://", "ws://")

    async def add_operator(
        self, login: str, role: Role = Role.OPERATOR, capacity: int = 5
    ) -> Operator:
        op = await add_operator(
            self.core,
            Argon2PasswordHasher(fast_for_tests=True),
            login=login,
            password=PASSWORD,
            display_name=login.title(),
            role=role,
            capacity=capacity,
        )
        self.operators[login] = op
        return op

    async def token(self, login: str) -> str:
        async with self.http.post(
            self.url("/api/v1/auth/login"), json={"login": login, "password": PASSWORD}
        ) as resp:
            assert resp.status == 200, await resp.text()
            body = await resp.json()
            return str(body["token"])

    async def operator(
        self, token: str, last_seq: int | None = None
    ) -> tuple[OperatorClient, dict[str, Any]]:
        ws = await connect(self.ws_url("/ws/operator"))
        self._sockets.append(ws)
        auth: dict[str, Any] = {"type": "auth", "token": token}
        if last_seq is not None:
            auth["last_seq"] = last_seq
        await ws.send(json.dumps(auth))
        ok = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        assert ok["type"] == "auth.ok", ok
        position = last_seq if ok["resumed"] and last_seq is not None else int(ok["last_seq"])
        return OperatorClient(ws, position), ok

    async def online_operator(self, login: str) -> OperatorClient:
        client, _ = await self.operator(await self.token(login))
        ack = await client.command("presence.set", status="online")
        assert ack["type"] == "ack", ack
        return client

    async def customer(self, channel_id: str | None = None) -> Customer:
        ws = await connect(self.ws_url(f"/ws/webchat/{channel_id or self.channel_id}"))
        self._sockets.append(ws)
        return Customer(ws)

    async def api(self, method: str, path: str, token: str, **kwargs: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"}
        async with self.http.request(method, self.url(path), headers=headers, **kwargs) as resp:
            return resp.status, await resp.json()


def make_settings(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": str(tmp_path / "data"),
        "ws_heartbeat_seconds": 30.0,
        "presence_grace_seconds": 30.0,
        # Tests that move a fake clock have no heartbeats in that clock; the routing tests
        # that check stale consoles turn this on.
        "presence_stale_seconds": 0.0,
        # A loaded CI machine can stall one write longer than any wait bound; the
        # back-pressure tests turn it on where they test it.
        "ingest_max_wait_ms": 0,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module to change the server's settings."""
    return {}


@pytest.fixture
async def live(
    database_url: str, tmp_path: Path, settings_overrides: dict[str, Any]
) -> AsyncIterator[Live]:
    app = await create_app(
        make_settings(database_url, tmp_path, **settings_overrides),
        hasher=Argon2PasswordHasher(fast_for_tests=True),
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    channel = await add_channel(app[SERVICES].core, ChannelKind("webchat"), "Shop", {})
    async with aiohttp.ClientSession() as http:
        env = Live(app, server, channel.id, http)
        try:
            yield env
        finally:
            for ws in env._sockets:
                await ws.close()
            await server.close()
