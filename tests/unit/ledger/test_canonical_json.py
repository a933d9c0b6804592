"""The fast road to RFC 8785 JSON gives the same bytes as the rfc8785 package."""

from __future__ import annotations

import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from traceseal.ledger.service import canonical_json

_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
    st.text(),  # any code point, control characters and non-BMP included
)


@given(st.dictionaries(st.text(alphabet=st.characters(max_codepoint=127)), _values, max_size=8))
def test_flat_records_match_the_reference(content: dict) -> None:
    assert canonical_json(content) == rfc8785.dumps(content)


@given(
    st.dictionaries(
        st.text(),
        st.one_of(
            _values,
            st.floats(allow_nan=False, allow_infinity=False),
            st.lists(st.integers(max_value=10**6, min_value=-(10**6))),
        ),
        max_size=6,
    )
)
def test_other_records_go_to_the_reference(content: dict) -> None:
    assert canonical_json(content) == rfc8785.dumps(content)
