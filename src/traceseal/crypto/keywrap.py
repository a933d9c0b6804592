"""Wrapping of data keys (slot keys, signing keys) under the master key with AES-256-GCM.

A wrapped key is ``version (1 byte) || nonce (12 bytes) || ciphertext || tag (16 bytes)``.
The associated data names what the key is for (for example ``b"slot:007"``), so a wrapped
key copied onto another row fails to unwrap instead of silently serving the wrong purpose.

>>> master = bytes(32)
>>> blob = wrap(master, b"k" * 32, b"slot:007")
>>> unwrap(master, blob, b"slot:007") == b"k" * 32
True
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["MASTER_KEY_BYTES", "UnwrapError", "unwrap", "wrap"]

MASTER_KEY_BYTES = 32
_VERSION = 1
_NONCE = 12


class UnwrapError(ValueError):
    """The wrapped key is corrupt, was made under another master key, or for another use."""


def wrap(master_key: bytes, key: bytes, purpose: bytes) -> bytes:
    if len(master_key) != MASTER_KEY_BYTES:
        raise ValueError("master key must be 32 bytes")
    nonce = os.urandom(_NONCE)
    return bytes([_VERSION]) + nonce + AESGCM(master_key).encrypt(nonce, key, purpose)


def unwrap(master_key: bytes, blob: bytes, purpose: bytes) -> bytes:
    if len(master_key) != MASTER_KEY_BYTES:
        raise ValueError("master key must be 32 bytes")
    if len(blob) < 1 + _NONCE + 16 or blob[0] != _VERSION:
        raise UnwrapError("unknown wrapped-key format")
    nonce, sealed = blob[1 : 1 + _NONCE], blob[1 + _NONCE :]
    try:
        return AESGCM(master_key).decrypt(nonce, sealed, purpose)
    except InvalidTag as exc:
        raise UnwrapError("wrapped key does not open with this master key and purpose") from exc
