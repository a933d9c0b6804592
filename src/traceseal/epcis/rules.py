"""Where GS1's two schemas disagree, the one answer both bindings give (EPCIS 2.0).

A JSON-LD document is held to GS1's JSON Schema and an XML one to GS1's XSD, then both, read
into the same JSON-LD form, go through the same checks (validation.py), the JSON Schema
included: one rule set, so that a document gets the same answer in either binding
(tests/functional/test_epcis_bindings.py). Where the two schemas say different things, the
standard decides, and this module holds the decision:

- ``persistentDisposition`` is allowed in ObjectEvent and TransformationEvent only. The XSD
  accepts it in every event type and the JSON Schema only in those two; the standard's
  table at the end of §7.3.6.2.2 marks it "n/a" for AggregationEvent, AssociationEvent and
  TransactionEvent, as do its UML class diagram, ontology and SHACL shapes (gs1/EPCIS
  issues #395 and #440, pull request #447): which objects a set or unset would apply to in
  those events is ambiguous. So it is refused in both bindings, before either schema, with
  one message.
- A sensor report without a ``type`` is allowed when it reports an ``exception`` (an alarm or
  error condition, §7.3.7 and CBV §7.7): the XSD and GS1's own XML example (SensorDataExamples,
  event 8) allow it, the JSON Schema requires ``type`` in every report. A report with neither
  says nothing that can be read, and is refused in both.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final

#: Event types that may carry persistentDisposition (EPCIS 2.0 §7.3.6.2.2).
PERSISTENT_DISPOSITION_TYPES: Final = frozenset({"ObjectEvent", "TransformationEvent"})


def adjusted_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """GS1's JSON Schema with a sensor report's ``type`` made optional (checked instead by
    :func:`event_problem`, which also accepts an ``exception``)."""
    schema = copy.deepcopy(schema)
    report = schema["definitions"]["sensorReport"]
    report["required"] = [name for name in report.get("required", []) if name != "type"]
    if not report["required"]:
        del report["required"]
    return schema


def event_problem(event: Mapping[str, Any]) -> tuple[str, str] | None:
    """The first of these rules ``event`` breaks, as (JSON pointer in the event, why).

    Runs before the schema, so ``event`` may have any shape; what is not an object is left
    to the schema.
    """
    if not isinstance(event, Mapping):
        return None
    kind = event.get("type")
    if "persistentDisposition" in event and kind not in PERSISTENT_DISPOSITION_TYPES:
        return (
            "/persistentDisposition",
            f"a {kind} may not carry persistentDisposition; only ObjectEvent and "
            "TransformationEvent may (EPCIS 2.0 §7.3.6.2.2)",
        )
    elements = event.get("sensorElementList")
    for i, element in enumerate(elements if isinstance(elements, list) else ()):
        reports = element.get("sensorReport") if isinstance(element, Mapping) else None
        for j, report in enumerate(reports if isinstance(reports, list) else ()):
            if isinstance(report, Mapping) and "type" not in report and "exception" not in report:
                return (
                    f"/sensorElementList/{i}/sensorReport/{j}/type",
                    "a sensor report needs a type (what was measured) or an exception",
                )
    return None
