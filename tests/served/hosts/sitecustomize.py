"""A hosts file for one process: put this directory on a served instance's PYTHONPATH and
name the file in SERVED_TEST_HOSTS (lines of ``address name``, read at every lookup).

The SSRF tests need a public-looking name that resolves to 127.0.0.1 when the server
delivers a webhook. Without network there is no DNS to rebind, and /etc/hosts is the
machine's, not the test's. TraceSeal resolves names with ``socket.getaddrinfo``, the C
library's resolver, as every Python program does; this module, which Python imports at
start-up (``site``), puts a lookup in this file in front of it for the names the file lists
and leaves every other name to the real resolver. It is the job nss_wrapper's
NSS_WRAPPER_HOSTS does for C programs. TraceSeal's own code, ``traceseal.outbound``
included, runs unchanged: it resolves, checks and connects exactly as in production.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

_system_getaddrinfo = socket.getaddrinfo


def _listed(name: str) -> list[str]:
    path = os.environ.get("SERVED_TEST_HOSTS")
    if not path:
        return []
    wanted = name.rstrip(".").lower()
    addresses = []
    for line in Path(path).read_text().splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and wanted in (f.lower() for f in fields[1:]):
            addresses.append(fields[0])
    return addresses


def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
    addresses = _listed(host) if isinstance(host, str) else []
    if not addresses:
        return _system_getaddrinfo(host, port, *args, **kwargs)
    found: list[Any] = []
    for address in addresses:
        found.extend(_system_getaddrinfo(address, port, *args, **kwargs))
    return found


socket.getaddrinfo = getaddrinfo
