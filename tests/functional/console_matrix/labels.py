"""The label designer's routes (console/labels.py): a brand's pages, for its members too.

The download is sent without fields, so every brand's person meets the form's refusal
(422: no run chosen); other kinds of organisation are refused the page (403). A PDF job is
Acme's: Beta's admin meets 404, as for a job that does not exist; its file, not drawn yet
(no runner works in this test), sends Acme's people back to the job's page."""

from __future__ import annotations

from tests.conftest import Platform
from tests.functional.console_matrix import BRAND_PAGE, SIGN_IN, Orgs, row
from traceseal.codes import jobs, service
from traceseal.codes.design import PRESETS, Design
from traceseal.orgs.models import Organization

OWN_JOB = row(SIGN_IN, 200, 404, 403, 200, others=403)

ROWS = {
    ("GET", "/console/labels"): BRAND_PAGE,
    ("GET", "/console/labels/preview.png"): BRAND_PAGE,
    ("POST", "/console/labels/download"): row(SIGN_IN, 422, 422, 403, 422, others=403),
    ("GET", "/console/labels/jobs/{label_job_id}"): OWN_JOB,
    ("GET", "/console/labels/jobs/{label_job_id}/file"): row(
        SIGN_IN, 303, 404, 403, 303, others=403
    ),
}


def values(platform: Platform, orgs: Orgs) -> dict[str, object]:
    answer = platform.client.post("/api/v1/code-runs", json={"count": 3}, headers=orgs.acme.auth)
    assert answer.status_code == 201, answer.text
    with platform.session_factory() as session, session.begin():
        acme = session.get(Organization, orgs.acme.id)
        assert acme is not None
        run = service.get_run(session, acme, int(answer.json()["run"]))
        design = Design(PRESETS["a4-3x8"]).to_dict()
        job = jobs.create_job(session, acme, run, "pdf", design=design)
        return {"label_job_id": job.id}
