"""Where GS1's JSON Schema and XSD disagree: the one answer both bindings give (epcis/rules.py),
and the errorDeclaration query parameters in the forms named queries send them."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest

from traceseal.epcis import rules
from traceseal.epcis.errors import QueryParameterException, ValidationException
from traceseal.epcis.query import filters
from traceseal.epcis.validation import validate_events
from traceseal.epcis.vocab import CONTEXT_URL


def _event(kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "eventTime": "2026-11-01T08:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        **fields,
    }


PERSISTENT = {"persistentDisposition": {"set": ["completeness_verified"]}}


@pytest.mark.parametrize(
    ("kind", "fields", "allowed"),
    [
        ("ObjectEvent", {"action": "OBSERVE", "epcList": []}, True),
        (
            "TransformationEvent",
            {
                "inputEPCList": ["urn:epc:id:sgtin:0614141.107346.1"],
                "outputEPCList": ["urn:epc:id:sgtin:0614141.107346.2"],
            },
            True,
        ),
        (
            "AggregationEvent",
            {"action": "DELETE", "parentID": "urn:epc:id:sscc:0614141.1234567890"},
            False,
        ),
        (
            "AssociationEvent",
            {"action": "DELETE", "parentID": "urn:epc:id:grai:4012345.55555.1"},
            False,
        ),
        ("TransactionEvent", {"action": "DELETE"}, False),
    ],
)
def test_persistent_disposition_only_where_the_standard_allows_it(
    kind: str, fields: dict[str, Any], allowed: bool
) -> None:
    event = _event(kind, **fields, **PERSISTENT)
    assert (rules.event_problem(event) is None) is allowed
    for schema in (True, False):  # the JSON-LD path and, before the change, the XML one
        if allowed:
            validate_events([event], context=[CONTEXT_URL], schema=schema)
        else:
            with pytest.raises(ValidationException) as refused:
                validate_events([event], context=[CONTEXT_URL], schema=schema)
            assert refused.value.field == "/epcisBody/eventList/0/persistentDisposition"
            assert "§7.3.6.2.2" in refused.value.detail


@pytest.mark.parametrize(
    ("report", "allowed"),
    [
        ({"type": "Temperature", "value": 26.0, "uom": "CEL"}, True),
        ({"exception": "ALARM_CONDITION", "booleanValue": True}, True),
        ({"value": 26.0, "uom": "CEL"}, False),
    ],
)
def test_a_sensor_report_needs_a_type_or_an_exception(
    report: dict[str, Any], allowed: bool
) -> None:
    event = _event(
        "ObjectEvent",
        action="OBSERVE",
        epcList=["urn:epc:id:sgtin:0614141.107346.1"],
        sensorElementList=[{"sensorReport": [report]}],
    )
    if allowed:
        validate_events([event], context=[CONTEXT_URL])
        return
    with pytest.raises(ValidationException) as refused:
        validate_events([event], context=[CONTEXT_URL])
    assert refused.value.field == "/epcisBody/eventList/0/sensorElementList/0/sensorReport/0/type"


def test_the_adjusted_schema_differs_from_gs1s_only_in_the_sensor_reports_type() -> None:
    text = resources.files("traceseal.epcis").joinpath("data/EPCIS-JSON-Schema.json")
    published = json.loads(text.read_text(encoding="utf-8"))
    adjusted = rules.adjusted_schema(published)
    assert "type" in published["definitions"]["sensorReport"]["required"]
    assert "required" not in adjusted["definitions"]["sensorReport"]
    adjusted["definitions"]["sensorReport"]["required"] = published["definitions"]["sensorReport"][
        "required"
    ]
    assert adjusted == published


@pytest.mark.parametrize(
    "params",
    [
        {"EXISTS_errorDeclaration": ""},
        {"EXISTS_errorDeclaration": True},
        {"EQ_errorReason": "incorrect_data|did_not_occur"},
        {"EQ_errorReason": ["urn:epcglobal:cbv:er:incorrect_data"]},
        {"EQ_correctiveEventID": ["urn:uuid:1", "urn:uuid:2"]},
        {"GE_errorDeclarationTime": "2026-11-01T00:00:00+08:00"},
        {"LT_errorDeclarationTime": "2026-11-01T00:00:00Z"},
    ],
)
def test_error_declaration_parameters_in_either_form_are_one_term(params: dict[str, Any]) -> None:
    assert len(filters(params)) == 1


@pytest.mark.parametrize(
    "params",
    [
        {"EXISTS_errorDeclaration": "yes"},
        {"EQ_errorReason": "forgot"},
        {"EQ_errorReason": ""},
        {"GE_errorDeclarationTime": "2026-11-01"},
        {"EQ_correctiveEventID": []},
    ],
)
def test_bad_error_declaration_parameters_are_refused_by_name(params: dict[str, Any]) -> None:
    with pytest.raises(QueryParameterException) as refused:
        filters(params)
    assert refused.value.field == next(iter(params))
