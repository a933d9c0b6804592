"""The one way TraceSeal calls other servers on a tenant's behalf (webhooks; later
subscriptions), so a URL a tenant supplies can never reach inside the platform's network.

A tenant's URL must be ``https`` and must name a public address: loopback, private
(RFC 1918), shared (CGNAT, 100.64/10), link-local (169.254/16, the cloud metadata service
among them), multicast, unspecified and reserved addresses are refused, and so are IPv6's
loopback, unique-local, link-local and the IPv6 forms that carry an IPv4 address
(IPv4-mapped, NAT64). A host written as an address in any form a resolver reads (``127.1``,
``2130706433``, ``0x7f000001``) is that address, and ``localhost`` names are this machine
(RFC 6761), so these are refused when the URL is registered. Every host is checked again for
every request, on the addresses DNS gives at that moment; the connection then goes to the
address that was checked, so a name that resolves differently a second later (DNS
rebinding) changes nothing. Redirects are never followed: a 3xx is a failed delivery.

``TRACESEAL_OUTBOUND_ALLOW_PRIVATE=1`` (development and tests only) lets tenants' URLs be
``http`` and point at loopback and private addresses. Endpoints the operator configures in
settings (an SMS provider, the WeChat API) are trusted as given: ``Policy(trusted=True)``.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["Policy", "Refused", "check_url", "post", "refusal", "request"]

#: What ``socket.getaddrinfo`` is to this module (tests pass their own resolver).
Resolver = Callable[[str, int], list[str]]
#: Answers are read up to this many bytes: a webhook's answer is its status, a provider's
#: a short JSON document.
MAX_RESPONSE = 64 * 1024

_SHARED = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598 carrier-grade NAT
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class Refused(ValueError):
    """A URL or address this module will not call; the message says why, for a person."""


@dataclass(frozen=True, slots=True)
class Policy:
    #: Tenants' URLs may be http and loopback or private (TRACESEAL_OUTBOUND_ALLOW_PRIVATE).
    allow_private: bool = False
    #: An endpoint the operator configured: called as given.
    trusted: bool = False


def refusal(address: str) -> str | None:
    """Why ``address`` is not a public one, or None if it is.

    >>> refusal("169.254.169.254"), refusal("::ffff:127.0.0.1"), refusal("93.184.216.34")
    ('a link-local address', 'a loopback address', None)
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if inner is None and ip in _NAT64:
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None:
            return refusal(str(inner))
    checks = (
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_unspecified, "an unspecified address"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED, "a shared (CGNAT) address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "not a public address"),
    )
    return next((why for hit, why in checks if hit), None)


def check_url(url: str, policy: Policy = Policy()) -> str:
    """``url`` if this module would call it, else :class:`Refused`. Hosts given as names
    are checked when called (their addresses may change); addresses, and the ``localhost``
    names, are checked now.

    >>> check_url("https://127.1/hook")
    Traceback (most recent call last):
    ...
    traceseal.outbound.Refused: 127.1 is a loopback address: only public addresses may be called
    """
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise Refused("the URL cannot be read (a bracket or port out of place)") from None
    permissive = policy.allow_private or policy.trusted
    allowed = ("https", "http") if permissive else ("https",)
    host = parts.hostname
    if parts.scheme not in allowed or not host:
        need = "an https:// URL" if allowed == ("https",) else "an http:// or https:// URL"
        raise Refused(f"the URL must be {need} with a host")
    if parts.username or parts.password:
        raise Refused("the URL must not carry a user name or password")
    address = _host_address(host)
    if address is None:
        name = host.rstrip(".")
        if not permissive and (name == "localhost" or name.endswith(".localhost")):
            # RFC 6761, section 6.3: these names are this machine, whatever DNS says.
            raise Refused(f"{host} names this machine: only public addresses may be called")
        return url.strip()
    why = None if permissive else refusal(address)
    if why:
        raise Refused(f"{host} is {why}: only public addresses may be called")
    return url.strip()


#: The last label of a host that is a number: the host is an IPv4 address (the WHATWG URL
#: standard's "ends in a number"), in whatever form the C resolver accepts.
_NUMBER = re.compile(r"(?:[0-9]+|0[xX][0-9a-fA-F]*)")


def _host_address(host: str) -> str | None:
    """The address ``host`` is, or None for a name. Resolvers read the old numeric forms of
    IPv4 (``127.1``, ``2130706433``, ``0x7f000001``, ``0177.0.0.1``: inet_aton) as
    addresses, so a URL's host in any of them is the address they read, not a name whose
    check could wait until it is called."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    name = host.rstrip(".")
    if not _NUMBER.fullmatch(name.rsplit(".", 1)[-1]):
        return None
    try:
        return str(ipaddress.IPv4Address(socket.inet_aton(name)))
    except OSError:
        raise Refused(f"{host} is neither a host name nor an IPv4 address") from None


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _addresses(host: str, port: int, policy: Policy, resolver: Resolver) -> list[str]:
    try:
        addresses = resolver(host, port)
    except OSError as exc:
        raise Refused(f"{host} does not resolve: {exc}") from None
    if not addresses:
        raise Refused(f"{host} does not resolve")
    if not (policy.allow_private or policy.trusted):
        for address in addresses:
            why = refusal(address)
            if why:
                raise Refused(f"{host} resolves to {address}, {why}: refused")
    return addresses


class _Pinned(http.client.HTTPConnection):
    """An HTTP connection to one checked address, whatever the host's name resolves to now."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedTLS(http.client.HTTPSConnection):
    """HTTPS to one checked address; the certificate is still checked against the name."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)  # type: ignore[attr-defined]  # HTTPSConnection keeps its context there


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float,
    policy: Policy = Policy(),
    resolver: Resolver = _resolve,
) -> int:
    """POST ``body`` to ``url`` under ``policy``; the answer's status (never a redirect's
    target). Raises :class:`Refused` for a URL or address it will not call, OSError for a
    network failure."""
    status, _ = request(
        "POST", url, body, headers, timeout=timeout, policy=policy, resolver=resolver
    )
    return status


def request(
    method: str,
    url: str,
    body: bytes | None,
    headers: Mapping[str, str],
    *,
    timeout: float,
    policy: Policy = Policy(),
    resolver: Resolver = _resolve,
) -> tuple[int, bytes]:
    """One request under ``policy``: the answer's status and up to MAX_RESPONSE bytes of its
    body (a provider's JSON answer). Redirects are answers like any other, never followed."""
    parts = urlsplit(check_url(url, policy))
    host = parts.hostname or ""
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    address = _addresses(host, port, policy, resolver)[0]
    kind = _PinnedTLS if tls else _Pinned
    connection = kind(host, port, address, timeout)
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request(method, target, body=body, headers=dict(headers))
        response = connection.getresponse()
        return response.status, response.read(MAX_RESPONSE)
    finally:
        connection.close()
