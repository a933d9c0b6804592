"""The operator's console: onboarding an organisation with its first admin in one
transaction, the one-time link that admin signs in with, and who may do it."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.conftest import Platform
from tests.functional.people_helpers import Browser, add_person
from traceseal.db import unit_of_work
from traceseal.orgs.models import Organization, Role
from traceseal.people.models import AuditEntry, Person
from traceseal.quality.models import Programme

_LINK = re.compile(r'id="reset-link">https?://[^/<]+(/console/reset/[^<]+)<')


@pytest.fixture
def staff(platform: Platform) -> Browser:
    add_person(platform, platform.operator.id, "staff@platform.cn", "admin")
    browser = Browser(platform)
    assert browser.sign_in("staff@platform.cn").status_code == 303
    return browser


def _orgs(platform: Platform, name: str) -> int:
    with unit_of_work(platform.session_factory) as session:
        return session.scalar(select(func.count()).where(Organization.name == name)) or 0


def _onboard(staff: Browser, **fields: str) -> object:
    form = {"org_name": "安盾消防", "kind": "enterprise", "email": "boss@andun.cn", **fields}
    return staff.post("/console/organisations/new", form)


def test_onboarding_makes_the_organisation_and_its_admin_who_signs_in_by_the_link(
    platform: Platform, staff: Browser
) -> None:
    answer = _onboard(staff, name="王经理")
    assert answer.status_code == 200, answer.text
    assert "安盾消防" in answer.text
    found = _LINK.search(answer.text)
    assert found, answer.text
    with unit_of_work(platform.session_factory) as session:
        org = session.scalar(select(Organization).where(Organization.name == "安盾消防"))
        assert org is not None
        assert org.role == "enterprise"
        admin = session.scalar(select(Person).where(Person.organization_id == org.id))
        assert admin is not None
        assert (admin.email, admin.role, admin.name) == ("boss@andun.cn", "admin", "王经理")
        actions = set(session.scalars(select(AuditEntry.action)))
        assert {"organization.create", "person.create", "reset_link.issue"} <= actions

    newcomer = Browser(platform)
    link = found.group(1)
    assert newcomer.get(link).status_code == 200
    password = "a brand new passphrase"
    done = newcomer.post(link, {"password": password, "again": password})
    assert done.status_code == 303
    assert newcomer.sign_in("boss@andun.cn", password).status_code == 303
    home = newcomer.get("/console")
    assert home.status_code == 200
    assert "安盾消防" in home.text
    # The link worked once.
    assert Browser(platform).get(link).status_code == 404


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"email": "not an address"}, "email"),
        ({"email": "staff@platform.cn"}, "email"),
        ({"email": "", "mobile": ""}, "email"),
        ({"org_name": ""}, "org_name"),
        ({"kind": "operator"}, "kind"),
    ],
)
def test_a_refused_onboarding_leaves_no_organisation_behind(
    platform: Platform, staff: Browser, fields: dict[str, str], where: str
) -> None:
    before = _orgs(platform, fields.get("org_name", "安盾消防"))
    with unit_of_work(platform.session_factory) as session:
        people = session.scalar(select(func.count()).select_from(Person))
    answer = _onboard(staff, **fields)
    assert answer.status_code == 422
    assert f'id="{where}-error"' in answer.text
    assert _orgs(platform, "安盾消防") == before == 0
    with unit_of_work(platform.session_factory) as session:
        assert session.scalar(select(func.count()).select_from(Person)) == people
    # The form keeps what was typed, and the words are the page's language (zh-CN).
    assert 'value="安盾消防"' in answer.text or where == "org_name"


def test_a_taken_organisation_name_is_said_beside_its_field(
    platform: Platform, staff: Browser
) -> None:
    platform.org("安盾消防")
    answer = _onboard(staff, email="other@andun.cn")
    assert answer.status_code == 422
    assert "已有名为“安盾消防”的机构" in answer.text
    with unit_of_work(platform.session_factory) as session:
        assert session.scalar(select(Person).where(Person.email == "other@andun.cn")) is None


def test_only_the_operators_admins_onboard(platform: Platform, staff: Browser) -> None:
    acme = platform.org("Acme")
    add_person(platform, acme.id, "admin@acme.cn", "admin")
    add_person(platform, platform.operator.id, "clerk@platform.cn")
    brand_admin, clerk = Browser(platform), Browser(platform)
    brand_admin.sign_in("admin@acme.cn")
    clerk.sign_in("clerk@platform.cn")
    form = {"org_name": "冒名企业", "kind": "enterprise", "email": "x@fake.cn"}
    for browser in (brand_admin, clerk):
        assert browser.get("/console/organisations/new").status_code == 403
        assert browser.post("/console/organisations/new", form, page="/console").status_code == 403
    assert brand_admin.get("/console/organisations").status_code == 403
    # The operator's members read the organisations, without the way to onboard.
    listing = clerk.get("/console/organisations")
    assert listing.status_code == 200
    assert "Acme" in listing.text
    assert 'href="/console/organisations/new"' not in listing.text
    assert _orgs(platform, "冒名企业") == 0


def test_organisations_are_found_by_name_and_kind_and_paged(
    platform: Platform, staff: Browser
) -> None:
    for n in range(30):
        platform.org(f"经销商{n:02d}", Role.DISTRIBUTOR)
    platform.org("安盾消防")
    first = staff.get("/console/organisations", params={"kind": "distributor"})
    assert "经销商29" in first.text
    assert "安盾消防" not in first.text
    older = re.search(r'href="([^"]+)" id="older"', first.text)
    assert older
    second = staff.get(older.group(1).replace("&amp;", "&"))
    assert "经销商00" in second.text
    assert "经销商29" not in second.text
    found = staff.get("/console/organisations", params={"q": "安盾"})
    assert "安盾消防" in found.text
    assert "经销商0" not in found.text
    detail_id = re.search(r'href="/console/organisations/(\d+)">安盾消防', found.text)
    assert detail_id
    detail = staff.get(f"/console/organisations/{detail_id.group(1)}?lang=en")
    assert "Brand owner" in detail.text
    assert staff.get("/console/organisations/999999").status_code == 404


def test_programmes_are_made_signed_and_listed(platform: Platform, staff: Browser) -> None:
    bad = staff.post("/console/programmes/new", {"name": "3·15 标识", "rules": "{not json"})
    assert bad.status_code == 422
    assert "规则不是有效的 JSON" in bad.text
    unknown = staff.post("/console/programmes/new", {"name": "3·15 标识", "rules": '{"most": []}'})
    assert unknown.status_code == 422
    rules = '{"certificate": {"scheme": "CCC"}}'
    made = staff.post("/console/programmes/new", {"name": "3·15 标识", "rules": rules})
    assert made.status_code == 303
    page = staff.get(made.headers["location"])
    assert "a valid certificate of scheme CCC" in page.text
    with unit_of_work(platform.session_factory) as session:
        programme = session.scalar(select(Programme))
        assert programme is not None
        assert programme.record.issuer_id == platform.operator.id
    again = staff.post("/console/programmes/new", {"name": "3·15 标识", "rules": rules})
    assert again.status_code == 422
    assert "已有名为“3·15 标识”的标识项目" in again.text
    assert "3·15 标识" in staff.get("/console/programmes").text


def test_home_health_and_alerts_show_the_platform(platform: Platform, staff: Browser) -> None:
    from traceseal.alerts.models import Severity
    from traceseal.alerts.service import raise_alert

    with unit_of_work(platform.session_factory) as session:
        alert = raise_alert(
            session,
            kind="enumeration_burst",
            severity=Severity.WARNING,
            summary="unknown codes asked for 900 times in a minute",
            dedupe_key="test:burst",
        )
        raise_alert(
            session,
            kind="diversion",
            severity=Severity.WARNING,
            summary="a scan outside the territory",
            dedupe_key="test:diversion",
        )
    home = staff.get("/console")
    assert re.search(r'id="open-alerts"><a [^>]+>1<', home.text)
    alerts = staff.get("/console/enumeration")
    assert "900 times" in alerts.text
    assert "outside the territory" not in alerts.text
    done = staff.post(f"/console/enumeration/{alert}/acknowledge", page="/console/enumeration")
    assert done.status_code == 303
    assert re.search(r'id="open-alerts"><a [^>]+>0<', staff.get("/console").text)
    health = staff.get("/console/health?lang=en")
    assert health.status_code == 200
    for queue in ("webhooks", "sms", "exports"):
        assert f'id="queue-{queue}"' in health.text
