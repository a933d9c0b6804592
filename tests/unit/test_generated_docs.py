"""The reference blocks of docs/ are what the code generates today (``make docs``)."""

from __future__ import annotations

from traceseal.cli.docs import DOCS, api_index, render
from traceseal.cli.main import app


def test_generated_docs_are_current() -> None:
    stale = sorted(str(path.relative_to(DOCS.parent)) for path in render(app))
    assert stale == [], f"run `make docs`: {stale} no longer match the code"


def test_the_index_lists_each_operation_and_who_may_call_it() -> None:
    document = {
        "components": {"securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}}},
        "security": [{"apiKey": []}],
        "paths": {
            "/api/v1/verify": {
                "post": {"tags": ["verification"], "security": [], "description": "Verify."}
            },
            "/api/v1/orgs": {"get": {"tags": ["organisations"], "summary": "List Orgs"}},
        },
    }
    index = api_index(document)
    assert "| `POST /api/v1/verify` | Verify | anyone |" in index
    assert "| `GET /api/v1/orgs` | List Orgs | API key |" in index
