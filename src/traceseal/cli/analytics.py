"""analytics: the scan rollups (docs/analytics.md)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from traceseal.cli.common import JsonOption, emit, fail, progress, read_session, session
from traceseal.orgs.service import find_organization

app = typer.Typer(help="Scan analytics: rollups kept as scans arrive.", no_args_is_help=True)


@app.command()
def rebuild(
    since: str | None = typer.Option(
        None, help="Rebuild the days from this one (YYYY-MM-DD, China Standard Time) on."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Recompute the rollups from the scan log, in one transaction.

    Verification keeps them as scans arrive; this is for after a migration, a restore or
    dropped scan rows you want counted again.
    """
    from traceseal.analytics.service import rebuild as run
    from traceseal.verify.partitions import first_whole_day

    first: date | None = None
    if since is not None:
        try:
            first = date.fromisoformat(since)
        except ValueError:
            fail(f"--since {since!r} is not a date (YYYY-MM-DD)", 2)
    with progress() as bar, session() as db:
        whole = first_whole_day(db.connection())
        if whole is not None and (first is None or first < whole):
            # Rollups outlive the raw scans that retention drops (docs/analytics.md):
            # rebuilding their days from what is left of the log would lose their counts.
            fail(
                "the scan log was pruned: the rollups before "
                f"{whole} cannot be rebuilt from it; use --since {whole} or later",
                2,
            )
        task = bar.add_task("scans  ", total=None)

        def step(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        scans = run(db.connection(), since=first, progress=step)
    days = _fold_all()
    emit(
        as_json,
        {"scans": scans, "since": first, "days_folded": days},
        f"rollups rebuilt from {scans:,} scans"
        + ("" if first is None else f" since {first}")
        + f"; {days:,} days folded into the day and month sums",
    )


@app.command()
def fold(as_json: bool = JsonOption) -> None:
    """Fold every day that is over into the day and month sums now (a server does it
    every minute, a week at a time)."""
    days = _fold_all()
    emit(as_json, {"days_folded": days}, f"{days:,} days folded into the day and month sums")


def _fold_all() -> int:
    """Fold until nothing is left, a month per transaction, with progress."""
    from traceseal.analytics.fold import fold as run
    from traceseal.db import utcnow

    days = 0
    with progress() as bar:
        task = bar.add_task("days   ", total=None)
        while True:
            with session() as db:
                folded = run(db.connection(), now=utcnow())
            days += folded.days
            bar.update(task, completed=days)
            if folded.done:
                return days


@app.command()
def export(
    table: str = typer.Argument(..., help="What to export: scans, rollups or flows."),
    out: Path = typer.Option(..., "--out", help="The Parquet file to write."),
    start: str = typer.Option(..., "--from", help="First day (YYYY-MM-DD, China Standard Time)."),
    end: str = typer.Option(..., "--to", help="Last day, included."),
    org: str | None = typer.Option(None, help="One organisation's rows only (its name or id)."),
    as_json: bool = JsonOption,
) -> None:
    """Write the scan log, the rollups or the diversion flows of a range of days to a
    Parquet file (streamed; the scans without coordinates or address and device hashes)."""
    from traceseal.analytics.export import TABLES, export_parquet

    if table not in TABLES:
        fail(f"{table!r} cannot be exported: choose one of {', '.join(TABLES)}", 2)
    first, last = _day(start, "--from"), _day(end, "--to")
    if last < first:
        fail("--to is before --from", 2)
    if not out.parent.is_dir():
        fail(f"{out.parent} is not a directory", 2)
    with progress() as bar, read_session() as db:
        owner = None if org is None else find_organization(db, org).id
        task = bar.add_task(f"{table:8}", total=None)

        def step(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        rows = export_parquet(
            db.connection(), table, out, start=first, end=last, organization_id=owner, progress=step
        )
    emit(
        as_json,
        {"table": table, "rows": rows, "file": str(out), "from": first, "to": last},
        f"{rows:,} {table} rows of {first} to {last} written to {out}",
    )


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option} {text!r} is not a date (YYYY-MM-DD)", 2)
