"""The conformance sets through HTTP on both engines: GS1's examples are captured, the invalid
set is refused and leaves nothing behind (tests/spec checks the same files without a database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Platform, Tenant
from tests.functional.test_epcis_capture import CONFORMANCE, capture, counts
from tests.spec.test_epcis_xml import CAPTURED, LEGACY, LENIENT
from traceseal.epcis.capture import read_document

GS1 = CONFORMANCE / "gs1-epcis-2.0"
VALID = sorted(
    [*(GS1 / "JSON").rglob("*.json*"), *(GS1 / "XML").rglob("*.xml")],
    key=lambda p: str(p),
)
LEGACY_DIR = CONFORMANCE / "epcis-1.2"
INVALID = sorted((CONFORMANCE / "epcis-2.0-invalid").rglob("*.*[ln]"))


def media(path: Path) -> str:
    return "application/xml" if path.suffix == ".xml" else "application/ld+json"


def _event_ids(path: Path) -> set[str]:
    document, _ = read_document(path.read_bytes(), media(path))
    events = document.get("epcisBody", {}).get("eventList", [])
    return {event["eventID"] for event in events if "eventID" in event}


def _groups(paths: list[Path]) -> list[list[Path]]:
    """Files in groups that share no eventID.

    GS1's examples reuse eventIDs across files for different events; an eventID names one
    event in a repository, so files that share one go into different repositories.
    """
    groups: list[tuple[list[Path], set[str]]] = []
    for path in paths:
        ids = _event_ids(path)
        for members, taken in groups:
            if not ids & taken:
                members.append(path)
                taken.update(ids)
                break
        else:
            groups.append(([path], set(ids)))
    return [members for members, _ in groups]


GROUPS = _groups(VALID)


def test_the_examples_are_all_there() -> None:
    assert len(VALID) == sum(len(group) for group in GROUPS) > 60


#: GS1 examples the standard itself refuses, with the field named. GS1's XML example predates
#: the decision that persistentDisposition belongs to Object and TransformationEvents only
#: (EPCIS 2.0 §7.3.6.2.2, gs1/EPCIS#440); its JSON twin was corrected, and both bindings now
#: give the standard's answer (epcis/rules.py).
GS1_REFUSED = {
    "XML/Example-PersistentDisposition.xml": "/epcisBody/eventList/0/persistentDisposition",
}


@pytest.mark.parametrize("group", range(len(GROUPS)))
def test_every_gs1_example_is_captured(platform: Platform, acme: Tenant, group: int) -> None:
    refused = {}
    for path in GROUPS[group]:
        response = capture(platform, acme, path.read_bytes(), media(path))
        if response.status_code != 202:
            refused[path.relative_to(GS1).as_posix()] = response.json().get("field")
    names = {path.relative_to(GS1).as_posix() for path in GROUPS[group]}
    assert refused == {name: field for name, field in GS1_REFUSED.items() if name in names}


def test_every_invalid_document_is_refused_whole(platform: Platform, acme: Tenant) -> None:
    assert len(INVALID) == 22
    before = counts(platform)
    for path in INVALID:
        response = capture(platform, acme, path.read_bytes(), media(path))
        assert response.status_code == 400, path.name
        problem = response.json()
        assert problem["type"] == "epcisException:ValidationException", path.name
        assert problem["detail"], path.name
    assert counts(platform) == before


@pytest.mark.parametrize("name", sorted(LEGACY))
def test_each_epcis_1_2_document_is_captured_or_refused_as_its_decision_says(
    platform: Platform, acme: Tenant, name: str
) -> None:
    decision = LEGACY[name]
    before = counts(platform)
    response = capture(platform, acme, (LEGACY_DIR / name).read_bytes(), "application/xml")
    if decision.outcome in (CAPTURED, LENIENT):
        assert response.status_code == 202, response.text
        assert response.json()["eventCount"] > 0
    else:
        assert response.status_code == 400, response.text
        assert response.json()["type"] == "epcisException:ValidationException"
        assert counts(platform) == before
