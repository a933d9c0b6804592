"""A TCP proxy in front of the test PostgreSQL that drops some connection options, as a
pooler does (PgBouncer with ``ignore_startup_parameters = options``).

It speaks the start of PostgreSQL's frontend/backend protocol (protocol 3.0, "Message
Flow: Start-up"): it refuses SSL and GSS encryption requests with ``N``, rewrites the
``options`` parameter of the StartupMessage without the ``-c NAME=VALUE`` settings it was
told to drop, and from then on relays bytes both ways unchanged.
"""

from __future__ import annotations

import re
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

#: Request codes sent in place of a protocol version (SSLRequest, GSSENCRequest).
_ENCRYPTION_REQUESTS = {80877103, 80877104}


class OptionsDropper:
    def __init__(self, upstream: tuple[str, int], dropped: tuple[str, ...]) -> None:
        self.upstream = upstream
        names = "|".join(map(re.escape, dropped))
        self._dropped = re.compile(rf"-c\s*({names})=\S+")
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        #: Connections whose options lost a setting.
        self.stripped = 0
        self._lock = threading.Lock()

    def serve(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def close(self) -> None:
        self._server.close()

    def _handle(self, client: socket.socket) -> None:
        with client:
            message = self._startup(client)
            if message is None:
                return
            with socket.create_connection(self.upstream) as server:
                server.sendall(message)
                back = threading.Thread(target=_relay, args=(server, client), daemon=True)
                back.start()
                _relay(client, server)
                back.join()

    def _startup(self, client: socket.socket) -> bytes | None:
        while True:
            head = _read(client, 8)
            if head is None:
                return None
            length, code = struct.unpack("!ii", head)
            body = _read(client, length - 8)
            if body is None:
                return None
            if code in _ENCRYPTION_REQUESTS:
                client.sendall(b"N")
                continue
            fields = body.rstrip(b"\0").split(b"\0")
            pairs = dict(zip(fields[::2], fields[1::2], strict=True))
            options = pairs.get(b"options", b"").decode()
            kept = self._dropped.sub("", options).strip()
            if kept != options:
                with self._lock:
                    self.stripped += 1
            pairs[b"options"] = kept.encode()
            rebuilt = b"".join(k + b"\0" + v + b"\0" for k, v in pairs.items()) + b"\0"
            return struct.pack("!ii", len(rebuilt) + 8, code) + rebuilt


def _read(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _relay(source: socket.socket, target: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
    except OSError:
        pass
    finally:
        with suppress(OSError):
            target.shutdown(socket.SHUT_WR)


@contextmanager
def dropping_options(upstream: tuple[str, int], *dropped: str) -> Iterator[OptionsDropper]:
    proxy = OptionsDropper(upstream, dropped)
    threading.Thread(target=proxy.serve, daemon=True).start()
    try:
        yield proxy
    finally:
        proxy.close()
