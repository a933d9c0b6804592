"""Telephone benchmark: many calls at once against `traceseal ivr serve`, the verification's
latency inside a call, and the time to render every prompt of both languages.

Set-up: an embedded (SQLite) database with one activated run of codes (as bench/wechat.py);
``traceseal ivr serve`` in its own process. From this process ``--calls`` stand-ins for
Asterisk connect at once and each runs a whole call (header, ANSWER, greeting, GET DATA
answered with a distinct code, the verdict, the menu left to time out, HANGUP). Inside a
call, the latency is the time from sending the keyed-in code to receiving the next command
(SET VARIABLE TRACESEAL_VERDICT: the verification and one AGI round trip). The machine's own
floor is the same burst of calls keying in a code whose check digit is wrong: the next
command (the "mistyped" prompt) is the same round trip with no database at all.

Prompts: ``traceseal ivr prompts`` into an empty directory (every prompt synthesised by
espeak-ng and resampled by sox, both languages), then again (nothing changed: the manifest).

Usage: python bench/ivr.py [--calls N]; exits 1 if any call gets a wrong verdict.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The database set-up is bench/wechat.py's (one activated run of codes).
sys.path.insert(0, str(Path(__file__).resolve().parent))

from wechat import build

HEADER = (
    "agi_network: yes\nagi_network_script: verify\nagi_request: agi://127.0.0.1/verify\n"
    "agi_channel: PJSIP/bench-{n:08d}\nagi_callerid: 139{n:08d}\nagi_dnid: 4008001234\n"
    "agi_extension: 4008001234\nagi_context: from-trunk\nagi_priority: 1\n\n"
)


async def one_call(port: int, n: int, code: str) -> tuple[float, str, float]:
    """A whole call keying in ``code``: (seconds from code to the next command, the verdict
    set or the next prompt, seconds for the whole call)."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(HEADER.format(n=n).encode())
    sent_at, latency, outcome = 0.0, 0.0, ""
    keyed = False
    while True:
        line = (await reader.readline()).decode().strip()
        if not line:
            break
        if sent_at and not latency:
            latency = time.perf_counter() - sent_at
            outcome = line.split('"')[1] if line.startswith("SET VARIABLE") else line.split()[2]
        if line.startswith("GET DATA") and not keyed:
            keyed = True
            sent_at = time.perf_counter()
            answer = f"200 result={code}"
        elif line.startswith("GET DATA"):
            answer = "200 result= (timeout)"
        elif line == "HANGUP" or (sent_at and "mistyped" in line):
            writer.write(b"200 result=1\n" if line == "HANGUP" else b"HANGUP\n")
            break
        else:
            answer = "200 result=0"  # ANSWER, STREAM FILE, WAIT FOR DIGIT: no key pressed
        writer.write(answer.encode() + b"\n")
    writer.close()
    return latency, outcome, time.perf_counter() - started


async def burst(port: int, codes: list[str]) -> list[tuple[float, str, float]]:
    return await asyncio.gather(*(one_call(port, n, code) for n, code in enumerate(codes)))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@contextmanager
def serving(directory: Path) -> Iterator[int]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TRACESEAL_")},
        "TRACESEAL_DATA_DIR": str(directory),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "traceseal.cli.main", "ivr", "serve", "--port", "0"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        match = re.search(r":(\d+)/verify", server.stderr.readline())
        assert match, "ivr serve did not start"
        # Its log (a line per call that hangs up early) must not fill the pipe.
        threading.Thread(target=server.stderr.read, daemon=True).start()
        yield int(match[1])
    finally:
        server.terminate()
        server.wait(timeout=10)


def prompts(out: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "traceseal.cli.main", "ivr", "prompts", "--out", str(out)],
        capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    print(f"  {done.stdout.strip()} (whole command {seconds:.2f} s)")
    return seconds


def report(name: str, results: list[tuple[float, str, float]]) -> None:
    latency = [r[0] * 1000 for r in results]
    whole = [r[2] for r in results]
    print(
        f"{name}: inside the call p50 {statistics.median(latency):.2f} ms, "
        f"p99 {percentile(latency, 99):.2f} ms, max {max(latency):.2f} ms; "
        f"all {len(results)} calls done in {max(whole):.2f} s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.processor(),
    )  # fmt: skip
    print(f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores ({cpu}), Python "
          f"{platform.python_version()}, SQLite")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="traceseal-bench-ivr-") as tmp:
        directory = Path(tmp)
        print("prompts, zh-CN and en, into an empty directory:")
        fresh = prompts(directory / "sounds")
        print("again, nothing changed:")
        again = prompts(directory / "sounds")
        manifest = json.loads((directory / "sounds/traceseal/manifest.json").read_text())
        print(f"prompts: {len(manifest)} files in {fresh:.2f} s; unchanged run {again:.2f} s")

        codes = build(directory, args.calls)
        typos = [c[:7] + str((int(c[7]) + 1) % 10) + c[8:] for c in codes]
        with serving(directory) as port:
            floor = asyncio.run(burst(port, typos))
            report(f"{args.calls} simultaneous calls, check digit wrong (floor)", floor)
            genuine = asyncio.run(burst(port, codes))
            report(f"{args.calls} simultaneous calls, verified", genuine)
    wrong = sum(1 for r in genuine if r[1] != "genuine")
    wrong += sum(1 for r in floor if r[1] != "traceseal/zh-CN/mistyped")
    ratio = percentile([r[0] for r in genuine], 99) / percentile([r[0] for r in floor], 99)
    print(f"p99 inside a call: {ratio:.1f} x the floor; wrong verdicts: {wrong}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
