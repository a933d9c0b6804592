"""The master key: where it comes from, how a new one is created, and what it does."""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from traceseal.config import Settings, SettingsError
from traceseal.crypto.keywrap import MASTER_KEY_BYTES, unwrap, wrap


class MasterKey:
    """The platform's master key in memory: it wraps every secret the database stores (slot
    keys, signing seeds, webhook secrets) and derives keys for named purposes.

    Each use names a purpose, bound into the wrapping as associated data, so a blob wrapped
    for one purpose never unwraps as another. Features take a ``MasterKey``; the code
    feature's ``Keyring`` adds the slot ciphers on top.
    """

    def __init__(self, key: bytes) -> None:
        self._key = key

    def wrap(self, secret: bytes, purpose: bytes) -> bytes:
        return wrap(self._key, secret, purpose)

    def unwrap(self, blob: bytes, purpose: bytes) -> bytes:
        return unwrap(self._key, blob, purpose)

    def wrap_secret(self, purpose: str, secret: bytes) -> bytes:
        return self.wrap(secret, f"traceseal/{purpose}".encode())

    def unwrap_secret(self, purpose: str, blob: bytes) -> bytes:
        return self.unwrap(blob, f"traceseal/{purpose}".encode())

    def derive(self, purpose: str) -> bytes:
        """A 32-byte secret for ``purpose``, derived from the master key (HMAC-SHA-256)."""
        return hmac.new(self._key, f"traceseal/{purpose}".encode(), "sha256").digest()


class MasterKeyMissing(SettingsError):
    """No master key: neither TRACESEAL_MASTER_KEY nor the key file exists."""


def _parse(text: str, source: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError as exc:
        raise SettingsError(f"{source}: the master key must be 64 hex digits") from exc
    if len(key) != MASTER_KEY_BYTES:
        raise SettingsError(f"{source}: the master key must be 64 hex digits (32 bytes)")
    return key


def load_master_key(settings: Settings) -> bytes:
    if settings.master_key:
        return _parse(settings.master_key, "TRACESEAL_MASTER_KEY")
    path = settings.resolved_master_key_file
    try:
        text = path.read_text()
    except FileNotFoundError as exc:
        raise MasterKeyMissing(
            f"no master key: set TRACESEAL_MASTER_KEY or run `traceseal init` to create {path}"
        ) from exc
    return _parse(text, str(path))


def ensure_master_key(settings: Settings) -> Path | None:
    """Create the master key file if no key is configured. Returns the path if created.

    The file is created with mode 0600 in one ``open`` call (O_EXCL), so it is never
    readable by others, not even for an instant.
    """
    if settings.master_key:
        _parse(settings.master_key, "TRACESEAL_MASTER_KEY")
        return None
    path = settings.resolved_master_key_file
    if path.exists():
        _parse(path.read_text(), str(path))
        return None
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)  # the data directory: private
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(MASTER_KEY_BYTES) + "\n")
    return path
