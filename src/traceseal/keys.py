"""The master key: where it comes from, and how a new one is created."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from traceseal.config import Settings, SettingsError
from traceseal.crypto.keywrap import MASTER_KEY_BYTES


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
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(MASTER_KEY_BYTES) + "\n")
    return path
