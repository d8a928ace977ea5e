"""Login throttling (CONTRACT.md; docs/api.md, "Login throttling"): repeated failures for a
login or an address answer 429 with Retry-After, for the right password too, until the
delay ends; the delay grows and is bounded; a success resets the login's counter; two
server processes on one database share the counters. A fake clock moves time. Runs on
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from inbox.domain.clock import FixedClock
from inbox.domain.operators import Role
from inbox.domain.throttle import ADDRESS_POLICY, LOGIN_POLICY
from inbox.usecases import add_operator
from operator_ws import Argon2PasswordHasher
from operator_ws.rest.client_address import client_address, parse_networks
from server.app import SERVICES, create_app
from server.config import ConfigError, load_settings
from tests.e2e.conftest import PASSWORD, make_settings


@dataclass
class Pair:
    """Two server processes on one database, with one clock the test moves."""

    clock: FixedClock
    a: TestServer
    b: TestServer
    http: aiohttp.ClientSession

    async def login(self, server: TestServer, login: str, password: str) -> tuple[int, str | None]:
        async with self.http.post(
            server.make_url("/api/v1/auth/login"), json={"login": login, "password": password}
        ) as resp:
            body = await resp.json()
            if resp.status == 429:
                assert body["error"]["code"] == "too_many_attempts", body
            else:
                assert "Retry-After" not in resp.headers
            return resp.status, resp.headers.get("Retry-After")


@pytest.fixture
async def pair(database_url: str, tmp_path: Path) -> AsyncIterator[Pair]:
    clock = FixedClock()
    hasher = Argon2PasswordHasher(fast_for_tests=True)
    servers = []
    try:
        for name in ("a", "b"):
            app = await create_app(
                make_settings(database_url, tmp_path / name), clock=clock, hasher=hasher
            )
            server = TestServer(app, host="127.0.0.1")
            await server.start_server()
            servers.append(server)
        core = servers[0].app[SERVICES].core
        for login in ("anna", "boris"):
            await add_operator(core, hasher, login=login, password=PASSWORD, role=Role.OPERATOR)
        async with aiohttp.ClientSession() as http:
            yield Pair(clock, servers[0], servers[1], http)
    finally:
        for server in servers:
            await server.close()


def test_the_delay_grows_and_is_bounded() -> None:
    delays = [LOGIN_POLICY.delay(n).total_seconds() for n in range(12)]
    assert delays == [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60]
    assert LOGIN_POLICY.delay(10_000) == timedelta(minutes=1)
    assert ADDRESS_POLICY.delay(19) == timedelta(0)
    assert ADDRESS_POLICY.delay(20) == timedelta(seconds=1)
    assert ADDRESS_POLICY.delay(10_000) == timedelta(minutes=15)


async def test_failures_on_one_process_throttle_the_right_password_on_the_other(
    pair: Pair,
) -> None:
    for _ in range(5):
        assert await pair.login(pair.a, "anna", "wrong password") == (401, None)
    # The sixth try, on the other process, with the right password: wait a second.
    assert await pair.login(pair.b, "anna", PASSWORD) == (429, "1")
    assert await pair.login(pair.a, "Anna ", PASSWORD) == (429, "1")  # case and spaces
    pair.clock.advance(1)
    assert await pair.login(pair.b, "anna", "wrong again") == (401, None)
    # Six failures: two seconds now, counted from the last failure.
    assert await pair.login(pair.a, "anna", PASSWORD) == (429, "2")
    pair.clock.advance(1.5)
    assert await pair.login(pair.b, "anna", PASSWORD) == (429, "1")  # 0.5 s, rounded up
    pair.clock.advance(0.5)
    assert (await pair.login(pair.b, "anna", PASSWORD))[0] == 200
    # The success reset the login's counter: a wrong password is a plain 401 again.
    assert await pair.login(pair.a, "anna", "wrong password") == (401, None)
    assert (await pair.login(pair.a, "anna", PASSWORD))[0] == 200
    # Another login was never affected.
    assert (await pair.login(pair.a, "boris", PASSWORD))[0] == 200


async def test_the_delay_is_capped_and_forgotten(pair: Pair) -> None:
    waits = []
    for _ in range(15):
        status, retry_after = await pair.login(pair.a, "anna", "wrong password")
        if status == 429:
            assert retry_after is not None
            waits.append(int(retry_after))
            pair.clock.advance(int(retry_after))
            status, _ = await pair.login(pair.a, "anna", "wrong password")
        assert status == 401
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]
    assert await pair.login(pair.b, "anna", PASSWORD) == (429, "60")
    pair.clock.advance(3600)  # an hour without a failure: the counter starts over
    assert (await pair.login(pair.b, "anna", PASSWORD))[0] == 200


async def test_one_address_trying_many_logins_is_throttled(pair: Pair) -> None:
    for n in range(20):
        assert await pair.login(pair.a, f"guess{n}", "wrong password") == (401, None)
    # 20 failures from 127.0.0.1: every login from there waits, the right one too.
    assert await pair.login(pair.b, "boris", PASSWORD) == (429, "1")
    pair.clock.advance(1)
    assert (await pair.login(pair.b, "boris", PASSWORD))[0] == 200
    # A success does not clear the address: its next failure waits longer.
    assert await pair.login(pair.a, "guess-more", "wrong password") == (401, None)
    assert await pair.login(pair.a, "anna", PASSWORD) == (429, "2")


def test_the_client_address_behind_trusted_proxies() -> None:
    trusted = parse_networks("127.0.0.1, 10.0.0.0/8")
    # Directly connected: the peer, whatever it claims.
    assert client_address("203.0.113.9", "198.51.100.1", trusted) == "203.0.113.9"
    assert client_address("127.0.0.1", None, trusted) == "127.0.0.1"
    # Through trusted proxies: the rightmost hop that is not one of them.
    assert client_address("127.0.0.1", "198.51.100.1", trusted) == "198.51.100.1"
    assert client_address("127.0.0.1", "1.1.1.1, 198.51.100.1, 10.0.0.7", trusted) == (
        "198.51.100.1"
    )
    assert client_address("127.0.0.1", "10.0.0.8, 10.0.0.7", trusted) == "10.0.0.8"
    # No proxies configured: the header means nothing.
    assert client_address("127.0.0.1", "198.51.100.1", []) == "127.0.0.1"
    with pytest.raises(ValueError, match="not an address or network: 'proxy'"):
        parse_networks("10.0.0.1, proxy")
    with pytest.raises(ConfigError, match="INBOX_TRUSTED_PROXIES: not an address"):
        load_settings({"INBOX_TRUSTED_PROXIES": "10.0.0.0/8,lb"}, toml_path="absent.toml")
    assert load_settings({"INBOX_TRUSTED_PROXIES": "::1"}, toml_path="absent.toml").trusted_proxies


async def _login_via(
    http: aiohttp.ClientSession, server: TestServer, client: str, name: str, password: str
) -> int:
    async with http.post(
        server.make_url("/api/v1/auth/login"),
        json={"login": name, "password": password},
        headers={"X-Forwarded-For": client},
    ) as resp:
        return resp.status


async def test_behind_a_trusted_proxy_each_client_has_its_own_counter(
    database_url: str, tmp_path: Path
) -> None:
    hasher = Argon2PasswordHasher(fast_for_tests=True)
    for trusted, separate in (("127.0.0.1", True), ("", False)):
        app = await create_app(
            make_settings(database_url, tmp_path / str(separate), trusted_proxies=trusted),
            clock=FixedClock(),
            hasher=hasher,
        )
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            if separate:
                core = app[SERVICES].core
                await add_operator(core, hasher, login="boris", password=PASSWORD)
            async with aiohttp.ClientSession() as http:
                for n in range(20):
                    status = await _login_via(
                        http, server, "198.51.100.1", f"guess{n}{separate}", "wrong"
                    )
                    assert status == 401
                assert await _login_via(http, server, "198.51.100.1", "boris", PASSWORD) == 429
                # Another client behind the same proxy is not slowed down -- unless the
                # proxy is not trusted, and then the header changes nothing.
                expected = 200 if separate else 429
                assert await _login_via(http, server, "198.51.100.2", "boris", PASSWORD) == (
                    expected
                )
        finally:
            await server.close()
