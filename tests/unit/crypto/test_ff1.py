"""FF1 properties: the vectorised cipher equals the reference, is a permutation, and an
independent implementation (fastfpe, written in Rust from the same standard) agrees."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from fastfpe import ff1 as independent
from hypothesis import given, settings
from hypothesis import strategies as st

from traceseal.crypto.ff1 import FF1, FF1Radix10

keys = st.binary(min_size=32, max_size=32)
tweaks = st.binary(min_size=0, max_size=40)


@settings(max_examples=60, deadline=None)
@given(key=keys, tweak=tweaks, length=st.integers(6, 18), data=st.data())
def test_vectorised_equals_reference_and_round_trips(
    key: bytes, tweak: bytes, length: int, data: st.DataObject
) -> None:
    values = data.draw(st.lists(st.integers(0, 10**length - 1), min_size=1, max_size=20))
    bulk = FF1Radix10(key, tweak, length)
    encrypted = bulk.encrypt(np.array(values, dtype=np.uint64))
    reference = FF1(key, 10)
    for value, cipher in zip(values, encrypted, strict=True):
        digits = [int(c) for c in f"{value:0{length}d}"]
        assert "".join(map(str, reference.encrypt(digits, tweak))) == f"{int(cipher):0{length}d}"
    assert bulk.decrypt(encrypted).tolist() == values
    assert [bulk.decrypt_int(int(c)) for c in encrypted] == values


@settings(max_examples=30, deadline=None)
@given(key=keys, tweak=st.binary(min_size=0, max_size=12), value=st.integers(0, 10**16 - 1))
def test_independent_implementation_agrees(key: bytes, tweak: bytes, value: int) -> None:
    plain = f"{value:016d}"
    ours = FF1Radix10(key, tweak, 16).encrypt(np.array([value], dtype=np.uint64))
    assert (
        independent.encrypt(key.hex(), tweak.hex(), "0123456789", plain) == f"{int(ours[0]):016d}"
    )


def test_is_a_permutation_on_a_block_of_inputs() -> None:
    bulk = FF1Radix10(bytes(range(32)), b"123", 16)
    encrypted = bulk.encrypt(np.arange(200_000, dtype=np.uint64))
    assert len(np.unique(encrypted)) == 200_000
    assert int(encrypted.max()) < 10**16


def test_rejects_values_outside_the_domain_and_bad_keys() -> None:
    bulk = FF1Radix10(bytes(32), b"", 6)
    with pytest.raises(ValueError, match="6 digits"):
        bulk.encrypt(np.array([1_000_000], dtype=np.uint64))
    with pytest.raises(ValueError, match="6 digits"):
        bulk.decrypt_int(1_000_000)
    with pytest.raises(ValueError, match="16, 24 or 32"):
        FF1Radix10(bytes(20), b"", 16)
    with pytest.raises(ValueError, match="1,000,000"):
        FF1(bytes(16), 10).encrypt([1, 2, 3], b"")


def test_one_instance_is_safe_to_share_between_threads() -> None:
    # A Keyring shares one cipher per slot between the server's worker threads.
    bulk = FF1Radix10(bytes(range(32)), b"123", 16)
    expected = bulk.encrypt(np.arange(50_000, dtype=np.uint64))

    def work(seed: int) -> bool:
        chunk = bulk.encrypt(np.arange(50_000, dtype=np.uint64))
        singles = [bulk.decrypt_int(int(c)) for c in expected[seed::97]]
        return bool((chunk == expected).all()) and singles == list(range(seed, 50_000, 97))

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(work, range(32)))
