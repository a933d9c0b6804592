"""The platform's own pages: health check, home, and the API documentation (Swagger UI and
ReDoc, served from ``static/vendor`` so they work with no internet). Consumer pages live in
verify/pages.py."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
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


VENDOR = "/static/vendor"
FAVICON = "/static/favicon.svg"
#: The docs pages load nothing from elsewhere (ReDoc's footer would fetch a logo from its
#: vendor's CDN; here it is simply not shown). Both viewers write inline styles, Swagger UI
#: starts from an inline script, and ReDoc searches in a worker made from a blob.
DOCS_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; frame-ancestors 'none'"
)


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui() -> HTMLResponse:
    return _confined(
        get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="TraceSeal API",
            swagger_js_url=f"{VENDOR}/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{VENDOR}/swagger-ui/swagger-ui.css",
            swagger_favicon_url=FAVICON,
        )
    )


@router.get("/redoc", response_class=HTMLResponse)
def redoc() -> HTMLResponse:
    return _confined(
        get_redoc_html(
            openapi_url="/openapi.json",
            title="TraceSeal API",
            redoc_js_url=f"{VENDOR}/redoc/redoc.standalone.js",
            redoc_favicon_url=FAVICON,
            with_google_fonts=False,
        )
    )


def _confined(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = DOCS_POLICY
    return page
