"""Asterisk's FastAGI protocol, the half a server speaks. Pure asyncio: no database.

Asterisk connects (dialplan ``AGI(agi://host:4573/verify)``), sends the call's variables as
``agi_name: value`` lines ended by an empty line, then waits for commands, one per line,
each answered by one line: ``200 result=<n> [(<data>)] [endpos=<n>]``. ``510`` is an unknown
command, ``520`` wrong usage (its usage text follows on ``520-`` lines until a ``520 `` line),
``511`` a command on a channel that has hung up. When the caller hangs up Asterisk may send
a ``HANGUP`` line at any time, and a command that was playing or reading answers
``result=-1``. Any of these, or the connection closing, ends the call: :class:`Hangup`.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

__all__ = ["Agi", "AgiError", "Hangup", "MalformedHeader", "Reply", "parse_reply", "read_header"]

#: The most header lines read (Asterisk sends about 25, plus agi_arg_N for each argument).
MAX_HEADER_LINES = 200
#: How long Asterisk may take to send the header, and to answer a command that does not wait
#: for the caller (ANSWER, SET VARIABLE); commands that wait for digits add their own timeout.
HEADER_TIMEOUT = 10.0
COMMAND_TIMEOUT = 10.0

_HEADER = re.compile(r"agi_([a-z0-9_]{1,40}): ?(.{0,500})")
_REPLY = re.compile(r"200 result=(-?\d*)(?: \((.*?)\))?(?: endpos=(\d+))?\s*")


class Hangup(Exception):
    """The caller hung up, or Asterisk went away: the call is over."""


class AgiError(Exception):
    """Asterisk refused a command (510, 520) or answered something that is not AGI."""


class MalformedHeader(Exception):
    """What arrived first is not an AGI header block."""


@dataclass(frozen=True, slots=True)
class Reply:
    """A ``200`` answer: ``result``, the data in parentheses (``timeout``), ``endpos``."""

    result: str
    data: str = ""
    endpos: int | None = None

    @property
    def number(self) -> int:
        """The result as a number (0 when it is empty, as GET DATA's is with no digits)."""
        return int(self.result) if self.result.lstrip("-").isdigit() else 0


def parse_reply(line: str) -> Reply:
    """One ``200`` line; raises AgiError for anything else.

    >>> parse_reply("200 result=1234 (timeout)")
    Reply(result='1234', data='timeout', endpos=None)
    >>> parse_reply("200 result=0 endpos=8000").endpos
    8000
    """
    match = _REPLY.fullmatch(line)
    if match is None:
        raise AgiError(f"not an AGI answer: {line[:80]!r}")
    endpos = match[3]
    return Reply(match[1], match[2] or "", None if endpos is None else int(endpos))


async def _line(reader: asyncio.StreamReader, timeout: float) -> str:
    try:
        raw = await asyncio.wait_for(reader.readline(), timeout)
    except (ValueError, asyncio.LimitOverrunError) as exc:  # a line over the reader's limit
        raise AgiError("a line longer than the limit") from exc
    except (ConnectionError, asyncio.IncompleteReadError) as exc:
        raise Hangup("connection lost") from exc
    except TimeoutError as exc:
        raise AgiError(f"no answer within {timeout:g} s") from exc
    if not raw:
        raise Hangup("connection closed")
    return raw.decode("utf-8", "replace").rstrip("\r\n")


async def read_header(reader: asyncio.StreamReader) -> dict[str, str]:
    """The ``agi_*`` variables, names without the prefix (``network_script``, ``callerid``).

    Raises MalformedHeader for a line that is not ``agi_name: value``, too many lines, a
    connection closed before the empty line, or nothing within HEADER_TIMEOUT.
    """
    env: dict[str, str] = {}
    for _ in range(MAX_HEADER_LINES):
        try:
            line = await _line(reader, HEADER_TIMEOUT)
        except (Hangup, AgiError) as exc:
            raise MalformedHeader(str(exc)) from exc
        if not line:
            if not env:
                raise MalformedHeader("an empty header block")
            return env
        match = _HEADER.fullmatch(line)
        if match is None:
            raise MalformedHeader(f"not an agi_ variable: {line[:80]!r}")
        env[match[1]] = match[2]
    raise MalformedHeader(f"more than {MAX_HEADER_LINES} header lines")


def _quote(value: str) -> str:
    """An argument as Asterisk's parser reads it: double quotes, backslash escapes."""
    cleaned = "".join(ch for ch in value if ch >= " ")
    return '"' + cleaned.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Agi:
    """One call's commands. Every method raises Hangup when the call is over."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self.hung_up = False
        #: Every command sent, for the log of a call that went wrong.
        self.sent = 0

    async def command(self, text: str, wait: float = 0.0) -> Reply:
        """Send one command; its answer. ``wait``: seconds the command may wait for the
        caller, on top of COMMAND_TIMEOUT."""
        if self.hung_up:
            raise Hangup("hung up before " + text.split(" ", 1)[0])
        try:
            self._writer.write(text.encode() + b"\n")
            await self._writer.drain()
        except ConnectionError as exc:
            raise Hangup("connection lost") from exc
        self.sent += 1
        while True:
            line = await _line(self._reader, COMMAND_TIMEOUT + wait)
            if line == "HANGUP":
                # Asterisk's notice that the caller has gone; the answer to the pending
                # command may still follow, but nothing more can be played.
                self.hung_up = True
                raise Hangup("HANGUP")
            if line.startswith("511"):
                self.hung_up = True
                raise Hangup(line)
            if line.startswith("520-"):
                await self._usage()
                raise AgiError(f"wrong usage of {text.split(' ', 1)[0]}")
            if line.startswith(("510", "520")):
                raise AgiError(f"{line[:80]} (for {text.split(' ', 1)[0]})")
            if line:
                break
        reply = parse_reply(line)
        if reply.result == "-1":
            self.hung_up = True
            # Asterisk answers -1 for a channel that has gone, and also for STREAM FILE and
            # GET DATA of a file it cannot find: the log line says both.
            verb = " ".join(text.split(" ", 2)[:2])
            missing = (
                " (hung up, or the file is missing)" if "FILE" in verb or "DATA" in verb else ""
            )
            raise Hangup(f"result=-1 for {verb}{missing}")
        return reply

    async def _usage(self) -> None:
        for _ in range(MAX_HEADER_LINES):
            if (await _line(self._reader, COMMAND_TIMEOUT)).startswith("520 "):
                return
        raise AgiError("a usage text without its end")

    async def answer(self) -> None:
        await self.command("ANSWER")

    async def stream_file(self, name: str, escape: str = "") -> str:
        """Play ``name`` (sounds-relative, no extension); the digit that interrupted it."""
        reply = await self.command(f"STREAM FILE {name} {_quote(escape)}", wait=60)
        return chr(reply.number) if reply.number > 0 else ""

    async def get_data(self, name: str, timeout_ms: int, max_digits: int) -> Reply:
        """Play ``name`` and read up to ``max_digits`` digits, ended by ``#`` or the
        timeout: ``result`` is the digits, ``data`` ``timeout`` if it ran out."""
        seconds = timeout_ms / 1000
        return await self.command(f"GET DATA {name} {timeout_ms} {max_digits}", wait=seconds + 60)

    async def say_digits(self, digits: str, escape: str = "") -> str:
        reply = await self.command(f"SAY DIGITS {digits} {_quote(escape)}", wait=60)
        return chr(reply.number) if reply.number > 0 else ""

    async def set_variable(self, name: str, value: str) -> None:
        await self.command(f"SET VARIABLE {name} {_quote(value)}")

    async def hangup(self) -> None:
        """Hang up, and close our end; never raises (the caller may be gone already)."""
        try:
            if not self.hung_up:
                await self.command("HANGUP")
        except (Hangup, AgiError):
            pass
        finally:
            self.hung_up = True
            self._writer.close()
