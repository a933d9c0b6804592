"""scans: the scan log's partitions and retention (docs/scaling.md, docs/analytics.md)."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from traceseal.cli.common import JsonOption, emit, fail, progress, settings
from traceseal.db import make_engine, make_session_factory, unit_of_work

app = typer.Typer(help="The scan log: partitions and retention.", no_args_is_help=True)


@app.command()
def prune(
    days: int | None = typer.Option(
        None,
        min=1,
        help="Drop scans older than this many days (default: TRACESEAL_SCAN_RETENTION_DAYS).",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Drop raw scans older than the retention; the rollups (analytics) stay.

    On PostgreSQL whole expired months are dropped as partitions and the rest deleted in
    batches; on SQLite every expired row is deleted in batches of a short transaction each,
    so a running server keeps verifying meanwhile.
    """
    from traceseal.verify.partitions import horizon
    from traceseal.verify.partitions import prune as run

    keep = days if days is not None else settings().scan_retention_days
    if not keep:
        fail("nothing to prune: TRACESEAL_SCAN_RETENTION_DAYS is 0 (keep forever); give --days", 2)
    before = horizon(datetime.now(UTC), keep)
    engine = make_engine(settings().resolved_database_url)
    try:
        with progress() as bar:
            task = bar.add_task("scans  ", total=None)

            def step(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            pruned = run(make_session_factory(engine), before, progress=step)
    finally:
        engine.dispose()
    emit(
        as_json,
        {
            "before": before,
            "rows": pruned.rows,
            "partitions": pruned.partitions,
            "salts": pruned.salts,
        },
        f"{pruned.rows:,} scans from before {before:%Y-%m-%d %H:%M} UTC removed"
        + (f" ({len(pruned.partitions)} months dropped whole)" if pruned.partitions else "")
        + (f"; {pruned.salts} client-hash salts deleted" if pruned.salts else ""),
    )


@app.command()
def partitions(as_json: bool = JsonOption) -> None:
    """Create the coming months' partitions (PostgreSQL) and list them.

    The server does this every hour; run it from cron where no server runs.
    """
    from traceseal.verify.partitions import ensure_partitions, is_partitioned, month_partitions

    engine = make_engine(settings().resolved_database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            conn = session.connection()
            if not is_partitioned(conn):
                emit(
                    as_json,
                    {"partitioned": False, "created": [], "partitions": []},
                    "the scan log is not partitioned (SQLite): nothing to do",
                )
                return
            created = ensure_partitions(conn, datetime.now(UTC), settings().scan_partitions_ahead)
            months = month_partitions(conn)
    finally:
        engine.dispose()
    emit(
        as_json,
        {
            "partitioned": True,
            "created": created,
            "partitions": [{"name": p.name, "from": p.start, "to": p.stop} for p in months],
        },
        "\n".join(f"{p.name}  {p.start:%Y-%m-%d} .. {p.stop:%Y-%m-%d}" for p in months)
        + f"\n{len(created)} created",
    )
