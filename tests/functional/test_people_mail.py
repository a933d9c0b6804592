"""Reset and invitation links mailed through CONSOLE_SMTP_URL, to a fake mail server that
speaks SMTP (RFC 5321: greeting, EHLO, MAIL, RCPT, DATA, QUIT) and keeps what it got."""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import Platform
from tests.functional.people_helpers import Browser, add_person
from tests.functional.test_cli import Cli
from tests.functional.test_people_cli import _run
from traceseal.config import Settings
from traceseal.db import unit_of_work
from traceseal.people.models import Person


class FakeMailServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Session)
        self.mails: list[tuple[str, list[str], Message]] = []
        self.commands: list[str] = []


class _Session(socketserver.StreamRequestHandler):
    server: FakeMailServer

    def _say(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self._say("220 fake.example ESMTP")
        sender, recipients = "", []
        while line := self.rfile.readline():
            command = line.decode().rstrip("\r\n")
            verb = command.split(" ", 1)[0].upper()
            self.server.commands.append(verb)
            if verb in ("EHLO", "HELO"):
                # No STARTTLS offered: a client that requires it must give up here.
                self._say("250-fake.example")
                self._say("250 8BITMIME")
            elif verb == "MAIL":
                sender, recipients = command[10:].strip("<>"), []
                self._say("250 OK")
            elif verb == "RCPT":
                recipients.append(command[8:].strip("<>"))
                self._say("250 OK")
            elif verb == "DATA":
                self._say("354 go ahead")
                body = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    body += chunk[1:] if chunk.startswith(b"..") else chunk
                self.server.mails.append(
                    (sender, recipients, message_from_bytes(body, policy=policy.default))
                )
                self._say("250 queued")
            elif verb == "QUIT":
                self._say("221 bye")
                return
            else:
                self._say("502 not here")


@pytest.fixture
def mail_server() -> Iterator[FakeMailServer]:
    server = FakeMailServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _platform(migrated: Settings, url: str) -> Platform:
    return Platform(migrated.replace(console_smtp_url=url, console_mail_from="noreply@ts.cn"))


def _reset_link(platform: Platform) -> tuple[Browser, str]:
    acme = platform.org("Acme")
    add_person(platform, acme.id, "member@acme.cn")
    add_person(platform, platform.operator.id, "staff@platform.cn", "admin")
    staff = Browser(platform)
    staff.sign_in("staff@platform.cn")
    with unit_of_work(platform.session_factory) as session:
        member = session.scalar(select(Person.id).where(Person.email == "member@acme.cn"))
    answer = staff.post(f"/console/users/{member}/reset-link", page="/console/users")
    assert answer.status_code == 200
    return staff, answer.text


def test_a_reset_link_is_mailed_to_the_person(
    migrated: Settings, mail_server: FakeMailServer
) -> None:
    host, port = mail_server.server_address[:2]
    platform = _platform(migrated, f"smtp+insecure://{host}:{port}")
    try:
        _, page = _reset_link(platform)
    finally:
        platform.close()
    link = page.split('id="reset-link">')[1].split("<")[0]
    assert 'id="mailed"' in page
    assert "member@acme.cn" in page
    [(sender, recipients, message)] = mail_server.mails
    assert (sender, recipients) == ("noreply@ts.cn", ["member@acme.cn"])
    assert message["To"] == "member@acme.cn"
    body = message.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert body.count(link) == 2  # in zh-CN and in English


def test_starttls_is_required_on_smtp_and_the_link_is_still_shown(
    migrated: Settings, mail_server: FakeMailServer
) -> None:
    host, port = mail_server.server_address[:2]
    platform = _platform(migrated, f"smtp://{host}:{port}")
    try:
        _, page = _reset_link(platform)
    finally:
        platform.close()
    assert ('id="reset-link">' in page and "could not be sent" in page) or "发送失败" in page
    # The server offered no STARTTLS: the client stopped before any address or data.
    assert mail_server.mails == []
    assert "MAIL" not in mail_server.commands
    assert "DATA" not in mail_server.commands


def test_the_cli_mails_invitations_and_reset_links(
    tmp_path: Path, database_url: str, mail_server: FakeMailServer
) -> None:
    host, port = mail_server.server_address[:2]
    cli = Cli(tmp_path / "var", database_url)
    cli.env["TRACESEAL_CONSOLE_SMTP_URL"] = f"smtp+insecure://{host}:{port}"
    cli.env["TRACESEAL_CONSOLE_MAIL_FROM"] = "noreply@ts.cn"
    _run(cli, "init")
    _run(cli, "orgs", "create", "--name", "Acme", "--role", "enterprise")
    invited = json.loads(
        _run(cli, "users", "create", "--org", "Acme", "--email", "Wu@Acme.cn", "--json")
    )
    reset = json.loads(_run(cli, "users", "reset-link", "wu@acme.cn", "--json"))
    assert invited["mailed"] == reset["mailed"] == "sent"
    subjects = [m["Subject"] for _, to, m in mail_server.mails if to == ["wu@acme.cn"]]
    assert len(subjects) == 2
    assert "邀请" in subjects[0]
    assert "重置" in subjects[1]
    bodies = [m.get_payload(decode=True).decode() for _, _, m in mail_server.mails]
    assert invited["link"] in bodies[0]
    assert reset["link"] in bodies[1]
