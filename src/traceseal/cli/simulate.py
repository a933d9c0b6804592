"""simulate: a month of production, shipping and scans for a demo enterprise."""

from __future__ import annotations

from datetime import date, datetime

import typer
from rich.progress import TaskID

from traceseal.cli.common import JsonOption, emit, fail, keyring, progress, settings
from traceseal.db import make_engine, make_session_factory


def register(app: typer.Typer) -> None:
    app.command()(simulate)


def simulate(
    enterprise: str = typer.Option(
        "安盾消防科技有限公司", help="Enterprise to simulate (created if it does not exist)."
    ),
    codes: int = typer.Option(2000, min=160, help="Codes produced over the month."),
    diverted: int = typer.Option(10, min=0, help="Codes planted as diverted."),
    cloned: int = typer.Option(10, min=0, help="Codes planted as cloned."),
    seed: int = typer.Option(7, help="Random seed: the same seed gives the same month."),
    start: str = typer.Option("2026-10-01", help="First day of the month (YYYY-MM-DD)."),
    as_json: bool = JsonOption,
) -> None:
    """Generate a realistic month (docs/logistics.md, "Simulation") and report detection."""
    try:
        first_day = date.fromisoformat(start)
    except ValueError:
        fail(f"--start {start!r} is not a date (YYYY-MM-DD)", 2)
    report = run_simulation(enterprise, codes, diverted, cloned, seed, first_day)
    human = (
        f"{report['codes']:,} codes, {report['events']:,} EPCIS events, "
        f"{report['scans']:,} scans\n"
        f"diverted: {report['diverted_found']}/{report['planted_diverted']} found; "
        f"cloned: {report['cloned_found']}/{report['planted_cloned']} found; "
        f"false alerts: {report['false_alerts']}"
    )
    emit(as_json, report, human)


def run_simulation(
    enterprise: str, codes: int, diverted: int, cloned: int, seed: int, first_day: date
) -> dict[str, object]:
    """The simulation with a progress bar; its report (also for ``init --demo``)."""
    from traceseal.simulation import simulate as run

    engine = make_engine(settings().resolved_database_url)
    try:
        with progress() as bar:
            tasks: dict[str, TaskID] = {}

            def step(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(f"{stage:<7}", total=total)
                bar.update(tasks[stage], completed=done)

            result = run(
                make_session_factory(engine),
                keyring(),
                settings(),
                enterprise=enterprise,
                codes_count=codes,
                diverted=diverted,
                cloned=cloned,
                seed=seed,
                start=first_day,
                progress=step,
            )
    except ValueError as exc:
        fail(str(exc), 2)
    finally:
        engine.dispose()
    report = result.report()
    if result.enterprise_key:
        report["enterprise_api_key"] = result.enterprise_key
    report["planted"] = {"diverted": result.diverted, "cloned": result.cloned}
    report["generated_at"] = datetime.now().astimezone().isoformat(timespec="seconds")
    return report
