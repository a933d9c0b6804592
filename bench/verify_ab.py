"""Verification of two checkouts side by side, in process, interleaved batch by batch.

Before/after figures for a change to the verification path. On a shared machine, two runs
minutes apart differ by more than most changes do; here two worker processes, one per
checkout, each hold their own database built the same way (bench/verify.py's ``build``) and
take turns: batch after batch of the same mix of queries (first and repeat queries, risk
evaluation on and off alternately, one device per query), so both meet the same load. Each
prints the median time per verification of its batches; the script prints both and their ratio.

Usage: python bench/verify_ab.py BEFORE_CHECKOUT AFTER_CHECKOUT [--rounds N] [--batch N]
(each checkout a directory holding src/traceseal and bench/verify.py)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

WORKER = r"""
import json, secrets, statistics, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, sys.argv[1] + "/bench")
import verify as bench
from traceseal.codes.service import Keyring
from traceseal.config import load_settings
from traceseal.db import make_engine, make_session_factory
from traceseal.verify.channel import Verifier
from traceseal.verify.models import Channel
from traceseal.verify.service import Query

directory = Path(tempfile.mkdtemp(prefix="verify-ab-"))
repeat, fresh = bench.build(directory, int(sys.argv[2]), int(sys.argv[3]))
settings = load_settings({}, data_dir=directory, master_key=(directory / "master.key").read_text())
factory = make_session_factory(make_engine(settings.resolved_database_url))
keyring = Keyring(bytes.fromhex(settings.master_key))
verifiers = [Verifier(settings.replace(risk_evaluation=r), factory, keyring) for r in (0, 1)]
mixed = [code for pair in zip(repeat, fresh) for code in pair]
done = 0
print("ready", flush=True)
for line in sys.stdin:
    times = []
    for _ in range(int(line)):
        verifier = verifiers[done % 2]
        client = verifier.client("127.0.0.1", secrets.token_urlsafe(16))
        query = Query(mixed[done % len(mixed)], channel=Channel.QR, region="440305")
        began = time.perf_counter()
        verifier.verify(query, client)
        times.append(time.perf_counter() - began)
        done += 1
    print(json.dumps(statistics.median(times)), flush=True)
"""


def start(checkout: Path, codes: int, scanned: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(checkout / "src")}
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(checkout), str(codes), str(scanned)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert worker.stdout is not None
    if worker.stdout.readline().strip() != "ready":
        raise SystemExit(f"the worker for {checkout} did not start")
    return worker


def batch(worker: subprocess.Popen[str], size: int) -> float:
    assert worker.stdin is not None
    assert worker.stdout is not None
    worker.stdin.write(f"{size}\n")
    worker.stdin.flush()
    return float(json.loads(worker.stdout.readline()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--codes", type=int, default=200_000)
    parser.add_argument("--scanned", type=int, default=20_000)
    args = parser.parse_args()
    print(f"{platform.machine()}  {os.cpu_count()} CPUs  load {os.getloadavg()[0]:.2f}")
    workers = {
        name: start(path.resolve(), args.codes, args.scanned)
        for name, path in (("before", args.before), ("after", args.after))
    }
    medians: dict[str, list[float]] = {name: [] for name in workers}
    for round_ in range(args.rounds):
        # Alternate who goes first, so neither always meets the other's leftovers.
        order = list(workers) if round_ % 2 == 0 else list(reversed(workers))
        for name in order:
            medians[name].append(batch(workers[name], args.batch))
    for worker in workers.values():
        assert worker.stdin is not None
        worker.stdin.close()
        worker.wait()
    figures = {name: statistics.median(values) * 1e3 for name, values in medians.items()}
    for name, path in (("before", args.before), ("after", args.after)):
        print(f"  {name:<7} {path}  median {figures[name]:.4f} ms per verification")
    print(
        f"  after / before  {figures['after'] / figures['before']:.3f}  "
        f"({args.rounds} interleaved batches of {args.batch}; load {os.getloadavg()[0]:.2f})"
    )


if __name__ == "__main__":
    main()
