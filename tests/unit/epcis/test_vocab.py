"""CBV 2.0 vocabularies: spellings, extensions, refusals; and hand-written bad documents."""

from __future__ import annotations

import doctest
import json
from typing import Any

import pytest

from tests.conformance import EPCIS_20
from traceseal.epcis import vocab
from traceseal.epcis.errors import ValidationException
from traceseal.epcis.validation import validate_document

CONTEXTS = EPCIS_20 / "json-ld-context"

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


# -- hand-written bad documents: each refused, naming the right event and field --------------

EPCIS = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
GOOD_SGTIN = "https://id.gs1.org/01/09521141012345/21/2017"  # GTIN check digit 5 is right


def _event(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": "2026-07-22T06:45:00.000+02:00",
        "eventTimeZoneOffset": "+02:00",
        "action": "ADD",
        "epcList": [GOOD_SGTIN],
        "bizStep": "commissioning",
        "disposition": "active",
        "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"},
    }
    event.update(changes)
    return {k: v for k, v in event.items() if v is not None}


def _document(*events: dict[str, Any], **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "@context": [EPCIS, {"acme": "https://acme.example.com/epcis/"}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-07-22T10:30:00Z",
        "epcisBody": {"eventList": list(events) or [_event()]},
    }
    document.update(changes)
    return document


def test_a_well_formed_document_with_extensions_is_accepted() -> None:
    validate_document(
        _document(
            _event(
                **{
                    "acme:shift": {"acme:crew": ["a", {"@value": "b", "@language": "en"}]},
                    "https://example.com/ns#note": "a full IRI needs no prefix",
                    "ilmd": {"acme:lot": "L1", "cbvmda:bestBeforeDate": "2027-01-01"},
                    "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234", "acme:dock": 4},
                }
            ),
            _event(
                **{
                    "@context": {"own": "https://own.example.com/"},
                    "own:note": "declared in the event's own context",
                    "bizStep": "https://ref.gs1.org/cbv/BizStep-shipping",
                    "disposition": "https://example.com/disp/wet",
                    "recordTime": "2026-07-22T07:00:00Z",
                }
            ),
        )
    )


BAD_SGTIN = "https://id.gs1.org/01/09521141012346/21/2017"  # check digit should be 5

REFUSALS: list[tuple[str, dict[str, Any], int | None, str]] = [
    (
        "bad check digit in an SGTIN Digital Link",
        _document(_event(), _event(epcList=[GOOD_SGTIN, BAD_SGTIN])),
        1,
        "/epcList/1",
    ),
    (
        "bad check digit in a quantity's class",
        _document(
            _event(
                action="OBSERVE",
                quantityList=[{"epcClass": "https://id.gs1.org/01/09521141012346", "quantity": 5}],
            )
        ),
        0,
        "/quantityList/0/epcClass",
    ),
    (
        "bad check digit in the readPoint's GLN",
        _document(_event(readPoint={"id": "https://id.gs1.org/414/0614141073460"})),
        0,
        "/readPoint/id",
    ),
    (
        "bad check digit in an aggregation's SSCC",
        _document(
            _event(
                type="AggregationEvent",
                epcList=None,
                disposition=None,
                parentID="https://id.gs1.org/00/106141412345678900",
                childEPCs=[GOOD_SGTIN],
            )
        ),
        0,
        "/parentID",
    ),
    (
        "offset beyond 14 h",
        _document(_event(eventTimeZoneOffset="+15:00")),
        0,
        "/eventTimeZoneOffset",
    ),
    (
        "quantity as text",
        _document(
            _event(
                quantityList=[{"epcClass": "https://id.gs1.org/01/09521141012345", "quantity": "5"}]
            )
        ),
        0,
        "/quantityList/0/quantity",
    ),
    (
        "ILMD member without a prefix",
        _document(_event(ilmd={"lotNumber": "L1"})),
        0,
        "/ilmd/lotNumber",
    ),
    (
        "ILMD member with an undeclared prefix",
        _document(_event(ilmd={"zeta:lot": "L1"})),
        0,
        "/ilmd/zeta:lot",
    ),
    ("event member with an undeclared prefix", _document(_event(**{"zeta:x": 1})), 0, "/zeta:x"),
    (
        "prefix declared only in another event's context",
        _document(_event(**{"@context": {"zeta": "https://z.example/"}}), _event(**{"zeta:x": 1})),
        1,
        "/zeta:x",
    ),
    (
        # Plain names inside an extension are its value's structure (GS1's XML examples
        # nest unqualified elements); a prefix there must still be declared.
        "undeclared prefix nested in an extension",
        _document(_event(**{"acme:shift": {"acme:crew": [{"zeta:name": "x"}]}})),
        0,
        "/acme:shift/acme:crew/0/zeta:name",
    ),
    (
        "undeclared prefix under a full-IRI extension (pointer escaped)",
        _document(_event(**{"https://example.com/ns#note": {"zeta:colour": "red"}})),
        0,
        "/https:~1~1example.com~1ns#note/zeta:colour",
    ),
    (
        "readPoint member without a prefix",
        _document(_event(readPoint={"id": "urn:epc:id:sgln:0614141.07346.1234", "floor": 3})),
        0,
        "/readPoint/floor",
    ),
    ("leap second", _document(_event(eventTime="2026-12-31T23:59:60Z")), 0, "/eventTime"),
    ("lower-case z", _document(_event(recordTime="2026-07-22t06:45:00z")), 0, "/recordTime"),
    (
        "a business step squatting in GS1's namespace",
        _document(_event(bizStep="https://ref.gs1.org/cbv/BizStep-transforming")),
        0,
        "/bizStep",
    ),
    (
        "a business step used as a disposition",
        _document(_event(disposition="https://ref.gs1.org/cbv/BizStep-shipping")),
        0,
        "/disposition",
    ),
    (
        "persistent disposition not in the CBV",
        _document(_event(persistentDisposition={"unset": ["https://ref.gs1.org/cbv/Disp-melted"]})),
        0,
        "/persistentDisposition/unset/0",
    ),
    (
        "source type not in the CBV",
        _document(
            _event(
                sourceList=[
                    {
                        "type": "https://ref.gs1.org/cbv/SDT-owner",
                        "source": "urn:epc:id:pgln:0614141.00001",
                    }
                ]
            )
        ),
        0,
        "/sourceList/0/type",
    ),
    (
        "error reason not in the CBV",
        _document(
            _event(
                errorDeclaration={
                    "declarationTime": "2026-07-23T00:00:00Z",
                    "reason": "https://ref.gs1.org/cbv/ER-typo",
                }
            )
        ),
        0,
        "/errorDeclaration/reason",
    ),
    ("malformed extension URI", _document(_event(bizStep="http://")), 0, "/bizStep"),
    ("not an event type (schema)", _document(_event(type="ShipmentEvent")), 0, "/type"),
    (
        "an extension event type",
        _document(_event(type="https://example.com/ShipmentEvent", action=None)),
        0,
        "/type",
    ),
    ("missing action", _document(_event(), _event(action=None)), 1, "/action"),
    (
        "no EPCIS context",
        _document(**{"@context": [{"acme": "https://acme.example.com/"}]}),
        None,
        "/@context",
    ),
    ("not a capture document", _document(type="EPCISQueryDocument"), None, "/type"),
    ("document member with an undeclared prefix", _document(**{"zeta:x": 1}), None, "/zeta:x"),
]


@pytest.mark.parametrize(
    ("document", "event_index", "field"),
    [pytest.param(d, i, f, id=name) for name, d, i, f in REFUSALS],
)
def test_hand_written_bad_documents_are_refused_naming_the_field(
    document: dict[str, Any], event_index: int | None, field: str
) -> None:
    with pytest.raises(ValidationException) as refused:
        validate_document(document)
    expected = field if event_index is None else f"/epcisBody/eventList/{event_index}{field}"
    assert (refused.value.event_index, refused.value.field) == (event_index, expected)
