"""The telephone channel: a FastAGI server that answers a verification call.

Asterisk runs ``AGI(agi://host:4573/verify)`` and this server drives the call: greeting
(and "press 2 for English"), the 20-digit code keyed in and ended by ``#`` (GET DATA), the
check digit checked before anything is looked up (a typo is asked again, 3 tries), the
verdict from the one verification core (``verify.channel.Verifier``, channel ``phone``, the
caller id as the sender: a keyed hash, with the senders' limits), spoken from prompts
(``channels/prompts.py``) and set as the channel variable ``TRACESEAL_VERDICT``, then a
menu: 1 hears it again, 2 reports a suspected fake with the caller's consent to be called
back. A caller who hangs up before the code is complete leaves no scan. Whatever a
connection sends, the server logs one line about it and goes on serving the others.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from traceseal.channels.agi import Agi, AgiError, Hangup, MalformedHeader, read_header
from traceseal.channels.prompts import path, verdict_prompts
from traceseal.codes.sealcode import CODE_DIGITS
from traceseal.crypto import damm
from traceseal.errors import DomainError, TooManyRequests
from traceseal.verify.channel import Client, Verifier
from traceseal.verify.models import Channel, Verdict
from traceseal.verify.records import Query, Verification
from traceseal.verify.reports.service import ReportInput

__all__ = ["DEFAULT_PORT", "SCRIPT", "Call", "IvrServer"]

log = logging.getLogger("traceseal.ivr")

DEFAULT_PORT = 4573
#: The path of ``agi://host:port/verify``; Asterisk sends it as agi_network_script.
SCRIPT = "verify"
TRIES = 3
#: Times the verdict may be heard again (1) before the call ends.
REPLAYS = 3
#: Milliseconds to press 2 for English, and to choose in the menu after the verdict.
MENU_MS = 3000
CHOICE_MS = 6000
#: The longest line Asterisk sends (a header variable, an answer); longer is not AGI.
LINE_LIMIT = 4096
#: Caller ids Asterisk sends for a withheld number: these callers share one limit.
_ANONYMOUS = {"", "unknown", "anonymous", "private", "restricted"}


@dataclass
class Call:
    """One call's state; ``step`` names where it was when it ended (for the log line)."""

    agi: Agi
    lang: str
    caller: str
    sender: Client
    step: str = "header"
    verdict: Verdict | None = None
    code: str | None = None

    async def play(self, *names: str, escape: str = "") -> str:
        for name in names:
            pressed = await self.agi.stream_file(path(self.lang, name), escape)
            if pressed:
                return pressed
        return ""


class IvrServer:
    """Answers AGI connections; one per process (``traceseal ivr serve``)."""

    def __init__(
        self, verifier: Verifier, *, english_numbers: str = "", digit_timeout: int = 10
    ) -> None:
        self._verifier = verifier
        self._english = {n.strip() for n in english_numbers.split(",") if n.strip()}
        self._digit_ms = digit_timeout * 1000
        self.calls = 0
        self.active = 0

    async def start(self, host: str, port: int) -> asyncio.Server:
        # backlog: a burst of calls connects at once (a hotline's trunk fills in seconds).
        return await asyncio.start_server(
            self.handle, host, port, limit=LINE_LIMIT, backlog=1024, reuse_address=True
        )

    async def idle(self, timeout: float = 30.0) -> bool:
        """Wait until no call is in progress (a graceful stop); False if calls remain."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.active and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        return not self.active

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One connection, start to end; never raises."""
        peer = writer.get_extra_info("peername")
        self.calls += 1
        self.active += 1
        call: Call | None = None
        try:
            env = await read_header(reader)
            script = env.get("network_script", "").strip("/")
            if script != SCRIPT:
                log.warning("ivr: %s asked for AGI script %r, not %r", peer, script, SCRIPT)
                await Agi(reader, writer).hangup()
                return
            call = self._call(Agi(reader, writer), env)
            await self._run(call)
        except MalformedHeader as exc:
            log.warning("ivr: %s sent a malformed AGI header: %s", peer, exc)
        except Hangup as exc:
            step = "header" if call is None else call.step
            log.info("ivr: caller hung up at %s (%s)", step, exc)
        except AgiError as exc:
            log.warning("ivr: %s: AGI error at %s: %s", peer, call and call.step, exc)
        except Exception as exc:  # one bad call must never stop the server: one line, go on
            log.error("ivr: %s: call failed at %s: %r", peer, call and call.step, exc)
        finally:
            self.active -= 1
            writer.close()

    def _call(self, agi: Agi, env: dict[str, str]) -> Call:
        caller = env.get("callerid", "").strip()
        called = {env.get("dnid", "").strip(), env.get("extension", "").strip()}
        lang = "en" if called & self._english else "zh-CN"
        who = "anonymous" if caller.lower() in _ANONYMOUS else caller
        return Call(agi, lang, who, self._verifier.sender(Channel.PHONE.value, who))

    async def _run(self, call: Call) -> None:
        call.step = "answer"
        await call.agi.answer()
        call.step = "greeting"
        if call.lang == "zh-CN":
            pressed = await call.play("welcome", "for_english", escape="2")
            if not pressed:
                reply = await call.agi.command("WAIT FOR DIGIT " + str(MENU_MS), wait=MENU_MS)
                pressed = chr(reply.number) if reply.number > 0 else ""
            if pressed == "2":
                call.lang = "en"
        else:
            await call.play("welcome")
        code = await self._read_code(call)
        if code is None:
            await call.agi.set_variable("TRACESEAL_VERDICT", "none")
            await call.agi.hangup()
            return
        call.step = "verify"
        result = await self._verify(call, code)
        if result is None:
            await call.agi.set_variable("TRACESEAL_VERDICT", "refused")
            await call.play("wait")
            await call.agi.hangup()
            return
        call.verdict, call.code = result.verdict, code
        await call.agi.set_variable("TRACESEAL_VERDICT", result.verdict.value)
        await self._tell(call, result)

    async def _read_code(self, call: Call) -> str | None:
        """The code keyed in, its check digit right; None after TRIES failures."""
        for attempt in range(TRIES):
            call.step = f"code {attempt + 1}"
            reply = await call.agi.get_data(
                path(call.lang, "enter_code"), self._digit_ms, CODE_DIGITS
            )
            digits = reply.result
            if not digits:
                await call.play("no_input")
            elif len(digits) != CODE_DIGITS or not digits.isdigit():
                await call.play("length")
            elif not damm.is_valid(digits):
                # Check digit before database: a typo is never called a fake, nor counted.
                await call.play("mistyped")
            else:
                return digits
        call.step = "too many tries"
        await call.play("too_many")
        return None

    async def _verify(self, call: Call, code: str) -> Verification | None:
        """The verdict (None: the caller is over a limit)."""
        try:
            self._verifier.throttle(call.sender)
            query = Query(code=code, channel=Channel.PHONE)
            return await self._verifier.verify_async(query, call.sender)
        except TooManyRequests:
            return None

    async def _tell(self, call: Call, result: Verification) -> None:
        names = verdict_prompts(
            result.verdict,
            call.lang,
            count=result.scan_count,
            first_at=result.first_scan_at,
            first_region=result.first_region,
        )
        for _ in range(REPLAYS + 1):
            call.step = "verdict"
            await call.play(*names)
            call.step = "menu"
            reply = await call.agi.get_data(path(call.lang, "menu"), CHOICE_MS, 1)
            if reply.result == "2":
                call.step = "report"
                await self._report(call)
                await call.play("reported")
                break
            if reply.result != "1":
                await call.play("goodbye")
                break
        await call.agi.hangup()

    async def _report(self, call: Call) -> None:
        """A counterfeit report; pressing 2 is the consent to be called back on the caller's
        number, which is why it is the report's contact (as a web form's typed contact)."""
        contact = "" if call.caller == "anonymous" else call.caller[:200]
        data = ReportInput(
            code=call.code or "",
            description="Reported by telephone (IVR); the caller agreed to be called back.",
            contact=contact,
        )
        try:
            await asyncio.to_thread(self._verifier.report, data, call.sender)
        except DomainError as exc:  # over the report limit: the caller still hears thanks
            log.info("ivr: report not stored: %s", exc)
