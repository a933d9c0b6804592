"""witness keygen, witness serve: run a witness of a TraceSeal log (C2SP tlog-witness).

These commands read no TRACESEAL_* settings and touch no platform database: whoever runs a
witness (an enterprise, a regulator) needs only its key file and its state file.
"""

from __future__ import annotations

import logging
import urllib.request
from pathlib import Path

import typer

from traceseal.cli.common import JsonOption, emit, err, fail
from traceseal.merkle.note import ALG_ED25519, NoteError, Verifier
from traceseal.witness.keys import KeyFileError, create_key, load_key
from traceseal.witness.state import StateError, WitnessState

app = typer.Typer(
    help="Witness a transparency log: cosign its consistent checkpoints.", no_args_is_help=True
)


@app.command()
def keygen(
    name: str = typer.Option(
        ..., help="The witness's name, a schema-less URL such as witness.example.com/w1."
    ),
    out: Path = typer.Option(..., help="File to create for the private key (mode 0600)."),
    as_json: bool = JsonOption,
) -> None:
    """Create a witness key; print its verifier key for the log's operator and auditors."""
    try:
        signer = create_key(name, out)
    except KeyFileError as exc:
        fail(str(exc), 2)
    vkey = signer.verifier.encode()
    emit(
        as_json,
        {"name": name, "key_file": str(out), "vkey": vkey},
        f"created {out} (mode 0600): keep it secret, back it up\nwitness verifier key:\n{vkey}",
    )


def _log_key(log_url: str, log_vkey: str) -> tuple[Verifier, bool]:
    """The log's key, and whether the operator pinned it (rather than trusting the log)."""
    if log_vkey:
        try:
            verifier = Verifier.parse(log_vkey)
        except NoteError as exc:
            fail(f"--log-vkey: {exc}", 2)
        pinned = True
    else:
        url = log_url.rstrip("/") + "/ledger/key"
        if not url.startswith(("https://", "http://")):
            fail("--log-url is an http(s) URL", 2)
        try:
            with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - http(s)
                text = response.read(4096).decode()
            verifier = Verifier.parse(text)
        except (OSError, UnicodeDecodeError, NoteError) as exc:
            fail(f"cannot read the log's key from {url}: {exc}")
        # Trust on first use: whoever answers now is believed. Pin the key to be sure.
        err.print(
            f"warning: trusting the key {url} served: {verifier.encode()}; pass --log-vkey "
            "with the key the log's operator published to be sure",
            highlight=False,
        )
        pinned = False
    if verifier.algorithm != ALG_ED25519:
        fail("the log's key is a note key (type 0x01), not a cosignature key", 2)
    return verifier, pinned


@app.command()
def serve(
    log_url: str = typer.Option(..., help="Base URL of the TraceSeal log to witness."),
    key: Path = typer.Option(..., help="The witness key file (from `traceseal witness keygen`)."),
    log_vkey: str = typer.Option(
        "", help="The log's verifier key, pinned. Without it, the key the log serves is trusted."
    ),
    state: Path = typer.Option(
        Path.home() / ".traceseal" / "witness.db",
        help="SQLite file with the last checkpoint cosigned per log; keep and back it up.",
    ),
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(7380, help="TCP port (0: any free port)."),
) -> None:
    """Serve POST /add-checkpoint for the log at --log-url."""
    import uvicorn

    from traceseal.witness.app import create_witness_app
    from traceseal.witness.witness import Witness

    try:
        signer, private = load_key(key)
    except KeyFileError as exc:
        fail(str(exc), 2)
    if not private:
        err.print(f"warning: {key} can be read by others; chmod 600 it", highlight=False)
    verifier, pinned = _log_key(log_url, log_vkey)
    try:
        known = WitnessState(state).watch(verifier, replace_key=pinned)
    except StateError as exc:
        fail(f"{exc}; if the log's key really changed, pass it with --log-vkey")
    witness = Witness(signer, WitnessState(state), [verifier])
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(name)s: %(message)s")
    err.print(
        f"witness {signer.verifier.encode()}\n"
        f"watching {verifier.name} ({verifier.encode()}), cosigned up to size {known.size}\n"
        f"state {state}",
        highlight=False,
    )
    uvicorn.run(create_witness_app(witness), host=host, port=port, log_level="info")
