"""Witnesses over HTTP against a real log: the log's publisher sends its checkpoints to a
witness on a real port, ``/ledger/checkpoint`` carries the cosignatures, the witness refuses
what C2SP tlog-witness says it must, and auditors can require cosignatures.

Every test that involves a log database runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.conftest import Platform, add_product, postgres_schema
from tests.functional.test_cli import Cli
from traceseal.codes.service import Keyring
from traceseal.config import Settings
from traceseal.db import make_engine, make_session_factory, migrate, unit_of_work
from traceseal.keys import load_master_key
from traceseal.ledger import checkpoints, service
from traceseal.ledger.models import LedgerCosignature, LedgerKey
from traceseal.merkle.note import (
    ALG_COSIGNATURE_V1,
    Checkpoint,
    Signer,
    Verifier,
    open_note,
    parse_note,
    sign_note,
    verify_cosignature,
)
from traceseal.witness.app import create_witness_app
from traceseal.witness.client import post_add_checkpoint
from traceseal.witness.protocol import AddCheckpoint, parse_size
from traceseal.witness.state import WitnessState
from traceseal.witness.witness import Witness

GTIN = "09506000134352"


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn on a free port of 127.0.0.1; yields its base URL."""
    # Binding before uvicorn starts gives the port without a race for a "free" one.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()
    config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="none", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started or not thread.is_alive():
                break
            thread.join(0.01)
        assert server.started, "uvicorn did not start"
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


class WitnessHost:
    """A witness of one log: key, state file, and the ASGI app over them."""

    def __init__(self, state: Path, log: Verifier, name: str = "witness.example/w1") -> None:
        self.signer = Signer.generate(name, ALG_COSIGNATURE_V1)
        self.state_path = state
        self.log = log
        self.app = self.restart()

    def restart(self) -> Any:
        """A fresh witness process, as far as Python can tell: new state object, new app."""
        state = WitnessState(self.state_path)
        state.watch(self.log)
        self.app = create_witness_app(Witness(self.signer, state, [self.log]))
        return self.app

    @property
    def vkey(self) -> Verifier:
        return self.signer.verifier

    def size(self) -> int:
        found = WitnessState(self.state_path).get(self.log.name)
        assert found is not None
        return found.size


def log_verifier(platform: Platform) -> Verifier:
    with unit_of_work(platform.session_factory) as session:
        signer = checkpoints.log_signer(
            session, platform.app.state.keyring, platform.settings.resolved_ledger_origin
        )
    return signer.verifier


def grow(platform: Platform, tag: str, count: int) -> int:
    """Append ``count`` leaves through the log's service and publish; the new size."""
    with unit_of_work(platform.session_factory) as session:
        first = service.size(session)
        data = [(f"test.{tag}", f'{{"leaf":"{tag}{first + i}"}}'.encode()) for i in range(count)]
        service.append(session, data)
        checkpoints.publish(
            session, platform.app.state.keyring, platform.settings.resolved_ledger_origin
        )
        return service.size(session)


def signed_checkpoint(platform: Platform, size: int) -> tuple[str, list[bytes]]:
    """The log's signed checkpoint of any size it reached, and the proof from size 2."""
    with unit_of_work(platform.session_factory) as session:
        signer = checkpoints.log_signer(
            session, platform.app.state.keyring, platform.settings.resolved_ledger_origin
        )
        root = service.root_hash(session, size)
        proof = service.prove_consistency(session, 2, size)
    return sign_note(Checkpoint(signer.name, size, root).text(), [signer]), proof


def cosigned_checkpoint(platform: Platform, log: Verifier, witness: Verifier) -> tuple[int, int]:
    """Read /ledger/checkpoint as an outsider: its size, and the witness's timestamp."""
    response = platform.client.get("/ledger/checkpoint")
    assert response.status_code == 200
    note, _ = open_note(response.text, [log])
    lines = [s for s in note.signatures if s.name == witness.name]
    assert len(lines) == 1, response.text
    timestamp = verify_cosignature(witness, note.text, lines[0])
    assert timestamp is not None
    return Checkpoint.parse(note.text).size, timestamp


def test_the_log_collects_cosignatures_and_serves_them(platform: Platform, tmp_path: Path) -> None:
    log = log_verifier(platform)
    host = WitnessHost(tmp_path / "witness.db", log)
    with serve(host.app) as url:
        cosigners = checkpoints.Cosigners(platform.session_factory, [(host.vkey, url)])
        assert cosigners.collect() == 0  # no checkpoint yet: nothing to ask
        assert grow(platform, "a", 3) == 3
        assert cosigners.collect() == 1
        before = int(time.time())
        assert cosigned_checkpoint(platform, log, host.vkey)[0] == 3
        assert grow(platform, "a", 300) == 303  # the proof from 3 crosses a full tile
        assert cosigners.collect() == 1
        size, timestamp = cosigned_checkpoint(platform, log, host.vkey)
        assert size == 303
        assert timestamp >= before - 1
        assert cosigners.collect() == 0  # cosigned already
        assert host.size() == 303
    with unit_of_work(platform.session_factory) as session:
        kept = session.scalars(select(LedgerCosignature).order_by(LedgerCosignature.size)).all()
        w = host.vkey.encode()
        assert [(c.size, c.witness) for c in kept] == [(3, w), (303, w)]
        assert checkpoints.last_cosigned(session, host.vkey) == 303


def test_the_server_asks_its_witnesses_by_itself(migrated: Settings, tmp_path: Path) -> None:
    # The log's key first (the witness must know it), then the server that names the witness.
    engine = make_engine(migrated.resolved_database_url)
    with unit_of_work(make_session_factory(engine)) as session:
        keyring = Keyring(load_master_key(migrated))
        log = checkpoints.log_signer(session, keyring, migrated.resolved_ledger_origin).verifier
    engine.dispose()
    host = WitnessHost(tmp_path / "witness.db", log)
    down = Signer.generate("down.example/w", ALG_COSIGNATURE_V1).verifier
    with serve(host.app) as url:
        # A second witness that never answers must not hold up the first.
        witnesses = f"{down.encode()}=http://127.0.0.1:9/,{host.vkey.encode()}={url}"
        platform = Platform(migrated.replace(ledger_witnesses=witnesses))
        try:
            acme = platform.org("Acme")
            add_product(platform, acme, GTIN)
            with TestClient(platform.app) as served:  # runs the lifespan: the background
                issued = served.post(
                    "/api/v1/code-runs", json={"product": GTIN, "count": 10}, headers=acme.auth
                )
                assert issued.status_code == 201
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    note = served.get("/ledger/checkpoint").text
                    if host.vkey.name in note:
                        break
                    time.sleep(0.1)
            assert cosigned_checkpoint(platform, log, host.vkey)[0] == 1
        finally:
            platform.close()


def _post(client: TestClient, body: bytes) -> Any:
    return client.post("/add-checkpoint", content=body)


def test_the_witness_refuses_what_the_protocol_says_it_must(
    platform: Platform, tmp_path: Path
) -> None:
    log = log_verifier(platform)
    host = WitnessHost(tmp_path / "witness.db", log)
    client = TestClient(host.app)
    grow(platform, "a", 2)
    first, _ = signed_checkpoint(platform, 2)
    ok = _post(client, AddCheckpoint(0, (), first).encode())
    assert ok.status_code == 200, ok.text
    assert ok.text.startswith("\u2014 witness.example/w1 ")
    grow(platform, "a", 4)
    later, proof = signed_checkpoint(platform, 6)
    text = parse_note(later).text

    def problem(body: bytes, status: int) -> str:
        answer = _post(client, body)
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        return str(answer.json()["detail"])

    # Signed by another key under the log's name: 403. Another log altogether: 404.
    impostor = sign_note(text, [Signer.generate(log.name)])
    problem(AddCheckpoint(2, tuple(proof), impostor).encode(), 403)
    stranger = Signer.generate("elsewhere.example/log")
    other_text = text.replace(log.name, stranger.name, 1)
    other = sign_note(other_text, [stranger])
    problem(AddCheckpoint(2, tuple(proof), other).encode(), 404)
    # A stale old size: 409 with the witness's size as text/x.tlog.size.
    stale = _post(client, AddCheckpoint(0, (), later).encode())
    assert stale.status_code == 409
    assert stale.headers["content-type"] == "text/x.tlog.size"
    assert stale.content == b"2\n"
    # Old size past the checkpoint's, malformed bodies: 400.
    assert "past" in problem(AddCheckpoint(7, tuple(proof), later).encode(), 400)
    problem(b"old 2\n" + later.encode(), 400)
    problem(b"old two\n\n" + later.encode(), 400)
    problem(b"old 2\n\nnot a note\n", 400)
    # A proof that does not take the witness's size-2 tree to this one: 422.
    problem(AddCheckpoint(2, tuple(reversed(proof)), later).encode(), 422)
    problem(AddCheckpoint(2, (), later).encode(), 422)
    # Too large to be a request.
    problem(b"old 2\n\n" + b"x" * 70_000, 413)
    assert host.size() == 2
    done = _post(client, AddCheckpoint(2, tuple(proof), later).encode())
    assert done.status_code == 200
    assert host.size() == 6
    assert client.get("/add-checkpoint").status_code == 405


@pytest.fixture
def fork_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A second database on the same engine as ``database_url``."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'fork.db'}"
        return
    with postgres_schema() as url:
        yield url


def test_a_forked_log_gets_no_cosignature(
    platform: Platform, fork_database_url: str, tmp_path: Path
) -> None:
    log = log_verifier(platform)
    # The fork: a second database holding the same log key, whose history diverges after
    # two leaves. Its checkpoints are validly signed; only a witness can tell them apart.
    engine = make_engine(fork_database_url)
    migrate(engine)
    engine.dispose()
    forked = Platform(platform.settings.replace(database_url=fork_database_url))
    try:
        with unit_of_work(platform.session_factory) as session:
            key = session.get(LedgerKey, 1)
            assert key is not None
            row = {c: getattr(key, c) for c in ("id", "name", "wrapped_seed", "created_at")}
        with unit_of_work(forked.session_factory) as session:
            session.add(LedgerKey(**row))
        assert log_verifier(forked) == log
        grow(platform, "common", 2)
        grow(forked, "common", 2)
        assert grow(platform, "honest", 2) == 4
        assert grow(forked, "forged", 2) == 4

        host = WitnessHost(tmp_path / "witness.db", log)
        with serve(host.app) as url:
            honest = checkpoints.Cosigners(platform.session_factory, [(host.vkey, url)])
            fork = checkpoints.Cosigners(forked.session_factory, [(host.vkey, url)])
            assert honest.collect() == 1
            # Same size, another root: told the witness's size (409), then refused (409).
            with pytest.raises(checkpoints.WitnessFailure, match="answered 409"):
                fork.cosign(host.vkey, url)
            assert grow(forked, "forged", 3) == 7
            # Larger: the proof from the witness's size 4 cannot reach the forked root.
            with pytest.raises(checkpoints.WitnessFailure, match="answered 422"):
                fork.cosign(host.vkey, url)
            assert fork.collect() == 0  # what the background thread sees: logged, no row
            assert grow(platform, "honest", 3) == 7
            assert honest.collect() == 1
        assert cosigned_checkpoint(platform, log, host.vkey)[0] == 7
        assert host.vkey.name not in forked.client.get("/ledger/checkpoint").text
        with unit_of_work(forked.session_factory) as session:
            assert session.scalar(select(func.count()).select_from(LedgerCosignature)) == 0
        kept = WitnessState(host.state_path).refusals(log.name)
        assert [(r.status, Checkpoint.parse(parse_note(r.checkpoint).text).size) for r in kept] == [
            (409, 4),
            (422, 7),
        ]
    finally:
        forked.close()


def test_concurrent_requests_advance_the_witness_once(platform: Platform, tmp_path: Path) -> None:
    log = log_verifier(platform)
    host = WitnessHost(tmp_path / "witness.db", log)
    grow(platform, "a", 2)
    grow(platform, "a", 10)
    first, _ = signed_checkpoint(platform, 2)
    with serve(host.app) as url:
        assert post_add_checkpoint(url, AddCheckpoint(0, (), first).encode(), 10).status == 200
        bodies = []
        for size in range(3, 13):
            note, proof = signed_checkpoint(platform, size)
            bodies.append(AddCheckpoint(2, tuple(proof), note).encode())
        start = threading.Barrier(len(bodies))
        answers: list[Any] = [None] * len(bodies)

        def send(i: int) -> None:
            start.wait()
            answers[i] = post_add_checkpoint(url, bodies[i], 30)

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    won = [i for i, answer in enumerate(answers) if answer.status == 200]
    assert len(won) == 1, [a.status for a in answers]
    winner = 3 + won[0]
    assert host.size() == winner
    for i, answer in enumerate(answers):
        if i != won[0]:
            assert answer.status == 409
            assert parse_size(answer.body) == winner


def test_witness_state_survives_a_restart(platform: Platform, tmp_path: Path) -> None:
    log = log_verifier(platform)
    host = WitnessHost(tmp_path / "witness.db", log)
    grow(platform, "a", 5)
    with serve(host.app) as url:
        cosigners = checkpoints.Cosigners(platform.session_factory, [(host.vkey, url)])
        assert cosigners.collect() == 1
    host.restart()
    client = TestClient(host.app)
    note, _ = signed_checkpoint(platform, 5)
    stale = _post(client, AddCheckpoint(0, (), note).encode())
    assert (stale.status_code, stale.content) == (409, b"5\n")
    assert grow(platform, "a", 4) == 9
    with serve(host.app) as url:
        cosigners = checkpoints.Cosigners(platform.session_factory, [(host.vkey, url)])
        assert cosigners.collect() == 1
    assert host.size() == 9
    # A log that forgot what it had stored (a restored backup): told the size, then cosigned.
    with unit_of_work(platform.session_factory) as session:
        session.execute(LedgerCosignature.__table__.delete())
    assert grow(platform, "a", 1) == 10
    with serve(host.app) as url:
        cosigners = checkpoints.Cosigners(platform.session_factory, [(host.vkey, url)])
        assert cosigners.collect() == 1
    assert cosigned_checkpoint(platform, log, host.vkey)[0] == 10


@contextmanager
def witness_process(args: list[str]) -> Iterator[tuple[str, list[str]]]:
    """``traceseal witness serve`` as a subprocess on a free port: its URL, its stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACESEAL_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "traceseal.cli.main", "witness", "serve", "--port", "0", *args],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert process.stderr is not None
    said: list[str] = []
    try:
        for line in process.stderr:
            said.append(line)
            found = re.search(r"running on (http://\S+)", line)
            if found:
                break
        else:
            pytest.fail("the witness did not start: " + "".join(said))
        yield found.group(1), said
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stderr.close()


def test_the_witness_command_and_an_auditor_that_requires_it(
    platform: Platform, tmp_path: Path
) -> None:
    cli = Cli(tmp_path / "cli", platform.settings.resolved_database_url)
    cli.env["TRACESEAL_MASTER_KEY"] = platform.settings.master_key
    key_file = tmp_path / "witness" / "key"
    made = cli.json("witness", "keygen", "--name", "regulator.example/w", "--out", str(key_file))
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    witness_key = Verifier.parse(made["vkey"])
    assert (witness_key.name, witness_key.algorithm) == ("regulator.example/w", ALG_COSIGNATURE_V1)
    log = log_verifier(platform)
    grow(platform, "a", 5)
    state = tmp_path / "witness" / "state.db"

    with serve(platform.app) as log_url:
        # Trust on first use: the key the log serves, with a warning that says so.
        args = ["--log-url", log_url, "--key", str(key_file), "--state", str(state)]
        with witness_process(args) as (witness_url, said):
            assert "warning: trusting the key" in "".join(said)
            cosigners = checkpoints.Cosigners(
                platform.session_factory, [(witness_key, witness_url)]
            )
            assert cosigners.collect() == 1
        assert cosigned_checkpoint(platform, log, witness_key)[0] == 5

        audit = ["ledger", "verify", "--url", log_url, "--vkey", log.encode()]
        audit += ["--state", str(tmp_path / "audit.json")]
        report = cli.json(*audit, "--witness", witness_key.encode(), "--min-witnesses", "1")
        assert report["cosigned_by"] == ["regulator.example/w"]
        other = Signer.generate("other.example/w", ALG_COSIGNATURE_V1).verifier.encode()
        both = ["--witness", witness_key.encode(), "--witness", other]
        assert cli.json(*audit, *both, "--min-witnesses", "1")["size"] == 5
        for policy in (both, ["--witness", other, "--min-witnesses", "1"]):
            failed = cli.run(*audit, *policy, ok=False)
            assert failed.returncode == 1, failed.stderr
            assert "witnesses given cosigned" in " ".join(failed.stderr.split())
        usage = cli.run(*audit, "--witness", other, "--min-witnesses", "2", ok=False)
        assert usage.returncode == 2
        log_key = cli.run(*audit, "--witness", log.encode(), ok=False)
        assert log_key.returncode == 2
        # The local database gives the same answer as the server.
        local = cli.json(
            *["ledger", "verify", "--db", "--vkey", log.encode()],
            *["--state", str(tmp_path / "db-audit.json"), "--witness", witness_key.encode()],
        )
        assert local["cosigned_by"] == ["regulator.example/w"]

        # Restarted with the key pinned: the state is the one the first run left.
        grow(platform, "a", 2)
        pinned = [*args, "--log-vkey", log.encode()]
        with witness_process(pinned) as (witness_url, said):
            assert "warning" not in "".join(said)
            assert "cosigned up to size 5" in "".join(said)
            cosigners = checkpoints.Cosigners(
                platform.session_factory, [(witness_key, witness_url)]
            )
            assert cosigners.collect() == 1
        assert cosigned_checkpoint(platform, log, witness_key)[0] == 7

        # A state file that knows the log by another key: the key served now is not trusted.
        elsewhere = tmp_path / "witness" / "other-state.db"
        WitnessState(elsewhere).watch(Signer.generate(log.name).verifier)
        refused = cli.run(
            *["witness", "serve", "--log-url", log_url, "--key", str(key_file)],
            *["--state", str(elsewhere), "--port", "0"],
            ok=False,
        )
        assert refused.returncode == 1
        assert "knows log" in " ".join(refused.stderr.split())
