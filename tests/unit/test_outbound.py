"""Which addresses the outbound client refuses, by class of address."""

from __future__ import annotations

import doctest

import pytest

from traceseal import outbound
from traceseal.outbound import Policy, Refused, check_url, refusal


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "100.64.0.1",  # CGNAT
        "169.254.169.254",  # cloud metadata
        "224.0.0.1",
        "0.0.0.0",  # noqa: S104 - what is refused
        "240.0.0.1",
        "::1",
        "fd00::1",  # unique local
        "fe80::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:169.254.169.254",
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "::",
    ],
)
def test_internal_addresses_are_refused(address: str) -> None:
    assert refusal(address) is not None
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(Refused):
        check_url(f"https://{host}/hook")


@pytest.mark.parametrize(
    ("host", "why"),
    [
        # The old numeric forms of IPv4 that resolvers read as addresses (inet_aton).
        ("127.1", "loopback"),
        ("2130706433", "loopback"),
        ("0x7f000001", "loopback"),
        ("0177.0.0.1", "loopback"),
        ("10.1", "private"),
        ("0xa9.254.169.254", "link-local"),
        ("127.0.0.1.", "loopback"),  # a trailing dot is still the address
        # RFC 6761: localhost names are this machine whatever DNS says.
        ("localhost", "this machine"),
        ("LOCALHOST.", "this machine"),
        ("api.localhost", "this machine"),
        # A number where the last label should be a name, but no address either.
        ("999.1.1.1", "neither"),
        ("hooks.example.123", "neither"),
    ],
)
def test_hosts_that_are_internal_addresses_in_disguise_are_refused_when_set(
    host: str, why: str
) -> None:
    with pytest.raises(Refused, match=why):
        check_url(f"https://{host}/hook")
    with pytest.raises(Refused, match=why):  # and again when called, before any resolver
        outbound.post(f"https://{host}/hook", b"{}", {}, timeout=1, resolver=_unreachable)


def _unreachable(host: str, port: int) -> list[str]:
    raise AssertionError(f"{host} was resolved")


def test_names_and_public_numbers_wait_for_resolution() -> None:
    assert check_url("https://hooks.example.org/x") == "https://hooks.example.org/x"
    assert check_url("https://localhost.example.org/x")  # only the localhost TLD is refused
    assert check_url("https://1.1/x")  # 1.0.0.1
    # A development set-up may call this machine by name.
    assert check_url("http://localhost:8080/x", Policy(allow_private=True))


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert refusal(address) is None


def test_urls_must_be_https_unless_private_targets_are_allowed() -> None:
    with pytest.raises(Refused, match="https"):
        check_url("http://hooks.example.org/x")
    with pytest.raises(Refused):
        check_url("https://user:pass@hooks.example.org/x")
    assert check_url("http://127.0.0.1:9/x", Policy(allow_private=True))
    assert check_url("https://hooks.example.org/x") == "https://hooks.example.org/x"


@pytest.mark.parametrize(
    "url", ["https://[::1/x", "https://hooks.example.org:port/x", "https://h.example:99999/x"]
)
def test_urls_that_cannot_be_read_are_refused_not_raised(url: str) -> None:
    """urlsplit raises ValueError for these: a refusal (a 4xx), never a server error."""
    with pytest.raises(Refused, match="cannot be read"):
        check_url(url)


def test_a_name_that_resolves_inside_is_refused_before_connecting() -> None:
    # The name passes at registration; at delivery it resolves to the metadata service.
    resolved: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        resolved.append(host)
        return ["169.254.169.254"]

    with pytest.raises(Refused, match=r"169\.254\.169\.254"):
        outbound.post("https://hooks.example.org/x", b"{}", {}, timeout=1, resolver=rebinding)
    assert resolved == ["hooks.example.org"]


def test_examples() -> None:
    assert doctest.testmod(outbound).failed == 0
