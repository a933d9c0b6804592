"""EPCIS 2.0 JSON-LD capture validation against published documents.

Accepted: every EPCISDocument among GS1's JSON/JSON-LD examples (gs1/EPCIS, GS1 reference
material). Rejected: every document of openepcis-test-resources' invalid set (Apache-2.0), each
for the reason the file is named after, which the table below pins as the event and field the
error must name. Both are read from ``tests/data/conformance`` (see its PROVENANCE.md); the
not-capture examples (query documents, capture-job answers, master data) are left out on purpose.
"""

from __future__ import annotations

import doctest
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conformance import CONFORMANCE
from traceseal.epcis import validation
from traceseal.epcis.errors import ValidationException
from traceseal.epcis.validation import validate_document, validate_events

EXAMPLES = CONFORMANCE / "gs1-epcis-2.0" / "JSON"
INVALID = CONFORMANCE / "epcis-2.0-invalid" / "json"


# file -> (event_index, field) the refusal must name. The first offence in list order is
# reported, so a file with several bad events names its first one.
EXPECTED_REFUSALS: dict[str, tuple[int | None, str]] = {
    # No "action" in event 0 (event 1 also lacks action and eventTimeZoneOffset).
    "Combination_of_events_with_missing_mandatory_fields.json": (
        0,
        "/epcisBody/eventList/0/action",
    ),
    # Five bad events; the first is bizStep "transforming", not a CBV business step.
    "Combination_of_multiple_invalid_fields.json": (0, "/epcisBody/eventList/0/bizStep"),
    "Combination_of_non_standard_bizStep_and_disposition.json": (
        0,
        "/epcisBody/eventList/0/bizStep",
    ),
    "EPCISDocument_without_context.json": (None, "/@context"),
    "ObjectEvent_with_ilmd_field_without_namespace.json": (
        0,
        "/epcisBody/eventList/0/ilmd/materialType",
    ),
    "ObjectEvent_with_invalid_action.json": (0, "/epcisBody/eventList/0/action"),
    # Certification details given as objects; certificationInfo takes URIs.
    "ObjectEvent_with_invalid_certificationInfo.json": (
        0,
        "/epcisBody/eventList/0/certificationInfo",
    ),
    "ObjectEvent_with_invalid_eventTime_format.json": (0, "/epcisBody/eventList/0/eventTime"),
    "ObjectEvent_with_non_standard_bizStep.json": (0, "/epcisBody/eventList/0/bizStep"),
    "ObjectEvent_with_non_standard_bizStep_in_second_event.json": (
        1,
        "/epcisBody/eventList/1/bizStep",
    ),
    "ObjectEvent_with_non_standard_disposition.json": (0, "/epcisBody/eventList/0/disposition"),
    "ObjectEvent_with_quantity_as_text.json": (
        0,
        "/epcisBody/eventList/0/quantityList/0/quantity",
    ),
    "ObjectEvent_with_unknown_field_in_quantityList.json": (
        0,
        "/epcisBody/eventList/0/quantityList/0/weight",
    ),
    # Both missing; eventTime is reported, the schema's common event part being checked first.
    "ObjectEvent_without_action_and_eventTime.json": (0, "/epcisBody/eventList/0/eventTime"),
    # Neither epcList nor quantityList (nor sensor data with a readPoint).
    "ObjectEvent_without_identifier_list.json": (0, "/epcisBody/eventList/0/epcList"),
}


def _load(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def _examples() -> list[Path]:
    if not EXAMPLES.is_dir():
        return []
    return sorted(p for p in EXAMPLES.rglob("*") if p.suffix in {".json", ".jsonld"})


@pytest.mark.parametrize("path", _examples(), ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_gs1_examples_are_accepted(path: Path) -> None:
    document = _load(path)
    assert document["type"] == "EPCISDocument"  # the not-capture ones live elsewhere
    validate_document(document)


def test_all_gs1_examples_are_here() -> None:
    assert len(_examples()) >= 46


def test_every_invalid_file_has_an_expected_refusal() -> None:
    assert sorted(p.name for p in INVALID.glob("*.json")) == sorted(EXPECTED_REFUSALS)


@pytest.mark.parametrize("name", sorted(EXPECTED_REFUSALS))
def test_invalid_documents_are_refused_naming_the_offender(name: str) -> None:
    event_index, field = EXPECTED_REFUSALS[name]
    with pytest.raises(ValidationException) as refused:
        validate_document(_load(INVALID / name))
    error = refused.value
    assert (error.event_index, error.field) == (event_index, field)
    assert error.epcis_type == "epcisException:ValidationException"
    # The detail names the event (or the document) and the member, for a person.
    where = "Document" if event_index is None else f"Event {event_index} (ObjectEvent)"
    member = field.split("/")[-1] if event_index is None else field.split("/", 4)[4]
    assert error.detail.startswith(f"{where}, {member}: ")


def test_split_events_get_the_same_verdict_and_positions() -> None:
    document = _load(INVALID / "ObjectEvent_with_non_standard_bizStep_in_second_event.json")
    events = document["epcisBody"]["eventList"]
    validate_events(events[:1], context=document["@context"])
    with pytest.raises(ValidationException) as refused:
        validate_events(events[1:], context=document["@context"], start_index=1)
    assert (refused.value.event_index, refused.value.field) == (1, "/epcisBody/eventList/1/bizStep")


def test_docstring_examples() -> None:
    results = doctest.testmod(validation)
    assert results.attempted > 0
    assert results.failed == 0
