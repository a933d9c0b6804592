"""``traceseal serve``'s default number of worker processes."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from traceseal.cli.system import default_workers
from traceseal.config import load_settings

PG = "postgresql+psycopg://traceseal@db.example.org:5432/traceseal"


def test_one_per_core_only_in_production_on_postgresql(tmp_path: Path) -> None:
    key = secrets.token_hex(32)
    public = "https://verify.example.org"

    def workers(**overrides: str) -> int:
        return default_workers(load_settings({}, data_dir=tmp_path, master_key=key, **overrides))

    cores = len(os.sched_getaffinity(0))
    assert workers(database_url=PG, public_url=public) == cores
    # Not production: the demo's loopback PUBLIC_URL.
    assert workers(database_url=PG, public_url="http://127.0.0.1:8000") == 1
    # SQLite stays at one process however public it is.
    assert workers(public_url=public) == 1
