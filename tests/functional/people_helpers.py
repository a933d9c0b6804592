"""A person's browser for the console tests: its own cookie jar over https (the console's
cookies are Secure and __Host-), forms read from the pages as a browser would."""

from __future__ import annotations

import re

import httpx2 as httpx
import pyotp
from fastapi.testclient import TestClient

from tests.conftest import Platform
from traceseal.db import unit_of_work
from traceseal.orgs.models import Organization
from traceseal.people.service import create_person

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def add_person(
    platform: Platform, org_id: int, email: str, role: str = "member", password: str = PASSWORD
) -> int:
    with unit_of_work(platform.session_factory) as session:
        org = session.get(Organization, org_id)
        assert org is not None
        return create_person(session, org, email=email, role=role, password=password).id


class Browser:
    def __init__(self, platform: Platform, **headers: str) -> None:
        self.client = TestClient(
            platform.app,
            base_url="https://testserver",
            raise_server_exceptions=False,
            follow_redirects=False,
            headers={"accept": "text/html", **headers},
        )

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return self.client.get(path, **kwargs)  # type: ignore[arg-type]

    def csrf(self, path: str = "/console/sign-in") -> str:
        page = self.get(path)
        found = _CSRF.search(page.text)
        assert found, f"no csrf field on {path}: {page.status_code} {page.text[:300]}"
        return found.group(1)

    def post(
        self, path: str, data: dict[str, str] | None = None, *, page: str | None = None
    ) -> httpx.Response:
        """Submit a form of ``page`` (default: the path itself) with its CSRF token."""
        token = self.csrf(page or path)
        return self.client.post(path, data={"csrf": token, **(data or {})})

    def sign_in(
        self, login: str, password: str = PASSWORD, *, totp: str | None = None
    ) -> httpx.Response:
        # Signed in already, the sign-in page sends the browser on: its form is anywhere.
        signed_in = self.get("/console/sign-in").status_code == 303
        page = "/console" if signed_in else "/console/sign-in"
        answer = self.post("/console/sign-in", {"login": login, "password": password}, page=page)
        if totp is not None and answer.headers.get("location", "").startswith(
            "/console/sign-in/code"
        ):
            code = pyotp.TOTP(totp).now()
            answer = self.post("/console/sign-in/code", {"code": code})
        return answer

    @property
    def session_cookie(self) -> str | None:
        return self.client.cookies.get("__Host-ts_console")

    def close(self) -> None:
        self.client.close()
