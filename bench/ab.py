"""Two checkouts side by side, in process, interleaved batch by batch: before/after figures.

On a shared machine, two runs minutes apart differ by more than most changes do. Here two
worker processes, one per checkout, each set up the same workload with their own code (and
their checkout's bench/ helpers) and then take turns, batch after batch, so both meet the
same load; the first to go alternates. Each batch reports its time per operation; the script
prints each checkout's median over the batches and the ratio after / before. An A/A run (the
same checkout twice) shows the noise floor: about 1 % on the 2-core VM.

Workloads (each through the same service functions the server calls):
  verify    one verification through verify.channel.Verifier (limits, one transaction, the
            verification service, scan log), half first and half repeat queries, risk
            evaluation on and off alternately; a batch is 1,000 verifications;
  capture   one EPCIS 2.0 JSON-LD document of 1,000 events through epcis.pipeline.capture
            (read, validate, hash, store with log leaves, commit); a batch is one document;
  issue     a run of 1,000,000 codes issued and written as CSV (codes.service.issue_run,
            codes.export.write_csv); a batch is one run;
  ledger    10 transactions of 1,000 log leaves through ledger.service.append.

Usage: python bench/ab.py WORKLOAD BEFORE_CHECKOUT AFTER_CHECKOUT [--rounds N]
(a checkout is a directory holding src/traceseal and bench/)
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

#: Each worker: set up, print "ready", then for each line on stdin run one batch and print
#: its time per operation in seconds.
PRELUDE = r"""
import json, secrets, statistics, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, sys.argv[1] + "/bench")
directory = Path(tempfile.mkdtemp(prefix="ab-"))
"""
WORKLOADS = {
    "verify": r"""
import verify as bench
from traceseal.codes.service import Keyring
from traceseal.config import load_settings
from traceseal.db import make_engine, make_session_factory
from traceseal.verify.channel import Verifier
from traceseal.verify.models import Channel
from traceseal.verify.service import Query

repeat, fresh = bench.build(directory, 200_000, 20_000)
# One client address sends every query: the flood limit (requests a minute) is off.
settings = load_settings(
    {}, data_dir=directory, master_key=(directory / "master.key").read_text(), verify_rate_limit=0
)
factory = make_session_factory(make_engine(settings.resolved_database_url))
keyring = Keyring(bytes.fromhex(settings.master_key))
verifiers = [Verifier(settings.replace(risk_evaluation=r), factory, keyring) for r in (0, 1)]
mixed = [code for pair in zip(repeat, fresh) for code in pair]
done = 0

def batch():
    global done
    times = []
    for _ in range(1000):
        verifier = verifiers[done % 2]
        client = verifier.client("127.0.0.1", secrets.token_urlsafe(16))
        query = Query(mixed[done % len(mixed)], channel=Channel.QR, region="440305")
        began = time.perf_counter()
        verifier.verify(query, client)
        times.append(time.perf_counter() - began)
        done += 1
    return statistics.median(times)
""",
    "capture": r"""
import epcis as bench
from epcis_docs import generate

store = bench.Store(directory)
store.capture(generate(20, fmt="jsonld", seed=9), "jsonld")
seed = 100

def batch():
    global seed
    seed += 1
    figures = store.capture(generate(1000, fmt="jsonld", seed=seed), "jsonld")
    return figures["total_s"] / figures["events"]
""",
    "issue": r"""
from traceseal.codes.export import code_url_prefix, write_csv
from traceseal.codes.service import Keyring, issue_run, run_cipher
from traceseal.config import load_settings
from traceseal.db import make_engine, make_session_factory, migrate, unit_of_work
from traceseal.orgs.models import Role
from traceseal.orgs.service import create_organization
from traceseal.registry.schemas import ProductCreate
from traceseal.registry.service import add_product

settings = load_settings(
    {}, data_dir=directory, master_key=secrets.token_hex(32), public_url="https://v.example.org"
)
engine = make_engine(settings.resolved_database_url)
migrate(engine)
factory = make_session_factory(engine)
keyring = Keyring(bytes.fromhex(settings.master_key))
with unit_of_work(factory) as session:
    org, _ = create_organization(session, "Bench Co", Role.ENTERPRISE)
    add_product(session, org, ProductCreate(gtin="09506000134352", name="Bench"))
    org_id = org.id
COUNT = 1_000_000

def batch():
    began = time.perf_counter()
    with unit_of_work(factory) as session:
        from traceseal.orgs.models import Organization
        from traceseal.registry.models import Product
        org = session.get(Organization, org_id)
        product = session.query(Product).one()
        run = issue_run(session, keyring, settings, org, COUNT, product=product)
        cipher = run_cipher(session, keyring, run)
        first, gtin = run.first, product.gtin
    with (directory / "codes.csv").open("wb") as handle:
        write_csv(handle, cipher, first, COUNT, code_url_prefix(settings.public_url, gtin))
    return (time.perf_counter() - began) / COUNT
""",
    "ledger": r"""
import ledger as bench
from traceseal.config import load_settings
from traceseal.db import make_engine, make_session_factory, migrate, unit_of_work
from traceseal.ledger import service

settings = load_settings({}, data_dir=directory, master_key=secrets.token_hex(32))
engine = make_engine(settings.resolved_database_url)
migrate(engine)
factory = make_session_factory(engine)
template = [("bench.event", bench.leaf_data(i)) for i in range(1000)]

def batch():
    began = time.perf_counter()
    for _ in range(10):
        with unit_of_work(factory) as session:
            service.append(session, list(template))
    return (time.perf_counter() - began) / 10_000
""",
}
LOOP = r"""
print("ready", flush=True)
for line in sys.stdin:
    print(json.dumps(batch()), flush=True)
"""


def start(workload: str, checkout: Path) -> subprocess.Popen[str]:
    worker = subprocess.Popen(
        [sys.executable, "-c", PRELUDE + WORKLOADS[workload] + LOOP, str(checkout)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(checkout / "src")},
    )
    assert worker.stdout is not None
    if worker.stdout.readline().strip() != "ready":
        raise SystemExit(f"the {workload} worker for {checkout} did not start")
    return worker


def batch(worker: subprocess.Popen[str]) -> float:
    assert worker.stdin is not None
    assert worker.stdout is not None
    worker.stdin.write("go\n")
    worker.stdin.flush()
    return float(json.loads(worker.stdout.readline()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    print(f"{platform.machine()}  {os.cpu_count()} CPUs  load {os.getloadavg()[0]:.2f}")
    checkouts = {"before": args.before.resolve(), "after": args.after.resolve()}
    workers = {name: start(args.workload, path) for name, path in checkouts.items()}
    times: dict[str, list[float]] = {name: [] for name in workers}
    for round_ in range(args.rounds):
        order = list(workers) if round_ % 2 == 0 else list(reversed(workers))
        for name in order:
            times[name].append(batch(workers[name]))
    for worker in workers.values():
        assert worker.stdin is not None
        worker.stdin.close()
        worker.wait()
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, path in checkouts.items():
        print(f"  {name:<7} {path}  {medians[name] * 1e6:,.2f} µs per operation (median)")
    print(
        f"  {args.workload}: after / before  {medians['after'] / medians['before']:.3f}  "
        f"({args.rounds} interleaved batches each; load {os.getloadavg()[0]:.2f})"
    )


if __name__ == "__main__":
    main()
