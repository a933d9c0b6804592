"""Rendering a console page: the template, the language, the CSRF token, the cookies that
remember them, and the headers every console answer carries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import RedirectResponse, Response

from traceseal.console.deps import (
    LANG,
    PRE_CSRF,
    ConsoleError,
    SignInRequired,
    Viewer,
    console_language,
    csrf_token,
    set_cookie,
    settings_of,
    sign_in_url,
)
from traceseal.console.words import say
from traceseal.people.models import ConsoleSession

templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")
templates.env.globals["say"] = say

_YEAR = 365 * 24 * 3600


def page(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    viewer: Viewer | None = None,
    current: ConsoleSession | None = None,
    status: int = 200,
) -> Response:
    lang = console_language(request)
    current = viewer.session if viewer is not None else current
    csrf = csrf_token(request, current)
    response = templates.TemplateResponse(
        request,
        f"console/{name}",
        {
            "lang": lang,
            "zh": lang == "zh-CN",
            "csrf": csrf,
            "viewer": viewer,
            "nav": getattr(request.state, "console_nav", None),
            **(context or {}),
        },
        status_code=status,
    )
    return finish(request, response)


def finish(request: Request, response: Response) -> Response:
    """Headers and cookies of every console answer."""
    settings = settings_of(request)
    # Pages with people's data are not kept by the browser's or a proxy's cache.
    response.headers["Cache-Control"] = "no-store"
    asked = request.query_params.get("lang")
    if asked in ("zh-CN", "en"):
        set_cookie(response, settings, LANG, asked, max_age=_YEAR)
    new_csrf = getattr(request.state, "new_csrf", None)
    if new_csrf:
        set_cookie(response, settings, PRE_CSRF, new_csrf, max_age=None)
    return response


def see_other(request: Request, to: str) -> Response:
    """After a form: POST-redirect-GET."""
    return finish(request, RedirectResponse(to, status_code=303))


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConsoleError)
    # The unit of work was rolled back: the page uses only what the request noted as plain
    # values (request.state.console_nav), no database objects.
    lang = console_language(request)
    response = templates.TemplateResponse(
        request,
        "console/error.html",
        {
            "lang": lang,
            "zh": lang == "zh-CN",
            "status": exc.status,
            "reason": exc.detail,
            "csrf": getattr(request.state, "console_csrf", ""),
            "viewer": None,
            "nav": getattr(request.state, "console_nav", None),
        },
        status_code=exc.status,
    )
    return finish(request, response)


async def _sign_in(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    to = sign_in_url(exc.next_path) if exc.to == "/console/sign-in" else exc.to
    return finish(request, RedirectResponse(to, status_code=303))


#: Registered by app.py.
EXCEPTION_HANDLERS = {ConsoleError: _refused, SignInRequired: _sign_in}
