"""The public shape of a code run, shared by the HTTP API and the CLI's --json."""

from __future__ import annotations

from typing import Any

from traceseal.codes.models import CodeRun


def run_read(run: CodeRun) -> dict[str, Any]:
    segments = [
        {
            "first": s.start - run.first + 1,
            "last": s.stop - run.first,
            "state": s.state,
            "lot": s.batch.lot if s.batch else None,
            "gtin": s.batch.product.gtin if s.batch else None,
            "reason": s.reason,
            "changed_at": s.changed_at,
        }
        for s in run.segments
    ]
    base = f"/api/v1/code-runs/{run.id}"
    return {
        "run": run.id,
        "organization_id": run.organization_id,
        "slot": f"{run.slot:03d}",
        "first": run.first,
        "count": run.count,
        "product": run.product.gtin if run.product else None,
        "pin": run.pin,
        "created_at": run.created_at,
        "leaf_index": run.leaf_index,
        "programme": run.programme_id,
        "segments": segments,
        "downloads": {
            "csv": f"{base}/codes.csv",
            "zip": f"{base}/codes.zip",
            "pdf": f"{base}/labels.pdf",
        },
    }
