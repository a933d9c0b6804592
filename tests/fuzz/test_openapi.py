"""Property-based fuzzing of every operation in our OpenAPI document, against a served instance.

schemathesis (its command line, as a person runs it) reads ``/openapi.json`` from a real
uvicorn server over a migrated database with an organisation of each role and some data,
generates requests for every operation (schema examples, boundary values, valid and invalid
input), sends each with a real API key (``hooks.py``), and holds every answer to the
document: no 5xx, documented status codes, media types and headers, and bodies that match
the schemas. ``make fuzz`` runs the same with many more examples (TRACESEAL_FUZZ_EXAMPLES).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import add_batch, add_product, serve
from traceseal.config import Settings
from traceseal.orgs.models import Role

EXAMPLES = int(os.environ.get("TRACESEAL_FUZZ_EXAMPLES", "8"))
GTIN = "09506000134352"
ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")

#: What every answer is held to. Left out: how strictly input is validated (FastAPI takes 0
#: for false, which JSON Schema does not) and stateful checks of resource lifecycles.
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the same handlers run on PostgreSQL in tests/functional."""
    return f"sqlite:///{tmp_path / 'traceseal.db'}"


def test_every_operation_keeps_its_contract(migrated: Settings, tmp_path: Path) -> None:
    # No client limits: the fuzzer is one client sending thousands of requests.
    with serve(migrated.replace(verify_failure_limit=0, verify_rate_limit=0)) as platform:
        tenants = {
            "brand": platform.org("Brand", Role.ENTERPRISE),
            "lab": platform.org("Lab", Role.LAB),
            "regulator": platform.org("Regulator", Role.REGULATOR),
            "distributor": platform.org("Distributor", Role.DISTRIBUTOR),
        }
        keys = {"operator": platform.operator.key} | {n: t.key for n, t in tenants.items()}
        add_product(platform, tenants["brand"], GTIN)
        add_batch(platform, tenants["brand"], GTIN, "L1")
        run = platform.client.post(
            "/api/v1/code-runs", json={"product": GTIN, "count": 20}, headers=tenants["brand"].auth
        )
        assert run.status_code == 201, run.text
        url = platform.settings.public_url
        result = subprocess.run(
            [
                str(SCHEMATHESIS),
                "run",
                f"{url}/openapi.json",
                f"--checks={CHECKS}",
                f"--max-examples={EXAMPLES}",
                "--phases=examples,coverage,fuzzing",
                "--workers=1",
                "--seed=20261204",
                "--suppress-health-check=all",
                "--no-color",
                f"--report-junit-path={tmp_path / 'fuzz.xml'}",
                "--report=junit",
            ],
            env={
                **os.environ,
                "SCHEMATHESIS_HOOKS": "tests.fuzz.hooks",
                "TRACESEAL_FUZZ_KEYS": json.dumps(keys),
                "PYTHONPATH": str(ROOT),
            },
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
    output = result.stdout + result.stderr
    tested = re.search(r"Tested: (\d+)", output)
    generated = re.search(r"(\d+) generated", output)
    assert tested, output[-3000:]
    assert generated, output[-3000:]
    print(f"fuzzed {tested.group(1)} operations with {generated.group(1)} requests")
    assert int(tested.group(1)) >= 90, output[-3000:]  # every operation was reached
    assert result.returncode == 0, output[-6000:]
