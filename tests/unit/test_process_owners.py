"""Lease owners named after their process (server.process_owners): which owners are gone.
Real processes: a child that ended, this process, a pid whose start time differs."""

from __future__ import annotations

import os
import subprocess
import sys

from inbox.owners import RandomOwners, Reclaiming
from server.process_owners import LocalProcessOwners


def _fields(owner: str) -> list[str]:
    return owner.rpartition("@")[2].split("/")


def test_this_process_is_not_gone_and_an_ended_child_is() -> None:
    owners = LocalProcessOwners()
    me = owners.new("delivery")
    assert me.startswith("delivery-")
    host, boot, pid, start = _fields(me)
    assert int(pid) == os.getpid()
    assert not owners.gone(me)
    assert not owners.gone(owners.new("poller"))  # another worker of this process

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    ended = f"delivery-x@{host}/{boot}/{child.pid}/{start}"
    assert owners.gone(ended)


def test_a_reused_pid_an_earlier_boot_are_gone_another_machine_is_not() -> None:
    owners = LocalProcessOwners()
    host, boot, pid, start = _fields(owners.new("delivery"))
    if start != "-":  # /proc is there: the pid's start time tells processes apart
        assert owners.gone(f"delivery-x@{host}/{boot}/{pid}/{int(start) + 1}")
    if boot != "-":
        assert owners.gone(f"delivery-x@{host}/{'0' * 8}/{pid}/{start}")
    assert not owners.gone(f"delivery-x@another-{host}/{boot}/1/1")
    for garbage in ("delivery-abc", "a@b", "a@b/c/d/e", f"a@{host}/{boot}/pid/1", ""):
        assert not owners.gone(garbage)


def test_reclaiming_is_due_first_then_every_interval_and_never_for_random_owners() -> None:
    now = [100.0]
    owners = LocalProcessOwners()
    me = owners.new("delivery")
    reclaiming = Reclaiming(owners, me, 10.0, clock=lambda: now[0])
    assert reclaiming.due()
    assert not reclaiming.due()
    now[0] += 10.0
    assert reclaiming.due()
    assert reclaiming.gone([me]) == []
    random_owners = RandomOwners()
    assert not Reclaiming(random_owners, random_owners.new("x"), 0.0).due()
