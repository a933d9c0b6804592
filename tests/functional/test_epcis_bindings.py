"""One rule set for both bindings: every conformance XML document, and its JSON-LD twin, get
the same answer through HTTP on both engines (docs/epcis.md, "Validation").

GS1's XML and JSON-LD examples are not always twins of each other, so each XML document is
made its own twin: read into our internal JSON-LD form (what capture reads it into) and
serialised as JSON-LD. Both are captured by organisations of their own (so neither sees the
other's events) and the answers compared: accepted, or refused with the same status,
exception type, event and field.

The other direction is the same: every conformance JSON-LD document (GS1's 2.0 examples, the
invalid JSON set and the event-hash JSON-LD inputs) is read into the internal form and
written as EPCIS 2.0 XML (``traceseal.epcis.xmlwrite``), and both are captured and compared.

A document its own reader refuses (the XML's XSD or shape, JSON that is no JSON object) has
no internal form to compare: that refusal is the binding's own syntax, and it must still be a
400 ValidationException.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conformance import CONFORMANCE
from tests.conftest import Platform
from tests.functional.test_epcis_capture import capture
from traceseal.epcis import xml as epcis_xml
from traceseal.epcis.capture import read_document
from traceseal.epcis.errors import EPCISException, ValidationException
from traceseal.epcis.xmlwrite import write

XML_DOCUMENTS = sorted(
    path
    for folder in ("gs1-epcis-2.0/XML", "epcis-1.2", "epcis-2.0-invalid/xml", "event-hash")
    for path in (CONFORMANCE / folder).rglob("*.xml")
    if "XSD" not in path.parts
)

JSON_DOCUMENTS = sorted(
    path
    for folder in ("gs1-epcis-2.0/JSON", "epcis-2.0-invalid/json", "event-hash")
    for path in (CONFORMANCE / folder).rglob("*.json*")
)


def _answer(response: Any) -> tuple[Any, ...]:
    if response.status_code == 202:
        return (202,)
    problem = response.json()
    return (response.status_code, problem["type"], problem.get("eventIndex"), problem.get("field"))


def _twin(path: Path) -> bytes | None:
    try:
        document, _ = read_document(path.read_bytes(), "application/xml")
    except EPCISException:
        return None
    return json.dumps(document, ensure_ascii=False).encode()


def _xml_twin(path: Path) -> bytes | None:
    try:
        document, _ = read_document(path.read_bytes(), "application/ld+json")
        return write(document)
    except EPCISException:
        return None


def _xsd_refusal(xml: bytes) -> tuple[Any, ...] | None:
    """The answer the 2.0 XSD alone gives an XML twin; None when it accepts the twin."""
    try:
        epcis_xml.validate(epcis_xml.parse(xml))
    except ValidationException as exc:
        return (400, "epcisException:ValidationException", exc.event_index, exc.field)
    return None


def test_the_documents_are_all_there() -> None:
    # GS1's 2.0 examples, the 1.2 set, the invalid XML set and the event-hash XML inputs.
    assert len(XML_DOCUMENTS) > 50
    # GS1's 2.0 JSON-LD examples, the invalid JSON set and the event-hash JSON-LD inputs.
    assert len(JSON_DOCUMENTS) > 55


@pytest.mark.parametrize(
    "path", XML_DOCUMENTS, ids=[p.relative_to(CONFORMANCE).as_posix() for p in XML_DOCUMENTS]
)
def test_an_xml_document_and_its_json_ld_twin_get_the_same_answer(
    platform: Platform, path: Path
) -> None:
    name = path.relative_to(CONFORMANCE).as_posix()
    as_xml = _answer(
        capture(platform, platform.org(f"xml {name}"), path.read_bytes(), "application/xml")
    )
    twin = _twin(path)
    if twin is None:
        assert as_xml[:2] == (400, "epcisException:ValidationException")
        return
    as_json = _answer(capture(platform, platform.org(f"json {name}"), twin))
    assert as_json == as_xml


@pytest.mark.parametrize(
    "path", JSON_DOCUMENTS, ids=[p.relative_to(CONFORMANCE).as_posix() for p in JSON_DOCUMENTS]
)
def test_a_json_ld_document_and_its_xml_twin_get_the_same_answer(
    platform: Platform, path: Path
) -> None:
    name = path.relative_to(CONFORMANCE).as_posix()
    as_json = _answer(capture(platform, platform.org(f"json {name}"), path.read_bytes()))
    twin = _xml_twin(path)
    if twin is None:
        assert as_json[:2] == (400, "epcisException:ValidationException")
        return
    as_xml = _answer(capture(platform, platform.org(f"xml {name}"), twin, "application/xml"))
    xsd = _xsd_refusal(twin)
    if xsd is not None and as_xml != as_json:
        # The XSD holds the whole XML document before any rule looks at an event, so it may
        # name another event or field than the JSON side's first refusal (an XML document the
        # XSD refuses has no JSON-LD twin above, for the same reason). Both must refuse, the
        # XML twin exactly as the XSD does. Three documents of the invalid set take this path.
        assert as_json[:2] == (400, "epcisException:ValidationException")
        assert as_xml == xsd
        return
    assert as_xml == as_json


def test_persistent_disposition_gets_the_standards_answer_in_both_bindings(
    platform: Platform,
) -> None:
    # EPCIS 2.0 §7.3.6.2.2: only Object and TransformationEvents carry it (epcis/rules.py).
    xml = (CONFORMANCE / "gs1-epcis-2.0/XML/Example-PersistentDisposition.xml").read_bytes()
    twin = _twin(CONFORMANCE / "gs1-epcis-2.0/XML/Example-PersistentDisposition.xml")
    assert twin is not None
    for body, media in ((xml, "application/xml"), (twin, "application/ld+json")):
        response = capture(platform, platform.org(media), body, media)
        assert response.status_code == 400
        assert response.json()["field"] == "/epcisBody/eventList/0/persistentDisposition"
        assert "§7.3.6.2.2" in response.json()["detail"]
