"""The seal-code format, version 1 (docs/codes.md). Pure: no database, no web.

A seal code is 20 ASCII digits::

    SSS CCCCCCCCCCCCCCCC D
    |   |                 `- Damm check digit over the first 19 digits
    |   `- FF1-AES-256 (radix 10, tweak = the 3 ASCII slot digits) of the
    |      16-digit zero-padded sequence number within the slot
    `- key slot 000..999

Reading a code back is therefore: check digit (catches typos with no key and no storage),
slot lookup, one FF1 decryption, and ``sequence < issued``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from traceseal.crypto import damm
from traceseal.crypto.ff1 import FF1Radix10

__all__ = [
    "BODY_DIGITS",
    "CODE_DIGITS",
    "SEQUENCE_LIMIT",
    "CodeFormatError",
    "SealCode",
    "SlotCipher",
    "parse_code",
]

CODE_DIGITS = 20
SLOT_DIGITS = 3
BODY_DIGITS = 16
#: Sequence numbers are 16-digit values: the FF1 domain.
SEQUENCE_LIMIT = 10**BODY_DIGITS
FORMAT_VERSION = 1

_SEPARATORS = re.compile(r"[\s\-]+")
_ASCII_DIGITS = re.compile(r"^[0-9]+$")


class CodeFormatError(ValueError):
    """Input that is not a seal code. ``reason`` is ``malformed`` or ``mistyped``.

    ``mistyped`` means 20 digits whose check digit fails: almost surely a typing or
    reading error, which must never be reported as a counterfeit.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class SealCode:
    slot: int
    body: int  # the 16-digit FF1 ciphertext as an integer

    @property
    def text(self) -> str:
        """The 20 digits, check digit computed (hold on to it on hot paths)."""
        head = f"{self.slot:03d}{self.body:016d}"
        return head + str(damm.check_digit(head))

    def __str__(self) -> str:
        return self.text


def parse_code(raw: str) -> SealCode:
    """Parse what a person typed or a scanner read.

    Spaces and dashes are ignored (labels print the code in groups of four). Text is
    NFKC-normalised first, so what a Chinese keyboard types (full-width digits "１２３",
    the ideographic space, the full-width hyphen) reads as the printed digits; other
    scripts' digits stay refused, and the code is stored as its numbers either way.

    >>> parse_code("1000 0000 0000 0000 0003").slot
    100
    >>> parse_code("１０００\u3000００００－００００ ００００ ０００３").slot
    100
    """
    if not raw.isascii():  # the common case skips the normalisation
        raw = unicodedata.normalize("NFKC", raw)
    compact = _SEPARATORS.sub("", raw)
    if not _ASCII_DIGITS.match(compact):
        raise CodeFormatError("malformed", "a seal code has only the digits 0-9")
    if len(compact) != CODE_DIGITS:
        raise CodeFormatError(
            "malformed", f"a seal code has {CODE_DIGITS} digits, this has {len(compact)}"
        )
    if not damm.is_valid(compact):
        raise CodeFormatError(
            "mistyped", "the check digit does not match: please check the code for a typo"
        )
    return SealCode(slot=int(compact[:SLOT_DIGITS]), body=int(compact[SLOT_DIGITS:-1]))


def _digits_of(values: npt.NDArray[np.uint64], width: int) -> npt.NDArray[np.uint8]:
    """Decimal numerals, most significant first, of each value: shape (len, width)."""
    out = np.empty((values.shape[0], width), dtype=np.uint8)
    rest = values.copy()
    for column in range(width - 1, -1, -1):
        out[:, column] = rest % np.uint64(10)
        rest //= np.uint64(10)
    return out


# Four-digit groups make both digit extraction and the Damm chain table look-ups:
# _GROUP_ASCII[g] is the four ASCII digits of g, and _DAMM4[s, g] is the Damm state after
# feeding the four digits of g to state s.
_GROUP_ASCII = np.array([[ord(ch) for ch in f"{g:04d}"] for g in range(10_000)], dtype=np.uint8)


def _damm4_table() -> npt.NDArray[np.uint8]:
    step = np.array(damm.TABLE, dtype=np.uint8)
    numerals = _GROUP_ASCII - np.uint8(ord("0"))
    table = np.empty((10, 10_000), dtype=np.uint8)
    for state in range(10):
        interim = np.full(10_000, state, dtype=np.uint8)
        for column in range(4):
            interim = step[interim, numerals[:, column]]
        table[state] = interim
    return table.reshape(-1)


_DAMM4: npt.NDArray[np.uint8] | None = None


def _damm4() -> npt.NDArray[np.uint8]:
    global _DAMM4
    if _DAMM4 is None:
        _DAMM4 = _damm4_table()
    return _DAMM4


class SlotCipher:
    """The codes of one key slot.

    >>> cipher = SlotCipher(100, bytes(32))
    >>> code = cipher.code(0)
    >>> cipher.sequence(parse_code(code))
    0

    Callers must check ``sequence < issued`` themselves: every 16-digit body decrypts to
    *some* sequence number.
    """

    def __init__(self, slot: int, key: bytes) -> None:
        if not 0 <= slot <= 999:
            raise ValueError("slot must be 0..999")
        self.slot = slot
        self._prefix = f"{slot:03d}"
        self._ff1 = FF1Radix10(key, self._prefix.encode("ascii"), BODY_DIGITS)
        # The PIN key is derived, never the slot key itself: a leaked PIN function must
        # say nothing about the code permutation.
        pin_key = hmac.new(key, b"traceseal/pin/v1", hashlib.sha256).digest()
        self._pin_ecb = Cipher(algorithms.AES(pin_key), modes.ECB()).encryptor()  # noqa: S305
        self._prefix_state = damm.TABLE[damm.TABLE[damm.TABLE[0][slot // 100]][slot // 10 % 10]][
            slot % 10
        ]

    def code(self, sequence: int) -> str:
        body = int(self._ff1.encrypt(np.array([sequence], dtype=np.uint64))[0])
        return SealCode(self.slot, body).text

    def sequence(self, code: SealCode) -> int:
        if code.slot != self.slot:
            raise ValueError("code belongs to another slot")
        return self._ff1.decrypt_int(code.body)

    def ascii_codes(self, start: int, count: int) -> npt.NDArray[np.uint8]:
        """Codes ``start .. start+count-1`` as a (count, 20) array of ASCII digits."""
        if start < 0 or count < 0 or start + count > SEQUENCE_LIMIT:
            raise ValueError("sequence numbers out of range")
        sequences = np.arange(start, start + count, dtype=np.uint64)
        high, low = self._ff1.encrypt_split(sequences)  # the body's 8 + 8 digits
        ten4 = np.uint32(10_000)
        groups = (
            *np.divmod(high.astype(np.uint32), ten4),
            *np.divmod(low.astype(np.uint32), ten4),
        )
        out = np.empty((count, CODE_DIGITS), dtype=np.uint8)
        out[:, :SLOT_DIGITS] = np.frombuffer(self._prefix.encode(), dtype=np.uint8)
        table = _damm4()
        state = np.full(count, self._prefix_state, dtype=np.uint32)
        for k, group in enumerate(groups):
            at = SLOT_DIGITS + 4 * k
            out[:, at : at + 4] = _GROUP_ASCII[group]
            state = table[state * 10_000 + group].astype(np.uint32)
        out[:, CODE_DIGITS - 1] = state.astype(np.uint8) + ord("0")
        return out

    def ascii_pins(self, start: int, count: int, digits: int) -> npt.NDArray[np.uint8]:
        """Scratch-off PINs of codes ``start ..``: AES-256 as a PRF on one block.

        The block is ``b"PIN\\0" || slot (2 bytes) || 0x0000 || sequence (8 bytes)``; the
        PIN is the first 8 bytes of its encryption mod 10**digits (bias below 2**-40).
        """
        sequences = np.arange(start, start + count, dtype=np.uint64)
        blocks = np.zeros((count, 16), dtype=np.uint8)
        blocks[:, :4] = np.frombuffer(b"PIN\0", dtype=np.uint8)
        blocks[:, 4:6] = np.frombuffer(self.slot.to_bytes(2, "big"), dtype=np.uint8)
        blocks[:, 8:] = sequences.astype(">u8").view(np.uint8).reshape(count, 8)
        out = self._pin_ecb.update(blocks.tobytes())
        values = np.frombuffer(out, dtype=">u8")[::2].astype(np.uint64) % np.uint64(10**digits)
        return _digits_of(values, digits) + np.uint8(ord("0"))

    def pin(self, sequence: int, digits: int) -> str:
        pins: bytes = self.ascii_pins(sequence, 1, digits)[0].tobytes()
        return pins.decode("ascii")

    def iter_ascii(
        self, start: int, count: int, chunk: int = 1 << 16
    ) -> Iterator[tuple[int, npt.NDArray[np.uint8]]]:
        """``(first sequence, ASCII codes)`` chunks covering ``start .. start+count-1``."""
        done = 0
        while done < count:
            size = min(chunk, count - done)
            yield start + done, self.ascii_codes(start + done, size)
            done += size
