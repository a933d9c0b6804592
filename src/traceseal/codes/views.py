"""The public shape of a code run and of an export job, shared by the HTTP API and the CLI's
--json."""

from __future__ import annotations

from typing import Any

from traceseal.codes.models import CodeRun, ExportJob, ExportState


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
            # POST {"format": ...}: the same files built as a job, for runs of any size.
            "exports": f"{base}/exports",
        },
    }


def export_path(job_id: int) -> str:
    return f"/api/v1/exports/{job_id}"


def export_read(job: ExportJob) -> dict[str, Any]:
    done = job.state == ExportState.DONE.value
    return {
        "id": job.id,
        "run": job.run_id,
        "format": job.format,
        "state": job.state,
        "progress": {"done": job.done, "total": job.total},
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "result": f"{export_path(job.id)}/result" if done else None,
        "size": job.size,
        "error": job.error,
    }
