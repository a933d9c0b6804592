"""The witness's Ed25519 cosigning key in a file of its own (mode 0600).

The file holds one line, the signed-note signer key form
``PRIVATE+KEY+<name>+<hex key ID>+<base64(0x04 || seed)>``; its public half, the verifier
key ``<name>+<hex key ID>+<base64(0x04 || public key)>``, is what the witness's operator
gives to the log's operator and to auditors.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from traceseal.merkle.note import ALG_COSIGNATURE_V1, NoteError, Signer

__all__ = ["KeyFileError", "create_key", "load_key"]


class KeyFileError(Exception):
    """The key file is missing, malformed, or not a cosignature key."""


def create_key(name: str, path: Path) -> Signer:
    """Generate a cosignature key named ``name`` and write it to ``path``, which must not
    exist. The file is created 0600 in one ``open`` (O_EXCL): never readable by others,
    not even for an instant, and never overwriting a key in use."""
    try:
        signer = Signer.generate(name, ALG_COSIGNATURE_V1)
    except NoteError as exc:
        raise KeyFileError(str(exc)) from exc
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise KeyFileError(f"{path} exists; a witness key is never overwritten") from exc
    with os.fdopen(fd, "w") as handle:
        handle.write(signer.encode() + "\n")
    return signer


def load_key(path: Path) -> tuple[Signer, bool]:
    """The key in ``path``, and whether the file is private (no group or other access)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise KeyFileError(f"cannot read the witness key {path}: {exc.strerror}") from exc
    try:
        signer = Signer.parse(text)
    except NoteError as exc:
        raise KeyFileError(f"{path}: {exc}") from exc
    if signer.algorithm != ALG_COSIGNATURE_V1:
        raise KeyFileError(f"{path} is not a witness cosignature key (type 0x04)")
    private = not stat.S_IMODE(path.stat().st_mode) & 0o077
    return signer, private
