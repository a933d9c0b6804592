"""Where the tests find third-party conformance material.

Everything lives in ``tests/data/conformance`` (source, commit and licence of each set in its
``PROVENANCE.md``), so a clone of the repository alone runs every test.
"""

from __future__ import annotations

from pathlib import Path

CONFORMANCE = Path(__file__).resolve().parent / "data" / "conformance"
EPCIS_20 = CONFORMANCE / "gs1-epcis-2.0"
EPCIS_12 = CONFORMANCE / "epcis-1.2"
INVALID = CONFORMANCE / "epcis-2.0-invalid"
EVENT_HASH = CONFORMANCE / "event-hash"
