"""The platform's own pages: health check and home. Consumer pages live in verify/pages.py."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select

from traceseal import __version__
from traceseal.codes.models import CodeRun
from traceseal.orgs.models import Organization
from traceseal.registry.models import Product
from traceseal.web.deps import SessionDep
from traceseal.web.negotiation import language

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep) -> HTMLResponse:
    stats = {
        "organizations": session.scalar(select(func.count()).select_from(Organization)) or 0,
        "products": session.scalar(select(func.count()).select_from(Product)) or 0,
        "runs": session.scalar(select(func.count()).select_from(CodeRun)) or 0,
        "codes": session.scalar(select(func.coalesce(func.sum(CodeRun.count), 0))) or 0,
    }
    lang = language(request)
    return templates.TemplateResponse(
        request, "home.html", {"stats": stats, "lang": lang, "version": __version__}
    )
