"""Damm check digit (H. Michael Damm, 2004) over decimal strings.

The operation table is a totally anti-symmetric quasigroup of order 10, so the check digit
detects every single-digit error and every transposition of adjacent digits. A string that
ends in its own check digit reduces to 0.

>>> check_digit("572")
4
>>> is_valid("5724")
True
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["TABLE", "check_digit", "check_digits", "is_valid"]

#: Damm's published operation table: row = interim digit, column = next input digit.
TABLE: tuple[tuple[int, ...], ...] = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
_NP_TABLE = np.array(TABLE, dtype=np.uint8)


def _reduce(digits: str) -> int:
    interim = 0
    for ch in digits:
        if not "0" <= ch <= "9":
            raise ValueError("Damm check digits are defined over ASCII digits only")
        interim = TABLE[interim][ord(ch) - 48]
    return interim


def check_digit(digits: str) -> int:
    """The digit to append to ``digits`` (ASCII ``0-9`` only)."""
    return _reduce(digits)


def is_valid(digits: str) -> bool:
    """True when ``digits`` ends in the Damm check digit of what precedes it."""
    return len(digits) >= 1 and _reduce(digits) == 0


def check_digits(digit_matrix: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Check digits of many strings at once: one row of numerals ``0..9`` per string.

    >>> check_digits(np.array([[5, 7, 2]], dtype=np.uint8))
    array([4], dtype=uint8)
    """
    matrix = np.asarray(digit_matrix, dtype=np.uint8)
    interim = np.zeros(matrix.shape[0], dtype=np.uint8)
    for column in range(matrix.shape[1]):
        interim = _NP_TABLE[interim, matrix[:, column]]
    return interim
