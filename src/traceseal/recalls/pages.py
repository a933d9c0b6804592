"""``/recalls/{id}``: a recall for people: what, why, what to do, and, for the brand owner
and regulators signed in with their key, where the goods are now (its reach)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from traceseal.recalls.models import Recall
from traceseal.web.deps import PathId, ReadSessionDep
from traceseal.web.negotiation import language

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")


@router.get("/recalls/{recall_id}")
def recall_page(recall_id: PathId, request: Request, session: ReadSessionDep) -> Response:
    lang = language(request)
    recall = session.get(Recall, recall_id)
    if recall is None:
        return templates.TemplateResponse(
            request, "recalls/page.html", {"lang": lang, "recall": None}, status_code=404
        )
    context = {
        "lang": lang,
        "recall": recall,
        "product": recall.product,
        "lot": None if recall.batch is None else recall.batch.lot,
    }
    return templates.TemplateResponse(request, "recalls/page.html", context)
