from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from traceseal.crypto import damm

codes = st.text(alphabet="0123456789", min_size=19, max_size=19)


def test_published_example() -> None:
    assert damm.check_digit("572") == 4
    assert damm.is_valid("5724")
    assert not damm.is_valid("5723")


@given(codes)
def test_every_single_digit_error_is_caught(body: str) -> None:
    full = body + str(damm.check_digit(body))
    for position in range(len(full)):
        for digit in "0123456789":
            if digit != full[position]:
                typo = full[:position] + digit + full[position + 1 :]
                assert not damm.is_valid(typo)


@given(codes)
def test_every_adjacent_transposition_is_caught(body: str) -> None:
    full = body + str(damm.check_digit(body))
    for position in range(len(full) - 1):
        a, b = full[position], full[position + 1]
        if a != b:
            swapped = full[:position] + b + a + full[position + 2 :]
            assert not damm.is_valid(swapped)


@given(st.lists(codes, min_size=1, max_size=50))
def test_bulk_equals_scalar(bodies: list[str]) -> None:
    matrix = np.array([[int(c) for c in b] for b in bodies], dtype=np.uint8)
    assert damm.check_digits(matrix).tolist() == [damm.check_digit(b) for b in bodies]


def test_only_ascii_digits() -> None:
    with pytest.raises(ValueError, match="ASCII"):
        damm.check_digit("12３")
