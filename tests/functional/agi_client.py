"""A test stand-in for Asterisk: it connects to a FastAGI server over TCP, sends a call's
``agi_*`` header block and answers each command as Asterisk 20 does (``200 result=...``),
with the caller's key presses from a script. Written from Asterisk's AGI command
documentation: GET DATA answers the digits (``result=`` and ``(timeout)`` if none),
STREAM FILE and WAIT FOR DIGIT the ASCII code of a key that interrupted them (0 if none),
HANGUP notifies ``HANGUP`` and a command after it answers ``511``."""

from __future__ import annotations

import asyncio
import re
import shlex
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

_T = TypeVar("_T")


def run_async(main: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    """``asyncio.run(main())`` in a thread of its own: a test before this one in the same
    process (Playwright's sync API) may have left an event loop running in this thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(main())).result()


_COMMAND = re.compile(r"(ANSWER|STREAM FILE|GET DATA|SET VARIABLE|HANGUP|WAIT FOR DIGIT)\b")


@dataclass
class CallLog:
    """What the server did in one call, as Asterisk saw it."""

    #: Every file played (STREAM FILE and GET DATA prompts), sounds-relative names.
    played: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)
    #: The server sent HANGUP (or closed) itself.
    server_hung_up: bool = False
    #: The caller hung up on the server (the script said so).
    caller_hung_up: bool = False

    @property
    def verdict(self) -> str | None:
        return self.variables.get("TRACESEAL_VERDICT")

    def said(self, name: str) -> bool:
        return any(played.endswith("/" + name) for played in self.played)


def header(script: str = "verify", caller: str = "13800000000", dnid: str = "4008001234") -> str:
    variables = {
        "network": "yes",
        "network_script": script,
        "request": f"agi://127.0.0.1/{script}",
        "channel": "PJSIP/trunk-00000001",
        "language": "en",
        "type": "PJSIP",
        "uniqueid": "1764812345.1",
        "version": "20.5.0",
        "callerid": caller,
        "calleridname": "unknown",
        "callingpres": "0",
        "callingani2": "0",
        "callington": "0",
        "callingtns": "0",
        "dnid": dnid,
        "rdnis": "unknown",
        "context": "from-trunk",
        "extension": dnid,
        "priority": "1",
        "enhanced": "0.0",
        "accountcode": "",
        "threadid": "140234567890",
    }
    return "".join(f"agi_{k}: {v}\n" for k, v in variables.items()) + "\n"


@dataclass
class Caller:
    """What the caller does: ``keys`` answers each GET DATA in turn (None: keys nothing and
    lets it time out); ``during`` presses a key while a named prompt plays; ``hang_up_at``
    hangs up when the server sends the command-th command (1-based)."""

    keys: list[str | None] = field(default_factory=list)
    during: dict[str, str] = field(default_factory=dict)
    hang_up_at: int | None = None
    caller_id: str = "13800000000"
    dnid: str = "4008001234"
    raw_header: str | None = None


async def call(port: int, caller: Caller, host: str = "127.0.0.1") -> CallLog:
    """One whole call against the server on ``port``; returns when either side ends it."""
    reader, writer = await asyncio.open_connection(host, port)
    log = CallLog()
    keys = list(caller.keys)
    try:
        text = caller.raw_header or header(caller=caller.caller_id, dnid=caller.dnid)
        writer.write(text.encode())
        await writer.drain()
        while True:
            line = await asyncio.wait_for(reader.readline(), 30)
            if not line:
                log.server_hung_up = True
                return log
            command = line.decode().strip()
            log.commands.append(command)
            if caller.hang_up_at is not None and len(log.commands) >= caller.hang_up_at:
                log.caller_hung_up = True
                writer.write(b"HANGUP\n")
                await writer.drain()
                return log
            writer.write((_answer(command, log, keys, caller) + "\n").encode())
            await writer.drain()
            if command == "HANGUP":
                log.server_hung_up = True
                return log
    finally:
        writer.close()


def _answer(command: str, log: CallLog, keys: list[str | None], caller: Caller) -> str:
    match = _COMMAND.match(command)
    if match is None:
        return "510 Invalid or unknown command"
    words = shlex.split(command)
    verb = match[1]
    if verb == "STREAM FILE":
        log.played.append(words[2])
        escape = words[3] if len(words) > 3 else ""
        key = caller.during.get(words[2].rsplit("/", 1)[-1], "")
        if key and key in escape:
            return f"200 result={ord(key)} endpos=4000"
        return "200 result=0 endpos=8000"
    if verb == "GET DATA":
        log.played.append(words[2])
        pressed = keys.pop(0) if keys else None
        return "200 result= (timeout)" if pressed is None else f"200 result={pressed}"
    if verb == "SET VARIABLE":
        log.variables[words[2]] = words[3]
        return "200 result=1"
    if verb == "WAIT FOR DIGIT":
        return "200 result=0"
    return "200 result=0" if verb == "ANSWER" else "200 result=1"
