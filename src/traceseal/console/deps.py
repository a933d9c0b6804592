"""What every console page shares: cookies, the language, the signed-in person (``Viewer``),
the CSRF check, and the errors a page answers with.

Cookies are ``Secure``, ``HttpOnly``, ``SameSite=Lax`` and named with the ``__Host-`` prefix
(the browser then refuses them from a subdomain or over http), unless the local-dev setting
CONSOLE_INSECURE_COOKIES is on. The session id lives only in its cookie, never in a URL.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from starlette.responses import Response

from traceseal.config import Settings
from traceseal.console.menu import Link, menu_for
from traceseal.orgs.models import Organization, Role
from traceseal.people import sessions
from traceseal.people.audit import Actor
from traceseal.people.models import ConsoleSession, Person, PersonRole, SessionStage
from traceseal.people.service import must_enrol_totp
from traceseal.web.deps import SessionDep
from traceseal.web.negotiation import LANGS, client_ip, language

SESSION = "ts_console"
PRE_CSRF = "ts_csrf"
LANG = "ts_lang"
_YEAR = 365 * 24 * 3600
#: Where a person whose organisation requires TOTP is sent until they have it.
ENROL = "/console/account/two-step"


class ConsoleError(Exception):
    """A console page's refusal, shown as a page (403, 404) in the person's language."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class SignInRequired(Exception):
    """No live session: the browser goes to the sign-in page (and back afterwards)."""

    def __init__(self, next_path: str, to: str = "/console/sign-in") -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.to = to


def cookie_name(settings: Settings, base: str) -> str:
    return base if settings.console_insecure_cookies else f"__Host-{base}"


def set_cookie(
    response: Response, settings: Settings, base: str, value: str, *, max_age: int | None
) -> None:
    response.set_cookie(
        cookie_name(settings, base),
        value,
        max_age=max_age,
        path="/",
        secure=not settings.console_insecure_cookies,
        httponly=True,
        samesite="lax",
    )


def clear_cookie(response: Response, settings: Settings, base: str) -> None:
    response.delete_cookie(
        cookie_name(settings, base),
        path="/",
        secure=not settings.console_insecure_cookies,
        httponly=True,
        samesite="lax",
    )


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def console_language(request: Request) -> str:
    """``?lang=`` (remembered in a cookie), else the remembered choice, else the browser's
    Accept-Language (the consumer pages' rule, web/negotiation.py); zh-CN by default."""
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    kept = request.cookies.get(cookie_name(settings_of(request), LANG))
    if kept in LANGS:
        return kept
    return language(request)


def current_session(request: Request, db: SessionDep) -> ConsoleSession | None:
    """The live session the request's cookie names (any stage), once per request."""
    if hasattr(request.state, "console_session"):
        found: ConsoleSession | None = request.state.console_session
        return found
    settings = settings_of(request)
    token = request.cookies.get(cookie_name(settings, SESSION), "")
    found = sessions.load(db, token, idle_seconds=settings.console_session_idle)
    request.state.console_session = found
    if found is not None:
        request.state.console_csrf = found.csrf
    return found


CurrentSession = Annotated[ConsoleSession | None, Depends(current_session)]


def csrf_token(request: Request, current: ConsoleSession | None) -> str:
    """The token the page's forms carry: the session's, or before sign-in the browser's
    pre-session cookie (double submit), made now if it has none."""
    if current is not None:
        return current.csrf
    name = cookie_name(settings_of(request), PRE_CSRF)
    token = request.cookies.get(name, "")
    if not (20 <= len(token) <= 64):
        token = getattr(request.state, "new_csrf", "") or secrets.token_urlsafe(24)
        request.state.new_csrf = token
    return token


async def check_csrf(request: Request, current: CurrentSession) -> None:
    """Every console POST must carry its page's token in the ``csrf`` field."""
    if request.method != "POST":
        return
    form = await request.form()
    sent = form.get("csrf")
    name = cookie_name(settings_of(request), PRE_CSRF)
    expected = current.csrf if current is not None else request.cookies.get(name, "")
    if not isinstance(sent, str) or not expected or not hmac.compare_digest(sent, expected):
        raise ConsoleError(403, "csrf")


@dataclass(frozen=True)
class Nav:
    """What the navigation shows, as plain values (an error page may have no database)."""

    name: str
    login: str
    organization: str
    admin: bool
    operator: bool
    enrolling: bool = False
    #: The organisation's kind (``Role`` value): which console the person works in.
    kind: str = ""
    menu: tuple[Link, ...] = ()


@dataclass
class Viewer:
    """The signed-in person of a request, their session, and what they may see."""

    person: Person
    session: ConsoleSession
    ip: str | None
    user_agent: str

    @property
    def org(self) -> Organization:
        return self.person.organization

    @property
    def kind(self) -> Role:
        """The organisation's kind: a brand, distributor, lab, regulator or the operator."""
        return self.org.role_enum

    @property
    def is_admin(self) -> bool:
        return self.person.role == PersonRole.ADMIN.value

    @property
    def is_operator(self) -> bool:
        """The platform's staff with the right to manage every organisation's people."""
        return self.person.is_operator and self.is_admin

    @property
    def within(self) -> int | None:
        """The organisation this viewer's admin pages are limited to (None: all)."""
        return None if self.is_operator else self.person.organization_id

    @property
    def actor(self) -> Actor:
        return Actor.of(self.person, self.ip, self.user_agent)


def _here(request: Request) -> str:
    query = f"?{request.url.query}" if request.url.query else ""
    return request.url.path + query


def viewer(request: Request, db: SessionDep, current: CurrentSession) -> Viewer:
    if current is None or current.stage != SessionStage.SIGNED_IN.value:
        raise SignInRequired(_here(request))
    person = current.person
    found = Viewer(person, current, client_ip(request), request.headers.get("user-agent", "")[:200])
    # An organisation that requires TOTP: its people without it may only enrol.
    enrolling = must_enrol_totp(db, person)
    request.state.console_nav = Nav(
        person.name or person.login,
        person.login,
        person.organization.name,
        found.is_admin,
        found.is_operator,
        enrolling,
        found.kind.value,
        # Every page module's entries, gathered by console/__init__.py (app.py keeps them).
        menu_for(request.app.state.console_menu, found.kind, is_admin=found.is_admin),
    )
    if enrolling and not request.url.path.startswith(ENROL):
        raise SignInRequired(_here(request), to=ENROL)
    return found


ViewerDep = Annotated[Viewer, Depends(viewer)]


def admin(viewer: ViewerDep) -> Viewer:
    if not viewer.is_admin:
        raise ConsoleError(403, "admins")
    return viewer


def operator(viewer: ViewerDep) -> Viewer:
    if not viewer.is_operator:
        raise ConsoleError(403, "operator")
    return viewer


def of_kind(*kinds: Role, admin: bool = False) -> Callable[[Viewer], Viewer]:
    """A dependency: the viewer, if their organisation is one of ``kinds`` (and they are
    its admin, when ``admin``); otherwise the page answers 403 in their language."""

    def check(viewer: ViewerDep) -> Viewer:
        if viewer.kind not in kinds:
            raise ConsoleError(403, "kind")
        if admin and not viewer.is_admin:
            raise ConsoleError(403, "admins")
        return viewer

    return check


AdminDep = Annotated[Viewer, Depends(admin)]
OperatorDep = Annotated[Viewer, Depends(operator)]
#: A brand owner's people (members and admins); BrandAdminDep: its admins only.
BrandDep = Annotated[Viewer, Depends(of_kind(Role.ENTERPRISE))]
BrandAdminDep = Annotated[Viewer, Depends(of_kind(Role.ENTERPRISE, admin=True))]
DistributorDep = Annotated[Viewer, Depends(of_kind(Role.DISTRIBUTOR))]
LabDep = Annotated[Viewer, Depends(of_kind(Role.LAB))]
RegulatorDep = Annotated[Viewer, Depends(of_kind(Role.REGULATOR))]
#: The platform operator's staff, members included (OperatorDep: its admins).
StaffDep = Annotated[Viewer, Depends(of_kind(Role.OPERATOR))]


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a console path of this site, never elsewhere."""
    if value and value.startswith("/console") and "//" not in value and "\\" not in value:
        return value
    return "/console"


def sign_in_url(next_path: str) -> str:
    return "/console/sign-in?next=" + quote(next_path, safe="/")
