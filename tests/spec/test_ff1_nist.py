"""NIST SP 800-38G FF1 sample vectors (FF1samples.pdf, samples 1-9)."""

from __future__ import annotations

import numpy as np
import pytest

from traceseal.crypto.ff1 import FF1, FF1Radix10

K128 = "2B7E151628AED2A6ABF7158809CF4F3C"
K192 = K128 + "EF4359D8D580AA4F"
K256 = K192 + "7F036D6F04FC6A94"
T10 = "39383736353433323130"
T11 = "3737373770717273373737"
ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"

SAMPLES = [
    (1, K128, "", 10, "0123456789", "2433477484"),
    (2, K128, T10, 10, "0123456789", "6124200773"),
    (3, K128, T11, 36, "0123456789abcdefghi", "a9tv40mll9kdu509eum"),
    (4, K192, "", 10, "0123456789", "2830668132"),
    (5, K192, T10, 10, "0123456789", "2496655549"),
    (6, K192, T11, 36, "0123456789abcdefghi", "xbj3kv35jrawxv32ysr"),
    (7, K256, "", 10, "0123456789", "6657667009"),
    (8, K256, T10, 10, "0123456789", "1001623463"),
    (9, K256, T11, 36, "0123456789abcdefghi", "xs8a0azh2avyalyzuwd"),
]


def _numerals(text: str) -> list[int]:
    return [ALPHABET.index(ch) for ch in text]


def _text(numerals: list[int]) -> str:
    return "".join(ALPHABET[n] for n in numerals)


@pytest.mark.parametrize(("sample", "key", "tweak", "radix", "plain", "cipher"), SAMPLES)
def test_reference_ff1_matches_nist(
    sample: int, key: str, tweak: str, radix: int, plain: str, cipher: str
) -> None:
    ff1 = FF1(bytes.fromhex(key), radix)
    assert _text(ff1.encrypt(_numerals(plain), bytes.fromhex(tweak))) == cipher
    assert _text(ff1.decrypt(_numerals(cipher), bytes.fromhex(tweak))) == plain


@pytest.mark.parametrize(
    ("sample", "key", "tweak", "radix", "plain", "cipher"), [s for s in SAMPLES if s[3] == 10]
)
def test_vectorised_ff1_matches_nist(
    sample: int, key: str, tweak: str, radix: int, plain: str, cipher: str
) -> None:
    ff1 = FF1Radix10(bytes.fromhex(key), bytes.fromhex(tweak), len(plain))
    encrypted = ff1.encrypt(np.array([int(plain)], dtype=np.uint64))
    assert f"{int(encrypted[0]):0{len(plain)}d}" == cipher
    decrypted = ff1.decrypt(np.array([int(cipher)], dtype=np.uint64))
    assert f"{int(decrypted[0]):0{len(plain)}d}" == plain
