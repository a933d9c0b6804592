"""CBV 2.0 vocabularies: spellings, extensions, refusals; and hand-written bad documents."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import pytest

from traceseal.epcis import vocab

CONTEXTS = Path(__file__).resolve().parents[3].parent / "shared/conformance/gs1-epcis-2.0"
CONTEXTS = CONTEXTS / "json-ld-context"

TERMS: dict[str, frozenset[str]] = {
    "bizStep": vocab.BIZ_STEPS,
    "disposition": vocab.DISPOSITIONS,
    "bizTransactionType": vocab.BIZ_TRANSACTION_TYPES,
    "sourceDestType": vocab.SOURCE_DEST_TYPES,
    "errorReason": vocab.ERROR_REASONS,
}

# (kind, bare term, CBV 1.x URN, CBV 2.0 GS1 Web URI)
SPELLINGS = [
    (
        "bizStep",
        "shipping",
        "urn:epcglobal:cbv:bizstep:shipping",
        "https://ref.gs1.org/cbv/BizStep-shipping",
    ),
    (
        "disposition",
        "in_transit",
        "urn:epcglobal:cbv:disp:in_transit",
        "https://ref.gs1.org/cbv/Disp-in_transit",
    ),
    ("bizTransactionType", "po", "urn:epcglobal:cbv:btt:po", "https://ref.gs1.org/cbv/BTT-po"),
    (
        "sourceDestType",
        "owning_party",
        "urn:epcglobal:cbv:sdt:owning_party",
        "https://ref.gs1.org/cbv/SDT-owning_party",
    ),
    (
        "errorReason",
        "did_not_occur",
        "urn:epcglobal:cbv:er:did_not_occur",
        "https://ref.gs1.org/cbv/ER-did_not_occur",
    ),
]


@pytest.mark.parametrize(("kind", "bare", "urn", "web"), SPELLINGS)
def test_three_spellings_normalise_to_the_bare_term(
    kind: vocab.Kind, bare: str, urn: str, web: str
) -> None:
    for spelling in (bare, urn, web):
        assert vocab.check(kind, spelling) is None
        assert vocab.is_standard(kind, spelling)
        assert vocab.normalise(kind, spelling) == bare
        assert vocab.full_uri(kind, spelling) == web


@pytest.mark.parametrize(
    "value",
    [
        "https://example.com/bizstep/gluing",
        "http://ns.example.com/epcis/steps#gluing",
        "urn:example:bizstep:gluing",
        "https://[2001:db8::1]:8443/steps/gluing",
    ],
)
def test_extension_uris_are_accepted_and_kept(value: str) -> None:
    assert vocab.check("bizStep", value) is None
    assert not vocab.is_standard("bizStep", value)
    assert vocab.normalise("bizStep", value) == value
    assert vocab.full_uri("bizStep", value) == value


@pytest.mark.parametrize(
    ("kind", "value", "says"),
    [
        ("bizStep", "foo_bar", "not a CBV business step"),
        ("bizStep", "transforming", "not a CBV business step"),
        ("bizStep", "Shipping", "did you mean 'shipping'"),
        ("disposition", "in_transport", "not a CBV disposition"),
        ("sourceDestType", "place", "not a CBV source/destination type"),
        ("errorReason", "wrong", "not a CBV error reason"),
        ("bizStep", "", "not a CBV business step"),
        # In GS1's namespace but not a term: looks standard, means nothing.
        ("bizStep", "https://ref.gs1.org/cbv/BizStep-transforming", "CBV namespace"),
        ("bizStep", "urn:epcglobal:cbv:bizstep:transforming", "CBV namespace"),
        # A real term of another vocabulary.
        ("disposition", "https://ref.gs1.org/cbv/BizStep-shipping", "business step, not a"),
        # Malformed URIs.
        ("bizStep", "http://", "needs a host"),
        ("bizStep", "https:/example.com/x", "needs a host"),
        ("bizStep", "urn:x", "URN"),
        ("bizStep", "example:", "not a well-formed"),
        ("bizStep", "https://example.com/a b", "not a well-formed"),
        ("bizStep", "https://example.com/caf\u00e9", "not a well-formed"),
        ("bizStep", "https://example.com/%zz", "not a well-formed"),
    ],
)
def test_refused_values_say_why(kind: vocab.Kind, value: str, says: str) -> None:
    problem = vocab.check(kind, value)
    assert problem is not None
    assert says in problem
    with pytest.raises(ValueError, match=r"CBV|URI|URN"):
        vocab.normalise(kind, value)
    with pytest.raises(ValueError, match=r"CBV|URI|URN"):
        vocab.full_uri(kind, value)


def test_non_strings_are_refused_not_crashed_on() -> None:
    assert vocab.check("bizStep", ["shipping"]) == "a business step must be a string, not list"  # type: ignore[arg-type]


def test_unknown_vocabulary_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown CBV vocabulary"):
        vocab.check("colour", "red")  # type: ignore[arg-type]


@pytest.mark.skipif(not CONTEXTS.is_dir(), reason="../shared/conformance is not checked out")
@pytest.mark.parametrize(
    ("kind", "context_file", "prefix"),
    [
        ("bizStep", "cbv-context-bizstep.jsonld", "cbv:BizStep-"),
        ("disposition", "cbv-context-disposition.jsonld", "cbv:Disp-"),
        ("bizTransactionType", "cbv-context-biztransaction-type.jsonld", "cbv:BTT-"),
        ("sourceDestType", "cbv-context-sourcedest-type.jsonld", "cbv:SDT-"),
        ("errorReason", "cbv-context-error-reason.jsonld", "cbv:ER-"),
    ],
)
def test_term_lists_match_gs1_json_ld_contexts(
    kind: vocab.Kind, context_file: str, prefix: str
) -> None:
    context = json.loads((CONTEXTS / context_file).read_text(encoding="utf-8"))["@context"]
    published = {
        term: iri for term, iri in context.items() if not term.startswith("@") and term != "cbv"
    }
    assert all(iri == prefix + term for term, iri in published.items())
    assert set(published) == TERMS[kind]


def test_docstring_examples() -> None:
    results = doctest.testmod(vocab)
    assert results.attempted > 0
    assert results.failed == 0
