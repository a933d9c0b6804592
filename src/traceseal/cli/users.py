"""users create / list / disable / reset-link: console accounts from the server's shell.

Every write is recorded in the audit log as the CLI (``cli:<system user>``), like a
console write.
"""

from __future__ import annotations

import secrets
import smtplib
import sys

import typer
from sqlalchemy.orm import Session

from traceseal.cli.common import JsonOption, emit, err, fail, session, settings
from traceseal.orgs.service import find_organization
from traceseal.people import audit, mail, resets
from traceseal.people.audit import Actor
from traceseal.people.models import Person
from traceseal.people.service import create_person, find_by_login, list_people, set_disabled

app = typer.Typer(help="People who sign in to the consoles.", no_args_is_help=True)


def _row(person: Person) -> dict[str, object]:
    return {
        "id": person.id,
        "organization": person.organization.name,
        "email": person.email,
        "mobile": person.mobile,
        "name": person.name,
        "role": person.role,
        "totp": person.totp_enabled,
        "disabled": person.disabled_at is not None,
        "last_sign_in_at": person.last_sign_in_at,
    }


def _find(db: Session, login: str) -> Person:
    person = find_by_login(db, login)
    if person is None:
        fail(f"no person signs in as {login!r}")
    return person


@app.command("create")
def create(
    org: str = typer.Option(..., help="The organisation's id or exact name."),
    email: str = typer.Option("", help="Email address to sign in with."),
    mobile: str = typer.Option("", help="Mobile number to sign in with (digits, +86 ...)."),
    name: str = typer.Option("", help="The person's name, as shown in the console."),
    role: str = typer.Option("member", help="admin or member."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input (one line)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Create a person. Without --password-stdin, print a one-time link to set a password."""
    password = ""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            fail("--password-stdin: standard input held no password")
    link = ""
    with session() as db:
        organization = find_organization(db, org)
        person = create_person(
            db,
            organization,
            email=email,
            mobile=mobile,
            name=name,
            role=role,
            password=password or _unusable(),
        )
        actor = Actor.cli()
        target = f"person {person.id} ({person.login})"
        audit.record(
            db,
            actor,
            "person.create",
            organization_id=organization.id,
            target=target,
            details={"role": person.role, "invited": not password},
        )
        if not password:
            link = _issue(db, person, invite=True)
        data = _row(person) | ({"link": link} if link else {})
        person_email = person.email
    human = f"created {data['role']} {person.login} of {organization.name} (id {person.id})"
    if link:
        data["mailed"] = mailed = _mail(person_email, link, invite=True)
        human += f"\nset-password link (works once): {link}" + _mailed_words(mailed, person_email)
    emit(as_json, data, human)


def _unusable() -> str:
    """A password nobody knows, until the person sets theirs through the link."""
    return secrets.token_urlsafe(32)


def _issue(db: Session, person: Person, *, invite: bool) -> str:
    config = settings()
    token = resets.issue(
        db,
        person,
        ttl_seconds=config.console_reset_link_ttl,
        issued_by=None,
    )
    audit.record(
        db,
        Actor.cli(),
        "reset_link.issue",
        organization_id=person.organization_id,
        target=f"person {person.id} ({person.login})",
        details={"invite": invite},
    )
    return config.public_url + resets.PATH + token


@app.command("list")
def list_(
    org: str | None = typer.Option(None, help="Only this organisation (id or name)."),
    as_json: bool = JsonOption,
) -> None:
    """List people, newest first."""
    rows: list[dict[str, object]] = []
    with session() as db:
        within = find_organization(db, org).id if org else None
        before = None
        while True:
            page = list_people(db, organization_id=within, before=before, limit=500)
            rows += [_row(p) for p in page.items]
            if page.older is None:
                break
            before = page.older
    lines = [
        f"{r['id']:>5}  {r['role']:<7} {'disabled' if r['disabled'] else 'active':<9}"
        f"{'totp' if r['totp'] else '    '}  {r['email'] or r['mobile']}  ({r['organization']})"
        for r in rows
    ]
    emit(as_json, {"people": rows}, "\n".join(lines) or "no people yet")


@app.command("disable")
def disable(
    login: str = typer.Argument(..., help="The person's email or mobile number."),
    as_json: bool = JsonOption,
) -> None:
    """Disable a person and end all their sessions."""
    with session() as db:
        person = _find(db, login)
        set_disabled(db, person, True)
        audit.record(
            db,
            Actor.cli(),
            "person.disable",
            organization_id=person.organization_id,
            target=f"person {person.id} ({person.login})",
        )
        data = _row(person)
    emit(as_json, data, f"disabled {login}; their sessions have ended")


@app.command("reset-link")
def reset_link(
    login: str = typer.Argument(..., help="The person's email or mobile number."),
    as_json: bool = JsonOption,
) -> None:
    """Print a one-time password reset link for a person (earlier links stop working)."""
    with session() as db:
        person = _find(db, login)
        if person.disabled_at is not None:
            fail(f"{login} is disabled")
        link = _issue(db, person, invite=False)
        email = person.email
    hours = settings().console_reset_link_ttl // 3600
    mailed = _mail(email, link, invite=False)
    human = f"reset link for {login} (works once, {hours} h): {link}"
    emit(as_json, {"link": link, "mailed": mailed}, human + _mailed_words(mailed, email))


def _mail(email: str | None, link: str, *, invite: bool) -> str:
    """ "sent", "failed" or "" (no CONSOLE_SMTP_URL or no email): after the commit, so a
    mailed link always works."""
    config = settings()
    if not (mail.enabled(config) and email):
        return ""
    hours = config.console_reset_link_ttl // 3600
    try:
        mail.send(config, mail.link_message(config, email, link, invite=invite, hours=hours))
    except (OSError, smtplib.SMTPException) as exc:
        err.print(f"[yellow]warning:[/] could not mail the link: {exc}", highlight=False)
        return "failed"
    return "sent"


def _mailed_words(mailed: str, email: str | None) -> str:
    return {"sent": f"\nmailed to {email}", "failed": "\nthe mail could not be sent"}.get(
        mailed, ""
    )
