"""The capture benchmark's documents: valid against GS1's schemas, reproducible, one EPC each."""

from __future__ import annotations

import json
import re
from functools import cache
from importlib.resources import files

import jsonschema_rs
import pytest
from bench.epcis_docs import FORMATS, events, generate
from lxml import etree

DATA = files("traceseal.epcis") / "data"
SCHEMAS = {
    "xml": "xsd-2.0/EPCglobal-epcis-2_0.xsd",
    "xml12": "xsd-1.2/EPCglobal-epcis-1_2.xsd",
}
SGTIN = re.compile(r"urn:epc:id:sgtin:(\d+)\.(\d+)\.\d+")
SSCC = re.compile(r"urn:epc:id:sscc:(\d+)\.(\d+)")


@cache
def xml_schema(fmt: str) -> etree.XMLSchema:
    # Parsed from the file so that the XSD's relative imports resolve beside it.
    return etree.XMLSchema(etree.parse(str(DATA / SCHEMAS[fmt])))


def schema_errors(fmt: str, document: bytes) -> list[str]:
    if fmt == "jsonld":
        schema = json.loads((DATA / "EPCIS-JSON-Schema.json").read_text())
        validator = jsonschema_rs.validator_for(schema)
        return [error.message for error in validator.iter_errors(json.loads(document))]
    schema = xml_schema(fmt)
    if schema.validate(etree.fromstring(document)):
        return []
    return [str(error) for error in schema.error_log]


def event_types(fmt: str, document: bytes) -> list[str]:
    if fmt == "jsonld":
        return [event["type"] for event in json.loads(document)["epcisBody"]["eventList"]]
    return [element.tag for element in etree.fromstring(document).find("EPCISBody/EventList")]


@pytest.mark.parametrize("fmt", FORMATS)
def test_documents_are_valid_against_their_gs1_schema(fmt: str) -> None:
    document = generate(21, fmt=fmt, seed=3)

    assert schema_errors(fmt, document) == []
    assert event_types(fmt, document) == ["ObjectEvent", "AggregationEvent"] * 10 + ["ObjectEvent"]


def test_a_schema_error_is_caught() -> None:
    # The check above could pass by validating nothing; an event with no action must fail it.
    for fmt in SCHEMAS:
        broken = generate(2, fmt=fmt).replace(b"<action>ADD</action>", b"", 1)
        assert schema_errors(fmt, broken) != []
    broken_json = generate(2, fmt="jsonld").replace(b'"action":"ADD",', b"", 1)
    assert schema_errors("jsonld", broken_json) != []


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_same_seed_gives_the_same_bytes(fmt: str) -> None:
    assert generate(10, fmt=fmt, seed=5) == generate(10, fmt=fmt, seed=5)
    assert generate(10, fmt=fmt, seed=5) != generate(10, fmt=fmt, seed=6)


def test_cases_are_commissioned_then_packed_with_unique_epcs() -> None:
    document = list(events(40, seed=2))
    commissioned = [epc for event in document if event.parent is None for epc in event.epcs]

    assert len(commissioned) == len(set(commissioned)) == 20 * 11
    for commission, pack in zip(document[::2], document[1::2], strict=True):
        assert pack.parent == commission.epcs[-1]
        assert pack.epcs == commission.epcs[:-1]
        assert len(pack.epcs) == 10
        assert commission.time < pack.time
    # GS1 key lengths: company prefix + item reference is 13 digits, + serial reference 17.
    for epc in commissioned:
        if match := SGTIN.fullmatch(epc):
            assert len(match[1] + match[2]) == 13
        else:
            match = SSCC.fullmatch(epc)
            assert match is not None
            assert len(match[1] + match[2]) == 17


def test_different_seeds_share_no_epc() -> None:
    def epcs(seed: int) -> set[str]:
        return {epc for event in events(200, seed=seed) for epc in event.epcs}

    assert epcs(1).isdisjoint(epcs(2))
    assert epcs(1).isdisjoint(epcs(10))


def test_arguments_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="fmt"):
        generate(2, fmt="csv")
    with pytest.raises(ValueError, match="seed"):
        generate(2, fmt="xml", seed=10_000)
    with pytest.raises(ValueError, match="n_events"):
        generate(-1, fmt="xml")
