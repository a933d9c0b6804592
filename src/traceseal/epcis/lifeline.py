"""Worker processes that exit when the server that started them is gone.

A capture worker (pipeline.py) waits on its task queue, and holds that queue's writing end
itself, so it never reads end-of-file when the server dies. Nor does the fork server it was
forked from exit: CPython's fork server stops when every holder of its "alive" pipe has
closed it, and each worker inherits that pipe too. A server killed with SIGKILL (``kill -9``,
the OOM killer, a supervisor's stop timeout) would leave the fork server and every worker
running for good. So each worker, as it starts, calls :func:`bind_to`:

1. It follows the **server** (its pid, taken in the server when the pool is made), not its
   parent: with ``forkserver`` a worker's parent is the fork server. On Linux it waits on a
   pidfd of the server, which becomes readable the moment the server exits (even before
   anyone reaps it); elsewhere a thread checks twice a second that the server still exists
   (there, a dead server its parent has not reaped yet still counts) and that the worker has
   not been re-parented. Either way the worker then exits at once
   (``os._exit``: nothing is left to clean up for a server that is gone). Once the workers
   are gone, the alive pipe closes and the fork server exits by itself.
2. On Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` also has the kernel kill the worker when
   its parent (the fork server) dies, whatever killed it.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import sys
import threading
import time

#: How often the portable watch looks at the server, in seconds.
POLL_SECONDS = 0.5
#: linux/prctl.h
_PR_SET_PDEATHSIG = 1


def bind_to(server: int) -> None:
    """Make this process exit when process ``server`` does (see the module's docstring).

    Call it first thing in a child process; ``server`` is the pid of the process whose
    lifetime the child must not outlive (read there, not here: here it may be gone).
    """
    parent = os.getppid()
    if sys.platform == "linux":
        _die_with_parent()
    if not _exists(server):
        os._exit(1)  # it died while this process was starting
    threading.Thread(
        target=_watch, args=(server, parent), name="traceseal-server-watch", daemon=True
    ).start()


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # no prctl here (a libc without it): the watch below still applies


def _watch(server: int, parent: int) -> None:
    try:
        handle = os.pidfd_open(server) if hasattr(os, "pidfd_open") else None
    except ProcessLookupError:
        os._exit(1)
    except OSError:
        handle = None  # a kernel before 5.3: poll instead
    if handle is not None:
        select.select([handle], [], [])  # readable once the server has exited
        os._exit(1)
    while _exists(server) and os.getppid() == parent:
        time.sleep(POLL_SECONDS)
    os._exit(1)


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    return True
