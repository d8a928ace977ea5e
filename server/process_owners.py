"""Lease owners named after their process, so that a dead one can be recognised.

An owner is ``{role}-{random}@{host}/{boot}/{pid}/{start}``: the machine's host name, its
boot id (``/proc/sys/kernel/random/boot_id``), the process id and the process's start
time in clock ticks since boot (``/proc/<pid>/stat``, field 22). On this machine an owner
is *gone* when it was named during an earlier boot, when its pid runs no process, or
when the pid now belongs to another process (a different start time: pids are reused).
An owner of another machine, or one whose name does not parse, is never called gone: its
leases run out after their term, as before. Without ``/proc`` (not Linux) the start time
is unknown and only a pid that runs nothing counts as gone.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from inbox.domain.ids import new_id

__all__ = ["LocalProcessOwners"]

_PROC = Path("/proc")


def _boot_id() -> str:
    try:
        return (_PROC / "sys/kernel/random/boot_id").read_text("ascii").strip()[:8] or "-"
    except OSError:
        return "-"


def _start_ticks(pid: int) -> str | None:
    """The process's start time (field 22 of /proc/<pid>/stat), ``None`` if there is no
    such process, ``"-"`` if it cannot be read here."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text("ascii", "replace")
    except FileNotFoundError:
        return None
    except OSError:
        return "-"
    # The command name (field 2) is in parentheses and may hold spaces or parentheses.
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else "-"


def _pid_runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # somebody else's process
    return True


class LocalProcessOwners:
    """:class:`inbox.owners.LeaseOwners` for the processes of this machine."""

    def __init__(self) -> None:
        self._host = socket.gethostname().replace("/", "_").replace("@", "_") or "host"
        self._boot = _boot_id()
        self._pid = os.getpid()
        self._start = _start_ticks(self._pid) or "-"

    def new(self, role: str) -> str:
        return f"{role}-{new_id()[:12]}@{self._host}/{self._boot}/{self._pid}/{self._start}"

    def gone(self, owner: str) -> bool:
        _, at, where = owner.rpartition("@")
        parts = where.split("/")
        if not at or len(parts) != 4:
            return False
        host, boot, pid_text, start = parts
        if host != self._host or not pid_text.isdigit():
            return False
        if boot != self._boot and "-" not in (boot, self._boot):
            return True  # named before this machine last booted
        pid = int(pid_text)
        if pid == self._pid and start == self._start:
            return False  # this very process
        now = _start_ticks(pid)
        if now is None:
            return True
        if now == "-" or start == "-":
            return not _pid_runs(pid)
        return now != start
