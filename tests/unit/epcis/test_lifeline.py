"""Each way a worker learns that its server is gone, on its own, with real processes:
the server's pidfd (even while the dead server is an unreaped zombie), the portable poll,
and the kernel's parent-death signal. The whole chain, through a served instance and the
fork server, is tests/functional/test_crash.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="pidfd and prctl are Linux's")

#: A process that binds itself to the pid in argv[1], says so, and would then sleep a minute.
_WORKER = textwrap.dedent(
    """
    import os, sys, time
    if sys.argv[2] == "poll":
        del os.pidfd_open  # as on a system without pidfds
    from traceseal.epcis.lifeline import bind_to
    bind_to(int(sys.argv[1]))
    print("bound", flush=True)
    time.sleep(60)
    """
)


def worker(server: int, how: str = "pidfd") -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", _WORKER, str(server), how], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "bound\n"
    return process


def sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


@linux_only
def test_a_worker_exits_when_its_server_does_even_before_the_server_is_reaped() -> None:
    with sleeper() as server, worker(server.pid) as bound:
        try:
            server.send_signal(signal.SIGKILL)  # not waited for: a zombie until the end
            assert bound.wait(timeout=5) != 0
        finally:
            bound.kill()


def test_without_pidfds_a_worker_polls_its_server() -> None:
    with sleeper() as server, worker(server.pid, "poll") as bound:
        try:
            server.kill()
            server.wait()
            assert bound.wait(timeout=5) != 0
        finally:
            bound.kill()


@linux_only
def test_a_worker_is_killed_with_its_parent_whatever_became_of_the_server() -> None:
    # The worker's parent is a middleman (as the fork server is); the server (this test)
    # lives on. The kernel's parent-death signal alone ends the worker.
    middleman = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time\n"
            f"w = subprocess.Popen([sys.executable, '-c', {_WORKER!r}, '{os.getpid()}', 'pidfd'],"
            " stdout=subprocess.PIPE, text=True)\n"
            "assert w.stdout.readline() == 'bound\\n'\n"
            "print(w.pid, flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    with middleman:
        assert middleman.stdout is not None
        orphan = int(middleman.stdout.readline())
        middleman.kill()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{orphan}/stat").read_text()
        except FileNotFoundError:
            return  # killed and reaped
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return  # killed, waiting to be reaped by whoever adopted it
        time.sleep(0.1)
    os.kill(orphan, signal.SIGKILL)
    pytest.fail("the worker outlived its parent")
