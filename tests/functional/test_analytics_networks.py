"""Answers per client network (verify/networks.py, analytics/networks.py): counted in
memory on the answer's path, added to the table by each process's writer, and read back
by the operator as the networks that guess codes, beside the platform's own rates."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.conftest import Platform, Tenant
from tests.functional.conftest import issue
from traceseal.crypto import damm
from traceseal.db import unit_of_work
from traceseal.orgs.models import Role
from traceseal.verify.networks import NetworkDay, NetworkTally, network_of

NETWORKS = "/api/v1/analytics/networks"


def _from(platform: Platform, ip: str) -> TestClient:
    return TestClient(platform.app, raise_server_exceptions=False, client=(ip, 40000))


def _made_up(n: int) -> str:
    body = "999" + f"{n:016d}"
    return body + str(damm.check_digit(body))


def _typo(code: str) -> str:
    return code[:7] + str((int(code[7]) + 1) % 10) + code[8:]


def test_a_guessing_network_stands_out_and_only_the_operator_sees_it(
    platform: Platform, acme: Tenant
) -> None:
    codes = issue(platform, acme, 12)
    # One /24, three addresses, each under the failure limit of an address (5 in tests).
    guesser = [_from(platform, f"203.0.113.{i}") for i in (7, 8, 9)]
    shoppers = _from(platform, "198.51.100.20")
    for i in range(6):
        client = guesser[i % 3]
        assert client.post("/api/v1/verify", json={"code": _made_up(i)}).json()["verdict"] == (
            "not_found"
        )
        assert client.post("/api/v1/verify", json={"code": _typo(codes[i])}).status_code == 200
    for code in codes[:10]:
        assert shoppers.post("/api/v1/verify", json={"code": code}).json()["verdict"] == "genuine"
    # Nothing is written on the answers' path; the writer adds the process's counts.
    with unit_of_work(platform.session_factory) as session:
        assert session.scalar(select(func.count()).select_from(NetworkDay)) == 0
    assert platform.app.state.verifier.networks.write(platform.session_factory) == 2

    operator = platform.operator
    answer = platform.client.get(NETWORKS, params={"min_answers": 5}, headers=operator.auth)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["overall"] == {
        "network": "",
        "region": "",
        "answers": 22,
        "not_found": 6,
        "mistyped": 6,
        "failure_rate": round(12 / 22, 6),
    }
    first, second = body["networks"]
    assert (first["answers"], first["not_found"], first["mistyped"]) == (12, 6, 6)
    assert first["failure_rate"] == 1.0
    assert (second["answers"], second["not_found"], second["mistyped"]) == (10, 0, 0)
    assert len(first["network"]) == 12
    assert first["network"] != second["network"]
    # No address in the table: only keyed hashes of the networks.
    with unit_of_work(platform.session_factory) as session:
        stored = set(session.scalars(select(NetworkDay.network)))
    assert not any("203.0" in value or "198.51" in value for value in stored)
    # By default a network needs 20 answers to be judged: these are too few.
    assert platform.client.get(NETWORKS, headers=operator.auth).json()["networks"] == []

    for who in (acme, platform.org("Reg", Role.REGULATOR)):
        refused = platform.client.get(NETWORKS, headers=who.auth)
        assert refused.status_code == 403, refused.text


def test_writes_from_several_processes_add_up_and_keep_a_known_region(
    platform: Platform,
) -> None:
    at = datetime(2026, 12, 1, 4, tzinfo=UTC)
    one, two = NetworkTally(), NetworkTally()
    for _ in range(3):
        one.note("a" * 32, "440300", "not_found", at)
    two.note("a" * 32, None, "genuine", at)
    two.note("b" * 32, None, "mistyped", at)
    assert one.write(platform.session_factory) == 1
    assert two.write(platform.session_factory) == 2
    assert one.write(platform.session_factory) == 0  # nothing new
    with unit_of_work(platform.session_factory) as session:
        rows = {
            row.network[0]: (row.region, row.answers, row.not_found, row.mistyped)
            for row in session.scalars(select(NetworkDay))
        }
    assert rows == {"a": ("440300", 4, 3, 0), "b": ("", 1, 0, 1)}


def test_a_network_is_an_ipv4_slash_24_or_an_ipv6_slash_48() -> None:
    assert network_of("203.0.113.9") == "203.0.113.0/24"
    assert network_of("2001:db8:1234:5678::1") == "2001:db8:1234::/48"
    assert network_of("testclient") is None
    assert network_of(None) is None
