"""The AGI protocol's server half against scripted bytes: header blocks, answers, errors and
hang-ups as Asterisk sends them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from traceseal.channels.agi import (
    Agi,
    AgiError,
    Hangup,
    MalformedHeader,
    Reply,
    parse_reply,
    read_header,
)

_T = TypeVar("_T")


def run_async(main: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    """``asyncio.run(main())`` in a thread of its own: a test before this one in the same
    process (Playwright's sync API) may have left an event loop running in this thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(main())).result()


class _Writer:
    """Collects what the server writes."""

    def __init__(self) -> None:
        self.data = b""
        self.closed = False

    def write(self, data: bytes) -> None:
        self.data += data

    async def drain(self) -> None:
        return None

    def close(self) -> None:
        self.closed = True


def _reader(data: bytes) -> asyncio.StreamReader:
    """Bytes as Asterisk sent them, then the connection closed (call inside a loop)."""
    reader = asyncio.StreamReader(limit=4096)
    reader.feed_data(data)
    reader.feed_eof()
    return reader


def _run(reply: bytes, action):  # type: ignore[no-untyped-def]
    async def main():  # type: ignore[no-untyped-def]
        writer = _Writer()
        agi = Agi(_reader(reply), writer)  # type: ignore[arg-type]
        return await action(agi), writer.data

    return run_async(main)


def _header(raw: bytes) -> dict[str, str]:
    async def main() -> dict[str, str]:
        return await read_header(_reader(raw))

    return run_async(main)


def test_header_block() -> None:
    raw = b"agi_network: yes\nagi_network_script: verify\nagi_callerid: 13800000000\n\n"
    env = _header(raw)
    assert env == {"network": "yes", "network_script": "verify", "callerid": "13800000000"}


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\n",
        b"agi_network: yes\n",  # closed before the empty line
        b"GET / HTTP/1.1\r\n\r\n",
        b"agi_x: " + b"1" * 5000 + b"\n\n",
        b"".join(b"agi_v%d: 1\n" % i for i in range(300)) + b"\n",
    ],
)
def test_malformed_headers(raw: bytes) -> None:
    with pytest.raises(MalformedHeader):
        _header(raw)


def test_replies() -> None:
    assert parse_reply("200 result=0") == Reply("0")
    assert parse_reply("200 result= (timeout)") == Reply("", "timeout")
    assert parse_reply("200 result=49 endpos=16000") == Reply("49", "", 16000)
    with pytest.raises(AgiError):
        parse_reply("banana")


def test_get_data_sends_the_command_and_reads_digits() -> None:
    reply, sent = _run(b"200 result=12345 (timeout)\n", lambda a: a.get_data("x/y", 5000, 20))
    assert sent == b"GET DATA x/y 5000 20\n"
    assert reply.result == "12345"


def test_stream_file_returns_the_key_that_interrupted_it() -> None:
    key, sent = _run(b"200 result=50 endpos=800\n", lambda a: a.stream_file("p", "12"))
    assert (key, sent) == ("2", b'STREAM FILE p "12"\n')


def test_set_variable_quotes_its_value() -> None:
    _, sent = _run(b"200 result=1\n", lambda a: a.set_variable("V", 'a "b"\n'))
    assert sent == b'SET VARIABLE V "a \\"b\\""\n'


@pytest.mark.parametrize(
    "answer",
    [
        b"HANGUP\n200 result=-1\n",
        b"511 Command Not Permitted on a dead channel\n",
        b"200 result=-1 endpos=0\n",
        b"",
    ],
)
def test_hang_ups(answer: bytes) -> None:
    with pytest.raises(Hangup):
        _run(answer, lambda a: a.answer())


def test_usage_errors_are_read_to_their_end() -> None:
    usage = (
        b"520-Invalid command syntax.  Proper usage follows:\n"
        b"Usage: GET DATA\n"
        b"520 End of proper usage.\n"
    )
    with pytest.raises(AgiError, match="wrong usage"):
        _run(usage, lambda a: a.answer())
    with pytest.raises(AgiError, match="510"):
        _run(b"510 Invalid or unknown command\n", lambda a: a.answer())


def test_hangup_never_raises_and_closes() -> None:
    async def main() -> _Writer:
        writer = _Writer()
        await Agi(_reader(b""), writer).hangup()  # type: ignore[arg-type]
        return writer

    assert run_async(main).closed
