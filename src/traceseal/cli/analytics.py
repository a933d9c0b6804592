"""analytics: the scan rollups (docs/analytics.md)."""

from __future__ import annotations

from datetime import date

import typer

from traceseal.cli.common import JsonOption, emit, fail, progress, session

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
    emit(
        as_json,
        {"scans": scans, "since": first},
        f"rollups rebuilt from {scans:,} scans" + ("" if first is None else f" since {first}"),
    )
