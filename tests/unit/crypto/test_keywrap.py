from __future__ import annotations

import os

import pytest

from traceseal.crypto.keywrap import UnwrapError, unwrap, wrap


def test_round_trip_and_binding() -> None:
    master, key = os.urandom(32), os.urandom(32)
    blob = wrap(master, key, b"slot:100")
    assert unwrap(master, blob, b"slot:100") == key
    with pytest.raises(UnwrapError):
        unwrap(os.urandom(32), blob, b"slot:100")
    with pytest.raises(UnwrapError):
        unwrap(master, blob, b"slot:101")
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    with pytest.raises(UnwrapError):
        unwrap(master, bytes(tampered), b"slot:100")
    assert wrap(master, key, b"slot:100") != blob  # fresh nonce every time
