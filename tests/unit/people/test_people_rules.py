"""The pure rules of people/: sign-in names, the back-off schedule, reset-link paths."""

from __future__ import annotations

import doctest

import pytest

from traceseal.console.deps import safe_next
from traceseal.people import service, throttle
from traceseal.people.throttle import Policy


def test_the_examples_in_the_docstrings_hold() -> None:
    for module in (service, throttle):
        assert doctest.testmod(module).failed == 0


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Li.Wei@Example.CN", "li.wei@example.cn"),
        ("+86 138-0013-8000", "8613800138000"),
        ("13800138000", "8613800138000"),
        ("+44 20 7946 0958", "442079460958"),
    ],
)
def test_sign_in_names_are_stored_in_one_form(typed: str, stored: str) -> None:
    assert service.normalise_login(typed) == stored


def test_back_off_doubles_then_locks() -> None:
    policy = Policy(backoff_after=3, threshold=10, lockout_seconds=900)
    waits = [policy.block_for(n) for n in range(1, 11)]
    assert waits == [0, 0, 1, 2, 4, 8, 16, 32, 64, 900]
    # An address has five times the allowance of one name.
    assert policy.block_for(14, throttle.ADDRESS_FACTOR) == 0
    assert policy.block_for(50, throttle.ADDRESS_FACTOR) == 900
    # Never longer than the lockout itself.
    assert Policy(3, 100, 60).block_for(90) == 60


@pytest.mark.parametrize(
    ("asked", "goes"),
    [
        ("/console/audit?action=person", "/console/audit?action=person"),
        ("https://evil.example/console", "/console"),
        ("//evil.example/console", "/console"),
        ("/console/..//evil.example", "/console"),
        ("/\\evil.example", "/console"),
        ("/verify", "/console"),
        (None, "/console"),
    ],
)
def test_after_sign_in_only_console_paths_of_this_site(asked: str | None, goes: str) -> None:
    assert safe_next(asked) == goes


def test_production_hashes_use_rfc_9106s_second_profile() -> None:
    """argon2id, 64 MiB, 3 passes, 4 lanes: what the platform signs people in with (the
    tests' own processes use a cheaper hasher: tests/conftest.py)."""
    from traceseal.people.passwords import PRODUCTION

    made = PRODUCTION.hash("correct horse battery")
    assert made.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PRODUCTION.verify(made, "correct horse battery")
