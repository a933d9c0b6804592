"""The simulated month: detection finds every planted diverted and cloned code, and raises
no alert about any other code."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import Platform
from tests.functional.test_cli import Cli
from traceseal.db import unit_of_work
from traceseal.simulation import simulate
from traceseal.verify.models import Scan


@pytest.mark.slow
def test_a_simulated_month_finds_every_planted_code_and_nothing_else(platform: Platform) -> None:
    result = simulate(
        platform.session_factory,
        platform.app.state.keyring,
        platform.settings,
        codes_count=400,
        diverted=8,
        cloned=8,
        seed=11,
    )
    report = result.report()

    # 400 codes on 4 pallets (one per distributor: three by EPCIS, one by range), 8 + 8
    # planted; every other code scanned by its buyers as people do.
    assert report["codes"] == 400
    assert report["events"] == 4 * (1 + 5 + 1) + 3 * 2  # commission, cases, pallet; ship, receive
    assert report["planted_diverted"] == 8
    assert report["planted_cloned"] == 8
    assert report["diverted_found"] == 8  # every planted diversion
    assert report["cloned_found"] == 8  # every planted clone
    assert report["false_alerts"] == 0  # and not one alert about a normal code
    assert sorted(result.alerts["diversion"]) == sorted(result.diverted)
    assert sorted(result.alerts["clone"]) == sorted(result.cloned)
    assert set(result.alerts) == {"diversion", "clone"}
    with unit_of_work(platform.session_factory) as session:
        scans = session.scalar(select(func.count()).select_from(Scan))
    assert scans == report["scans"] > 300


def test_init_demo_loads_a_simulated_month_and_simulate_refuses_bad_options(
    tmp_path: Path, database_url: str
) -> None:
    cli = Cli(tmp_path / "var", database_url)
    init = cli.json("init", "--demo")
    simulation = init["simulation"]
    assert simulation["codes"] == 2000
    assert simulation["diverted_found"] == simulation["planted_diverted"] == 10
    assert simulation["cloned_found"] == simulation["planted_cloned"] == 10
    assert simulation["false_alerts"] == 0
    # The demo enterprise sees the month's alerts over its API key.
    assert init["demo"]["enterprise_id"] == simulation["enterprise_id"]
    refused = cli.run("simulate", "--codes", "10", ok=False)
    assert refused.returncode == 2
    refused = cli.run("simulate", "--codes", "200", "--diverted", "40", "--cloned", "40", ok=False)
    assert refused.returncode == 2
    assert "at most a quarter" in refused.stderr
