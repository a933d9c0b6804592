"""FF1 format-preserving encryption, NIST SP 800-38G (Algorithms 7 and 8).

Two implementations of one algorithm:

* :class:`FF1` follows the standard's pseudo-code for any radix and length. It is the
  reference: the NIST sample vectors pin it, and everything else is checked against it.
* :class:`FF1Radix10` runs the same rounds over a whole numpy array of radix-10 values at
  once. Each Feistel round is one bulk AES-ECB call over every value's last PRF block plus a
  few vectorised integer operations, which is what makes issuing a hundred million codes cheap
  (PRODUCT.md, decision 1).

Both are deterministic permutations of ``{0 .. radix**n - 1}`` for a fixed key and tweak.
Callers must keep keys secret and must not use a domain smaller than one million values
(SP 800-38G Rev. 1 requires ``radix**n >= 1_000_000``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = ["FF1", "MIN_DOMAIN", "FF1Radix10"]

#: SP 800-38G Rev. 1, section 5.2: the domain must hold at least a million values.
MIN_DOMAIN = 1_000_000
_ROUNDS = 10
_KEY_SIZES = (16, 24, 32)


def _check_key(key: bytes) -> None:
    if len(key) not in _KEY_SIZES:
        raise ValueError(f"AES key must be 16, 24 or 32 bytes, got {len(key)}")


def _sizes(radix: int, n: int) -> tuple[int, int, int, int]:
    """Return ``(u, v, b, d)`` of Algorithm 7, steps 1-4.

    ``b = ceil(ceil(v * log2(radix)) / 8)`` is computed with integers: the number of bits of
    ``radix**v - 1`` equals ``ceil(v * log2(radix))`` for every radix >= 2.
    """
    u = n // 2
    v = n - u
    b = ((radix**v - 1).bit_length() + 7) // 8
    d = 4 * ((b + 3) // 4) + 4
    return u, v, b, d


def _p_block(radix: int, u: int, n: int, t: int) -> bytes:
    # Algorithm 7, step 5: [1]^1 || [2]^1 || [1]^1 || [radix]^3 || [10]^1 || [u mod 256]^1
    #                      || [n]^4 || [t]^4
    return (
        bytes([1, 2, 1])
        + radix.to_bytes(3, "big")
        + bytes([10, u % 256])
        + n.to_bytes(4, "big")
        + t.to_bytes(4, "big")
    )


class FF1:
    """Reference FF1 over any radix 2..65536.

    >>> key = bytes.fromhex("2B7E151628AED2A6ABF7158809CF4F3C")
    >>> FF1(key, radix=10).encrypt([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], b"")
    [2, 4, 3, 3, 4, 7, 7, 4, 8, 4]

    The caller passes numerals (integers below ``radix``), not characters.
    """

    def __init__(self, key: bytes, radix: int = 10) -> None:
        _check_key(key)
        if not 2 <= radix <= 1 << 16:
            raise ValueError("radix must be in 2..65536")
        self._radix = radix
        self._ecb = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305

    def _ciph(self, block: bytes) -> bytes:
        return self._ecb.update(block)

    def _prf(self, data: bytes) -> bytes:
        # CBC-MAC with a zero IV (Algorithm 6), block by block through ECB.
        y = bytes(16)
        for i in range(0, len(data), 16):
            y = self._ciph(bytes(a ^ c for a, c in zip(y, data[i : i + 16], strict=True)))
        return y

    def _round_value(self, p: bytes, tweak: bytes, i: int, num_b: int, b: int, d: int) -> int:
        q = tweak + bytes((-len(tweak) - b - 1) % 16) + bytes([i]) + num_b.to_bytes(b, "big")
        r = self._prf(p + q)
        s = bytearray(r)
        j = 1
        while len(s) < d:
            s += self._ciph(bytes(x ^ y for x, y in zip(r, j.to_bytes(16, "big"), strict=True)))
            j += 1
        return int.from_bytes(bytes(s[:d]), "big")

    def _num(self, x: Sequence[int]) -> int:
        value = 0
        for digit in x:
            value = value * self._radix + digit
        return value

    def _str(self, value: int, m: int) -> list[int]:
        out = [0] * m
        for k in range(m - 1, -1, -1):
            value, out[k] = divmod(value, self._radix)
        return out

    def _validate(self, x: Sequence[int], tweak: bytes) -> None:
        n = len(x)
        if n < 2 or self._radix**n < MIN_DOMAIN:
            raise ValueError("FF1 domain radix**n must be at least 1,000,000")
        if any(not 0 <= digit < self._radix for digit in x):
            raise ValueError("numeral out of range for radix")
        if len(tweak) > 0xFFFFFFFF:
            raise ValueError("tweak too long")

    def encrypt(self, x: Sequence[int], tweak: bytes) -> list[int]:
        self._validate(x, tweak)
        n = len(x)
        u, v, b, d = _sizes(self._radix, n)
        p = _p_block(self._radix, u, n, len(tweak))
        a, bb = list(x[:u]), list(x[u:])
        for i in range(_ROUNDS):
            y = self._round_value(p, tweak, i, self._num(bb), b, d)
            m = u if i % 2 == 0 else v
            c = (self._num(a) + y) % self._radix**m
            a, bb = bb, self._str(c, m)
        return a + bb

    def decrypt(self, x: Sequence[int], tweak: bytes) -> list[int]:
        self._validate(x, tweak)
        n = len(x)
        u, v, b, d = _sizes(self._radix, n)
        p = _p_block(self._radix, u, n, len(tweak))
        a, bb = list(x[:u]), list(x[u:])
        for i in range(_ROUNDS - 1, -1, -1):
            y = self._round_value(p, tweak, i, self._num(a), b, d)
            m = u if i % 2 == 0 else v
            c = (self._num(bb) - y) % self._radix**m
            a, bb = self._str(c, m), a
        return a + bb


U64 = npt.NDArray[np.uint64]


class FF1Radix10:
    """FF1 with radix 10 and a fixed length and tweak, over numpy arrays of integers.

    Values are the integers the digit strings denote (``NUM_10``), so the plaintext
    ``"0000000000000042"`` is ``42``. Lengths 6..18 are supported: for those ``b <= 4`` and
    ``d == 8``, so every round value ``y`` is one unsigned 64-bit integer and every sum stays
    below 2**64.

    >>> import numpy as np
    >>> key = bytes.fromhex("2B7E151628AED2A6ABF7158809CF4F3C")
    >>> FF1Radix10(key, b"", 10).encrypt(np.array([123456789], dtype=np.uint64))
    array([2433477484], dtype=uint64)

    The caller must pass values below ``10**length``; this is checked.
    """

    def __init__(self, key: bytes, tweak: bytes, length: int) -> None:
        _check_key(key)
        if not 6 <= length <= 18:
            raise ValueError("FF1Radix10 supports lengths 6..18")
        self.length = length
        u, v, b, d = _sizes(10, length)
        assert b <= 4
        assert d == 8
        self._u, self._v, self._b = u, v, b
        self._key = key
        # One cipher context and output buffer per thread: a Keyring shares one instance
        # between the server's worker threads, and an OpenSSL context must not be shared.
        self._local = threading.local()
        ecb = self._ecb()
        # P and every block of Q except the last are the same for every value: run the
        # CBC-MAC over them once and keep the chaining state.
        q_pad = (-len(tweak) - b - 1) % 16
        q_fixed = tweak + bytes(q_pad)  # followed by [i]^1 || NUM(B) in the last block
        data = _p_block(10, u, length, len(tweak)) + q_fixed
        # The last block of P || Q is (tail of q_fixed) || [i] || NUM(B); its first
        # 16 - b - 1 bytes are fixed. Everything before that block is chained now.
        full = len(data) - (16 - b - 1)
        state = bytes(16)
        for k in range(0, full, 16):
            block = bytes(x ^ y for x, y in zip(state, data[k : k + 16], strict=True))
            state = ecb.update(block)
        # With b <= 4 the last block's first 12 bytes are fixed per round and its last word
        # is (fixed bytes << 8b) | NUM(B), whose two parts share no bits. XOR with the
        # chaining state therefore folds into per-round constants: words 0..2 are constant
        # and word 3 is NUM(B) ^ k3[i]. One round then writes one word per value.
        state_words = np.frombuffer(state, dtype=">u4").astype(np.uint32)
        last_fixed = data[full:]
        self._k012: list[npt.NDArray[np.uint32]] = []
        self._k3: list[np.uint32] = []
        for i in range(_ROUNDS):
            block = last_fixed + bytes([i]) + bytes(b)
            words = np.frombuffer(block, dtype=">u4").astype(np.uint32) ^ state_words
            self._k012.append(words[:3].copy())
            self._k3.append(np.uint32(words[3]))
        self._mod_u = np.uint64(10**u)
        self._mod_v = np.uint64(10**v)
        # The same constants as Python ints and bytes, for one value at a time.
        self._prefix = [k.astype(">u4").tobytes() for k in self._k012]
        self._k3_int = [int(k) for k in self._k3]
        self._mods: tuple[int, int] = (10**u, 10**v)
        self._pow_v: int = 10**v

    def _ecb(self) -> Any:
        ecb = getattr(self._local, "ecb", None)
        if ecb is None:
            ecb = Cipher(algorithms.AES(self._key), modes.ECB()).encryptor()  # noqa: S305
            self._local.ecb = ecb
            self._local.buffer = bytearray()
        return ecb

    def _y(self, i: int, num_b: U64) -> U64:
        """Round value y = NUM(first 8 bytes of PRF(P || Q)) for every B at once."""
        count = num_b.shape[0]
        words = np.empty((count, 4), dtype=">u4")
        words[:, :3] = self._k012[i]
        words[:, 3] = num_b.astype(np.uint32) ^ self._k3[i]
        size = 16 * count
        ecb = self._ecb()
        buffer: bytearray = self._local.buffer
        if len(buffer) < size + 15:
            buffer = self._local.buffer = bytearray(size + 15)
        ecb.update_into(words.data.cast("B"), buffer)
        out = np.frombuffer(buffer, dtype=">u8", count=2 * count)
        return out[::2].astype(np.uint64)

    def _check(self, x: U64) -> U64:
        x = np.asarray(x, dtype=np.uint64)
        if x.ndim != 1:
            raise ValueError("expected a one-dimensional array")
        if x.size and int(x.max()) >= 10**self.length:
            raise ValueError(f"value does not fit in {self.length} digits")
        return x

    def encrypt_split(self, x: U64) -> tuple[U64, U64]:
        """Encrypt and return the output's two halves ``(A, B)``: the first ``u`` and the
        last ``v`` digits as integers. Saves the caller splitting the value again."""
        x = self._check(x)
        a, b = np.divmod(x, np.uint64(10**self._v))
        for i in range(_ROUNDS):
            mod = self._mod_u if i % 2 == 0 else self._mod_v
            c = self._y(i, b)
            np.remainder(c, mod, out=c)
            c += a
            # c < 2 * mod, so one conditional subtraction replaces a second division.
            np.subtract(c, mod, out=c, where=c >= mod)
            a, b = b, c
        return a, b

    def encrypt(self, x: U64) -> U64:
        a, b = self.encrypt_split(x)
        return a * np.uint64(10**self._v) + b

    def decrypt(self, x: U64) -> U64:
        x = self._check(x)
        a, b = np.divmod(x, np.uint64(10**self._v))
        for i in range(_ROUNDS - 1, -1, -1):
            mod = self._mod_u if i % 2 == 0 else self._mod_v
            # (B - y) mod m without going below zero in unsigned arithmetic.
            c = (b + (mod - self._y(i, a) % mod)) % mod
            a, b = c, a
        return a * np.uint64(10**self._v) + b

    def decrypt_int(self, x: int) -> int:
        """Decrypt one value with Python integers: for verification, where numpy's
        per-call overhead on a one-element array would cost more than the AES itself.

        >>> key = bytes.fromhex("2B7E151628AED2A6ABF7158809CF4F3C")
        >>> FF1Radix10(key, b"", 10).decrypt_int(2433477484)
        123456789
        """
        if not 0 <= x < 10**self.length:
            raise ValueError(f"value does not fit in {self.length} digits")
        ecb = self._ecb()
        a, b = divmod(x, self._pow_v)
        for i in range(_ROUNDS - 1, -1, -1):
            word = (a ^ self._k3_int[i]).to_bytes(4, "big")
            y = int.from_bytes(ecb.update(self._prefix[i] + word)[:8], "big")
            a, b = (b - y) % self._mods[i % 2], a
        return a * self._pow_v + b
