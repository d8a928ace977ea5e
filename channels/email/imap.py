"""One IMAP connection to one mailbox (aioimaplib 2.x), reading new mail by UID.

Facts this relies on (channel-contracts.md §4.1, checked against Dovecot 2.3.19):

* SELECT reports ``OK [UIDVALIDITY n]``; UIDs only mean something with their UIDVALIDITY
  (RFC 3501 §2.3.1.1), so the cursor is ``"<uidvalidity>:<last uid>"``.
* ``UID SEARCH UID n:*`` always includes the highest UID even when it is below ``n``
  (RFC 3501 §6.4.8): we filter ``uid > last`` ourselves.
* ``BODY.PEEK[]`` leaves ``\\Seen`` alone: the shop's own mail client still sees the mail
  as unread.
* IDLE (RFC 2177) ends when the server pushes ``EXISTS``; it must be renewed within 29
  minutes, and our waits are far shorter (the poller asks for ≤ 25 s).
* aioimaplib does not fail pending commands when the connection drops (they wait for
  their timeout), so every call here races against a "connection lost" future.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import aioimaplib  # type: ignore[import-untyped]  # no type hints; wrapped narrowly here

from channels.email.errors import IMAP_FAILURES, ImapError, ImapLoginRefused, imap_error
from channels.email.options import EmailOptions

__all__ = ["COMMAND_TIMEOUT", "FETCH_TIMEOUT", "FetchedMail", "ImapSession"]

T = TypeVar("T")

#: Seconds for one ordinary command (aioimaplib's own timer restarts as data arrives).
COMMAND_TIMEOUT: Final = 20.0
#: Seconds for a whole FETCH of one batch (large attachments over a slow link).
FETCH_TIMEOUT: Final = 300.0
_UIDVALIDITY: Final = re.compile(rb"UIDVALIDITY (\d+)")
_FETCH_START: Final = re.compile(rb"^\d+ FETCH \(")
_UID: Final = re.compile(rb"UID (\d+)")
_SIZE: Final = re.compile(rb"RFC822\.SIZE (\d+)")
_EXISTS: Final = re.compile(rb"^\d+ EXISTS$")


@dataclass(frozen=True, slots=True)
class FetchedMail:
    uid: int
    raw: bytes
    #: True when only the headers were fetched (the mail is over the size limit).
    headers_only: bool = False
    size: int = 0


class ImapSession:
    """A logged-in connection with the folder selected. Not safe for concurrent use: the
    adapter serialises calls per channel."""

    def __init__(self, options: EmailOptions, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.options = options
        self._ssl_context = ssl_context
        self._client: Any = None
        self._lost: asyncio.Future[None] | None = None
        self.uidvalidity = 0

    @property
    def alive(self) -> bool:
        return self._client is not None and self._lost is not None and not self._lost.done()

    async def open(self) -> None:
        """Connect, log in and SELECT the folder. Raises :class:`ImapLoginRefused` or
        :class:`ImapError`."""
        opts = self.options
        loop = asyncio.get_running_loop()
        self._lost = loop.create_future()
        lost = self._lost

        def on_lost(exc: Exception | None) -> None:
            if not lost.done():
                lost.set_result(None)
            client = self._client
            if client is not None and client.protocol.has_pending_idle_command():
                client.protocol.idle_queue.put_nowait(aioimaplib.STOP_WAIT_SERVER_PUSH)

        try:
            if opts.imap_tls == "ssl":
                context = self._ssl_context or ssl.create_default_context()
                self._client = aioimaplib.IMAP4_SSL(
                    opts.imap_host, opts.imap_port, timeout=COMMAND_TIMEOUT, ssl_context=context
                )
                self._client.protocol.conn_lost_cb = on_lost
            else:
                self._client = aioimaplib.IMAP4(
                    opts.imap_host, opts.imap_port, timeout=COMMAND_TIMEOUT, conn_lost_cb=on_lost
                )
            await self._call(self._client.wait_hello_from_server())
            if opts.imap_tls == "starttls":
                await self._starttls()
            login = await self._call(self._client.login(opts.username, opts.password))
            if login.result != "OK":
                raise ImapLoginRefused(_text(login.lines))
            await self.select()
        except ImapError:
            await self.close()
            raise
        except IMAP_FAILURES as exc:
            await self.close()
            raise imap_error(exc) from exc

    async def _starttls(self) -> None:
        """RFC 3501 §6.2.1. aioimaplib has the command in its table but no method."""
        protocol = self._client.protocol
        if "STARTTLS" not in protocol.capabilities:
            raise ImapError("the IMAP server does not offer STARTTLS (set imap_tls=ssl or none)")
        command = aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
        response = await self._call(protocol.execute(command))
        if response.result != "OK":
            raise ImapError("STARTTLS refused: " + _text(response.lines))
        context = self._ssl_context or ssl.create_default_context()
        loop = asyncio.get_running_loop()
        protocol.transport = await loop.start_tls(
            protocol.transport, protocol, context, server_hostname=self.options.imap_host
        )
        protocol.capabilities = set()
        await self._call(protocol.capability())  # capabilities may change after TLS

    async def select(self) -> int:
        response = await self._call(self._client.select(self.options.folder))
        if response.result != "OK":
            raise ImapError(f"cannot open folder {self.options.folder}: {_text(response.lines)}")
        for line in response.lines:
            found = _UIDVALIDITY.search(bytes(line))
            if found:
                self.uidvalidity = int(found.group(1))
                return self.uidvalidity
        raise ImapError("the server did not report UIDVALIDITY")

    async def new_uids(self, after: int) -> list[int]:
        """UIDs above ``after``, ascending."""
        response = await self._call(self._client.uid_search(f"UID {after + 1}:*", charset=None))
        if response.result != "OK":
            raise ImapError("UID SEARCH failed: " + _text(response.lines))
        uids: set[int] = set()
        for line in response.lines[:-1]:
            # aioimaplib strips the "SEARCH" of its own untagged reply; an unsolicited
            # "3 EXISTS" may sit among the lines, so only all-digit lines count.
            words = bytes(line).split()
            if words[:1] == [b"SEARCH"]:
                words = words[1:]
            if words and all(w.isdigit() for w in words):
                uids.update(int(w) for w in words)
        return sorted(u for u in uids if u > after)

    async def fetch(self, uids: list[int], max_bytes: int) -> list[FetchedMail]:
        """The raw mails with these UIDs (missing ones — expunged meanwhile — skipped);
        mails over ``max_bytes`` come as headers only."""
        if not uids:
            return []
        joined = ",".join(str(u) for u in uids)
        sizes = {
            uid: size
            for uid, size, _ in await self._fetch(joined, "(UID RFC822.SIZE)", COMMAND_TIMEOUT)
        }
        small = [u for u in uids if 0 < sizes.get(u, 0) <= max_bytes]
        big = [u for u in uids if sizes.get(u, 0) > max_bytes]
        got: dict[int, FetchedMail] = {}
        if small:
            spec = ",".join(str(u) for u in small)
            for uid, _, data in await self._fetch(spec, "(UID BODY.PEEK[])", FETCH_TIMEOUT):
                if uid in sizes and data is not None:
                    got[uid] = FetchedMail(uid, data, size=sizes[uid])
        if big:
            spec = ",".join(str(u) for u in big)
            for uid, _, data in await self._fetch(spec, "(UID BODY.PEEK[HEADER])", FETCH_TIMEOUT):
                if uid in sizes and data is not None:
                    got[uid] = FetchedMail(uid, data, headers_only=True, size=sizes[uid])
        return [got[u] for u in uids if u in got]

    async def _fetch(
        self, uid_set: str, items: str, limit_s: float
    ) -> list[tuple[int, int, bytes | None]]:
        response = await self._call(self._client.uid("fetch", uid_set, items), limit_s)
        if response.result != "OK":
            raise ImapError("UID FETCH failed: " + _text(response.lines))
        return _parse_fetch(response.lines[:-1])

    async def idle(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for new mail (IDLE, or a NOOP poll when the server has
        no IDLE). True when the server reported new messages."""
        client = self._client
        if not client.has_capability("IDLE"):
            await asyncio.sleep(min(seconds, 5.0))
            response = await self._call(client.noop())
            return any(_EXISTS.match(bytes(line)) for line in response.lines)
        queue = client.protocol.idle_queue
        while not queue.empty():
            queue.get_nowait()
        idle = await self._call(client.idle_start(timeout=seconds))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        news = False
        try:
            while not news:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    pushed = await client.wait_server_push(timeout=remaining)
                except TimeoutError:
                    break
                if pushed == aioimaplib.STOP_WAIT_SERVER_PUSH:
                    break
                news = any(_EXISTS.match(bytes(line)) for line in pushed)
        finally:
            if self.alive and client.has_pending_idle():
                client.idle_done()
                await self._call(idle, 5.0)
        if not self.alive:
            raise ImapError("the connection dropped during IDLE")
        return news

    async def append(self, raw: bytes, folder: str | None = None) -> None:
        """APPEND a mail (tests and tools use it to put mail into the mailbox)."""
        response = await self._call(self._client.append(raw, mailbox=folder or self.options.folder))
        if response.result != "OK":
            raise ImapError("APPEND failed: " + _text(response.lines))

    async def close(self) -> None:
        """LOGOUT if still connected; never raises."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            if self._lost is not None and not self._lost.done():
                if client.has_pending_idle():  # a poll was cancelled mid-IDLE
                    client.idle_done()
                async with asyncio.timeout(3.0):
                    await client.logout()
        except Exception:  # noqa: S110 - closing a broken connection: nothing to do
            pass
        finally:
            transport = getattr(client.protocol, "transport", None)
            if transport is not None:
                transport.close()
            if self._lost is not None and not self._lost.done():
                self._lost.set_result(None)

    async def _call(self, awaitable: Awaitable[T], limit_s: float = COMMAND_TIMEOUT) -> T:
        """Await an aioimaplib call, failing fast when the connection drops."""
        lost = self._lost
        task: asyncio.Future[T] = asyncio.ensure_future(awaitable)
        if lost is None:
            async with asyncio.timeout(limit_s):
                return await task
        waiting: set[asyncio.Future[Any]] = {task, lost}
        try:
            done, _ = await asyncio.wait(
                waiting, timeout=limit_s, return_when=asyncio.FIRST_COMPLETED
            )
        except asyncio.CancelledError:
            task.cancel()
            raise
        if task in done:
            try:
                return task.result()
            except IMAP_FAILURES as exc:
                raise imap_error(exc) from exc
        task.cancel()
        if lost.done():
            raise ImapError("the connection to the IMAP server dropped")
        raise ImapError(f"the IMAP server did not answer within {limit_s:.0f} s")


def _text(lines: list[Any]) -> str:
    """The server's last (tagged) reply text, for the operator; never contains our input."""
    if not lines:
        return "no reply"
    last = lines[-1]
    raw = bytes(last) if isinstance(last, bytes | bytearray) else str(last).encode()
    return raw.decode("utf-8", "replace")[:200]


def _parse_fetch(lines: list[Any]) -> list[tuple[int, int, bytes | None]]:
    """``(uid, size, literal)`` per FETCH response. Each is a ``N FETCH (`` line, then
    (when a literal follows) the literal as a ``bytearray`` and the closing text line,
    which may carry more items (``UID`` can come after the literal)."""
    results: list[tuple[int, int, bytes | None]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if isinstance(line, bytearray) or not _FETCH_START.match(bytes(line)):
            i += 1
            continue
        meta = bytes(line)
        literal: bytes | None = None
        if meta.endswith(b"}") and i + 1 < len(lines) and isinstance(lines[i + 1], bytearray):
            literal = bytes(lines[i + 1])
            i += 2
            if i < len(lines) and not isinstance(lines[i], bytearray):
                tail = bytes(lines[i])
                if not _FETCH_START.match(tail):
                    meta += b" " + tail
                    i += 1
        else:
            i += 1
        uid = _UID.search(meta)
        size = _SIZE.search(meta)
        if uid:
            results.append((int(uid.group(1)), int(size.group(1)) if size else 0, literal))
    return results
