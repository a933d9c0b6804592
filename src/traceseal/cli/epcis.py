"""``traceseal epcis``: EPCIS events from files on the platform's machine."""

from __future__ import annotations

from pathlib import Path

import typer

from traceseal.cli.common import JsonOption, emit, fail, keyring, session
from traceseal.db import utcnow
from traceseal.logistics import scanning
from traceseal.orgs.service import find_organization

app = typer.Typer(help="EPCIS events: packing lines' files.", no_args_is_help=True)


@app.command("pack")
def pack(
    csv_file: Path = typer.Option(
        ..., "--csv", exists=True, dir_okay=False, help="parent,child rows from a line scanner."
    ),
    org: str = typer.Option(..., help="The organisation packing: id or name."),
    location: str | None = typer.Option(None, help="GLN of the packing site."),
    as_json: bool = JsonOption,
) -> None:
    """Capture one AggregationEvent (ADD, packing) per parent, as ORG, whole or not at all.

    The same capture as POST /api/v1/aggregations: the organisation's rights, GS1's schema
    and the log apply."""
    try:
        text = csv_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {csv_file}: {exc}")
    ring = keyring()
    with session() as db:
        packer = find_organization(db, org)
        pairs = scanning.read_pairs(text)
        result = scanning.pack(db, ring, packer, pairs, now=utcnow(), location=location)
    events = result["events"]
    children = sum(event["children"] for event in events)
    emit(
        as_json,
        result,
        f"captured {len(events)} aggregation event(s), {children} children "
        f"(capture {result['capture_id']})",
    )
