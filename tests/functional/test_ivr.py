"""Whole telephone calls over TCP: a stand-in for Asterisk (agi_client.py) against the
FastAGI server on a real port and a real database; one test against `traceseal ivr serve`
itself, with the prompt files the calls played checked."""

from __future__ import annotations

import array
import asyncio
import logging
import math
import os
import re
import subprocess
import sys
import wave
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import Platform
from tests.functional.agi_client import Caller, CallLog, call, run_async
from tests.functional.channel_helpers import never_issued, scans, typo
from tests.functional.conftest import GTIN, LOT, issue
from traceseal.channels.ivr import IvrServer
from traceseal.channels.voice import missing_tools
from traceseal.verify.reports.models import CounterfeitReport

ENGLISH_LINE = "4008005678"


def run_calls(
    platform: Platform, scenario: Callable[[int], Awaitable[None]], **options: str
) -> None:
    """Start the server on a free port of 127.0.0.1, run ``scenario(port)``, stop it."""

    async def main() -> None:
        ivr = IvrServer(
            platform.app.state.verifier, english_numbers=options.get("english", ENGLISH_LINE)
        )
        server = await ivr.start("127.0.0.1", 0)
        try:
            await scenario(server.sockets[0].getsockname()[1])
            # A caller that hung up returns before the server has noticed: let it finish.
            assert await ivr.idle(), "calls still in progress"
        finally:
            server.close()
            await server.wait_closed()

    run_async(main)


def one_call(platform: Platform, caller: Caller) -> CallLog:
    logs: list[CallLog] = []

    async def scenario(port: int) -> None:
        logs.append(await call(port, caller))

    run_calls(platform, scenario)
    return logs[0]


def test_a_genuine_first_query_then_the_web_sees_it_second(platform: Platform, acme) -> None:
    code = issue(platform, acme, 3)[0]
    log = one_call(platform, Caller(keys=[code]))
    assert log.commands[0] == "ANSWER"
    assert log.played[:3] == [
        "traceseal/zh-CN/welcome",
        "traceseal/zh-CN/for_english",
        "traceseal/zh-CN/enter_code",
    ]
    assert 'SET VARIABLE TRACESEAL_VERDICT "genuine"' in log.commands
    assert log.verdict == "genuine"
    assert log.said("genuine")
    assert log.said("menu")
    assert log.said("goodbye")
    assert log.server_hung_up
    [scan] = scans(platform)
    assert (scan.channel, scan.verdict, scan.code) == ("phone", "genuine", code)
    # The caller id only as a keyed hash.
    assert scan.device_hash is not None
    assert len(scan.device_hash) == 32
    assert "13800000000" not in scan.device_hash

    web = platform.client.post("/api/v1/verify", json={"code": code}).json()
    assert web["verdict"] == "genuine_repeat"
    assert web["first_scan"]["channel"] == "phone"


def test_a_repeat_says_the_count_and_date_and_english_by_called_number(
    platform: Platform, acme
) -> None:
    code = issue(platform, acme, 3)[1]
    assert platform.client.post("/api/v1/verify", json={"code": code}).status_code == 200
    zh = one_call(platform, Caller(keys=[code], caller_id="13900000001"))
    assert zh.verdict == "genuine_repeat"
    said = [p.rsplit("/", 1)[1] for p in zh.played]
    start = said.index("repeat_1")
    # 已被查询 两 次，首次查询于 二零二六年…: the count (2) and the year digit by digit.
    assert said[start + 1 : start + 3] == ["two", "repeat_2"]
    assert said[start + 7] == "year"
    assert "repeat_3" in said

    en = one_call(platform, Caller(keys=[code], caller_id="13900000002", dnid=ENGLISH_LINE))
    assert en.verdict == "genuine_repeat"
    assert all(p.startswith("traceseal/en/") for p in en.played)
    said = [p.rsplit("/", 1)[1] for p in en.played]
    start = said.index("repeat_1")
    assert said[start + 1 : start + 3] == ["n_3", "repeat_2"]
    assert said[start + 3].startswith("month_")


def test_press_2_for_english_during_the_greeting(platform: Platform, acme) -> None:
    code = issue(platform, acme, 1)[0]
    log = one_call(platform, Caller(keys=[code], during={"for_english": "2"}))
    assert log.played[2:]
    assert all(p.startswith("traceseal/en/") for p in log.played[2:])
    assert log.verdict == "genuine"


def test_a_typo_is_asked_again_then_the_code_is_verified(platform: Platform, acme) -> None:
    code = issue(platform, acme, 3)[2]
    log = one_call(platform, Caller(keys=[typo(code), code[:19], code]))
    assert log.said("mistyped")
    assert log.said("length")
    assert log.played.count("traceseal/zh-CN/enter_code") == 3
    assert log.verdict == "genuine"
    # Only the right code was looked up: the typo is never a scan.
    assert [(s.code, s.verdict) for s in scans(platform)] == [(code, "genuine")]


def test_not_found_and_recalled(platform: Platform, acme) -> None:
    codes = issue(platform, acme, 3)
    missing = one_call(platform, Caller(keys=[never_issued(codes[0])]))
    assert missing.verdict == "not_found"
    assert missing.said("not_found")
    recall = platform.client.post(
        "/api/v1/recalls",
        json={
            "gtin": GTIN,
            "lots": [LOT],
            "reason": "valve may leak",
            "instructions": "Return it to the shop.",
            "contact": "400-800-1234",
        },
        headers=acme.auth,
    )
    assert recall.status_code == 201, recall.text
    recalled = one_call(platform, Caller(keys=[codes[1]], caller_id="13900000003"))
    assert recalled.verdict == "recalled"
    assert recalled.said("recalled")
    assert [s.verdict for s in scans(platform)] == ["not_found", "recalled"]


def test_no_digits_three_times_ends_the_call_with_no_scan(platform: Platform, acme) -> None:
    issue(platform, acme, 1)
    log = one_call(platform, Caller(keys=[None, None, None]))
    assert log.played.count("traceseal/zh-CN/enter_code") == 3
    assert log.said("no_input")
    assert log.said("too_many")
    assert log.verdict == "none"
    assert log.server_hung_up
    assert scans(platform) == []


def test_hear_again_and_report_with_consent(platform: Platform, acme) -> None:
    code = issue(platform, acme, 1)[0]
    log = one_call(platform, Caller(keys=[code, "1", "2"], caller_id="13700000007"))
    assert log.played.count("traceseal/zh-CN/genuine") == 2
    assert log.said("reported")
    with platform.session_factory() as session:
        [report] = session.scalars(select(CounterfeitReport))
    assert report.contact == "13700000007"
    assert "called back" in report.description
    assert len(scans(platform)) == 1  # hearing it again is not another query


def test_a_hang_up_at_any_step_before_the_verdict_leaves_no_scan_and_one_log_line(
    platform: Platform, acme, caplog: pytest.LogCaptureFixture
) -> None:
    code = issue(platform, acme, 1)[0]
    full = one_call(platform, Caller(keys=[code]))
    before_verdict = full.commands.index(next(c for c in full.commands if "GET DATA" in c)) + 1
    caplog.set_level(logging.INFO, logger="traceseal.ivr")
    for at in range(1, before_verdict + 1):
        caplog.clear()
        log = one_call(platform, Caller(keys=[code], hang_up_at=at, caller_id=f"1360000000{at}"))
        assert log.caller_hung_up
        lines = [r for r in caplog.records if r.name == "traceseal.ivr"]
        assert len(lines) == 1, [r.getMessage() for r in lines]
        assert "hung up" in lines[0].getMessage()
        assert lines[0].levelno == logging.INFO
    assert len(scans(platform)) == 1
    # After the verdict a hang-up (in the menu) keeps the scan, still with one line.
    caplog.clear()
    menu_at = next(i for i, c in enumerate(full.commands, 1) if "/menu" in c)
    log = one_call(platform, Caller(keys=[code], hang_up_at=menu_at, caller_id="13500000000"))
    assert log.verdict == "genuine_repeat"
    assert len([r for r in caplog.records if r.name == "traceseal.ivr"]) == 1
    assert len(scans(platform)) == 2


@pytest.mark.parametrize(
    "raw",
    [
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "agi_network_script: verify\nnot a variable\n\n",
        "\n",
        "agi_network_script: verify\n" + "agi_x: " + "9" * 5000 + "\n\n",
        "agi_network_script: verify\nagi_callerid: 1380000",  # closed mid-header
        "agi_network_script: other\n\n",
    ],
)
def test_a_malformed_header_is_one_log_line_and_the_server_goes_on(
    platform: Platform, acme, raw: str, caplog: pytest.LogCaptureFixture
) -> None:
    code = issue(platform, acme, 1)[0]
    caplog.set_level(logging.INFO, logger="traceseal.ivr")
    logs: list[CallLog] = []

    async def scenario(port: int) -> None:
        if raw.endswith("1380000"):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(raw.encode())
            await writer.drain()
            writer.close()
            await asyncio.sleep(0.2)
        else:
            logs.append(await call(port, Caller(raw_header=raw)))
        logs.append(await call(port, Caller(keys=[code])))

    run_calls(platform, scenario)
    bad_lines = [r for r in caplog.records if r.name == "traceseal.ivr"]
    assert len(bad_lines) == 1, [r.getMessage() for r in bad_lines]
    assert re.search(r"malformed|script", bad_lines[0].getMessage())
    if len(logs) == 2:
        assert logs[0].verdict is None
        assert logs[0].played == []
    assert logs[-1].verdict == "genuine"
    assert len(scans(platform)) == 1


def test_fifty_simultaneous_calls_get_their_own_verdicts(platform: Platform, acme) -> None:
    codes = issue(platform, acme, 40)
    fakes = [never_issued(codes[0], n) for n in range(10)]
    wanted = {**dict.fromkeys(codes, "genuine"), **dict.fromkeys(fakes, "not_found")}
    results: dict[str, CallLog] = {}

    async def one(port: int, i: int, code: str) -> None:
        results[code] = await call(port, Caller(keys=[code], caller_id=f"1380000{i:04d}"))

    async def scenario(port: int) -> None:
        await asyncio.gather(*(one(port, i, code) for i, code in enumerate(wanted)))

    run_calls(platform, scenario)
    assert {code: log.verdict for code, log in results.items()} == wanted
    assert all(log.server_hung_up for log in results.values())
    assert sorted((s.code, s.verdict) for s in scans(platform)) == sorted(wanted.items())
    assert {s.channel for s in scans(platform)} == {"phone"}


def _check_prompt(path: Path) -> None:
    assert path.is_file(), f"{path} was played but not generated"
    with wave.open(str(path)) as audio:
        assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (8000, 1, 2)
        frames = audio.getnframes()
        samples = array.array("h", audio.readframes(frames))
    assert 0.3 <= frames / 8000 <= 15, f"{path} lasts {frames / 8000} s"
    rms = math.sqrt(sum(s * s for s in samples) / len(samples))
    assert rms > 300, f"{path} is silence (RMS {rms:.0f})"


def test_traceseal_ivr_serve_and_the_prompts_its_calls_play(
    platform: Platform, acme, tmp_path: Path
) -> None:
    if missing_tools():
        pytest.skip(f"{' and '.join(missing_tools())} missing: `make prompts-tools` installs them")
    codes = issue(platform, acme, 2)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACESEAL_")} | {
        "TRACESEAL_DATA_DIR": str(platform.settings.data_dir),
        "TRACESEAL_DATABASE_URL": platform.settings.resolved_database_url,
        "TRACESEAL_MASTER_KEY": platform.settings.master_key or "",
        "TRACESEAL_IVR_ENGLISH_NUMBERS": ENGLISH_LINE,
    }
    cli = [sys.executable, "-m", "traceseal.cli.main", "ivr"]
    made = subprocess.run(
        [*cli, "prompts", "--out", str(tmp_path / "sounds"), "--json"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    server = subprocess.Popen(
        [*cli, "serve", "--host", "127.0.0.1", "--port", "0"],
        env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stderr is not None
        ready = server.stderr.readline()
        match = re.search(r"agi://127\.0\.0\.1:(\d+)/verify", ready)
        assert match, ready
        port = int(match[1])

        async def calls() -> list[CallLog]:
            return [
                await call(port, Caller(keys=[typo(codes[0]), codes[0], "1", "2"])),
                await call(port, Caller(keys=[codes[0]], caller_id="1", dnid=ENGLISH_LINE)),
                await call(port, Caller(keys=[never_issued(codes[0])])),
                await call(port, Caller(keys=[None, None, None], dnid=ENGLISH_LINE)),
            ]

        logs = run_async(calls)
    finally:
        server.terminate()
        _, log_text = server.communicate(timeout=10)  # closes the pipe
    assert "Traceback" not in log_text, log_text
    assert [log.verdict for log in logs] == ["genuine", "genuine_repeat", "not_found", "none"]
    web = platform.client.post("/api/v1/verify", json={"code": codes[0]}).json()
    assert web["first_scan"]["channel"] == "phone"
    played = {name for log in logs for name in log.played}
    assert len(played) > 20
    for name in sorted(played):
        _check_prompt(tmp_path / "sounds" / f"{name}.wav")


def test_a_caller_over_the_failure_limit_is_refused_without_a_verification(
    platform: Platform, acme
) -> None:
    codes = issue(platform, acme, 1)
    limit = platform.settings.verify_failure_limit
    verdicts = [
        one_call(platform, Caller(keys=[never_issued(codes[0], n)], caller_id="13100000000"))
        for n in range(limit + 1)
    ]
    assert [log.verdict for log in verdicts[:limit]] == ["not_found"] * limit
    assert verdicts[limit].verdict == "refused"
    assert verdicts[limit].said("wait")
    # Another caller is not affected: the limit is per caller id.
    other = one_call(platform, Caller(keys=[codes[0]], caller_id="13100000001"))
    assert other.verdict == "genuine"
