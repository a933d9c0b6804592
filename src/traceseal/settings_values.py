"""Values of settings that need more than ``int()``: the witnesses, client networks and
local host names, and the error every setting raises. Pure: no environment, no I/O.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from traceseal.merkle.note import ALG_COSIGNATURE_V1, NoteError, Verifier

__all__ = [
    "MAX_WITNESSES",
    "PARSERS",
    "IPNetwork",
    "SettingsError",
    "check_channels",
    "check_values",
    "is_local_host",
    "parse_networks",
    "parse_witnesses",
]


def _parse_int(raw: str) -> int:
    return int(raw.replace("_", ""))


#: How an environment variable's text becomes a setting's value, by the field's type.
PARSERS: dict[str, Callable[[str], Any]] = {
    "Path": Path,
    "Path | None": lambda raw: Path(raw) if raw else None,
    "int": _parse_int,
    "str": str,
}


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the variable."""


#: A checkpoint note carries at most 100 signatures: the log's and its witnesses'.
MAX_WITNESSES = 50
_WITNESS = re.compile(r"(?P<vkey>[^\s=]+(?:=[^\s=]+)*?)=(?P<url>https?://\S+)")


def parse_witnesses(raw: str) -> tuple[tuple[Verifier, str], ...]:
    """``<vkey>=<url>,...`` as ``(verifier, url)`` pairs; raises SettingsError if malformed.

    >>> vkey = "w.example/1+e849ce28+BCbCNi8XF+hTl5PvEc3ccVSTIbsM2mrCRiDkggnVuv/3"
    >>> [(v.name, url) for v, url in parse_witnesses(vkey + "=https://w.example/1/")]
    [('w.example/1', 'https://w.example/1')]
    """
    name = "TRACESEAL_LEDGER_WITNESSES"
    witnesses: list[tuple[Verifier, str]] = []
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        match = _WITNESS.fullmatch(entry)
        if match is None:
            raise SettingsError(f"{name}: {entry!r} is not <witness verifier key>=<http(s) URL>")
        try:
            verifier = Verifier.parse(match["vkey"])
        except NoteError as exc:
            raise SettingsError(f"{name}: {exc}") from exc
        if verifier.algorithm != ALG_COSIGNATURE_V1:
            raise SettingsError(f"{name}: {verifier.name} is not a cosignature key (type 0x04)")
        if any(known == verifier for known, _ in witnesses):
            raise SettingsError(f"{name}: the witness {verifier.name} is listed twice")
        witnesses.append((verifier, match["url"].rstrip("/")))
    if len(witnesses) > MAX_WITNESSES:
        raise SettingsError(f"{name}: at most {MAX_WITNESSES} witnesses")
    return tuple(witnesses)


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(raw: str) -> tuple[IPNetwork, ...]:
    """``10.0.0.0/8, ::1/128`` as networks; raises SettingsError if one does not parse.

    >>> parse_networks("127.0.0.0/8,::1")
    (IPv4Network('127.0.0.0/8'), IPv6Network('::1/128'))
    """
    try:
        return tuple(ipaddress.ip_network(part.strip()) for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise SettingsError(f"TRACESEAL_METRICS_NETWORKS: {exc}") from exc


def is_local_host(host: str) -> bool:
    """Whether ``host`` reaches this machine only: ``localhost`` or a loopback or unspecified
    address (127.0.0.0/8, ::1, 0.0.0.0).

    >>> is_local_host("127.0.0.1"), is_local_host("localhost"), is_local_host("verify.example.org")
    (True, True, False)
    """
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


_AES_KEY = re.compile(r"[A-Za-z0-9]{43}")


def check_channels(sms_provider: str, wechat_aes_key: str, urls: dict[str, str]) -> None:
    """The channels' settings (docs/channels.md); ``urls`` by setting name, lower case."""
    if sms_provider not in ("none", "aliyun", "tencent"):
        raise SettingsError("TRACESEAL_SMS_PROVIDER must be none, aliyun or tencent")
    if wechat_aes_key and not _AES_KEY.fullmatch(wechat_aes_key):
        raise SettingsError(
            "TRACESEAL_WECHAT_AES_KEY must be the 43 letters and digits of the EncodingAESKey"
        )
    for name, value in urls.items():
        if value and not value.startswith(("http://", "https://")):
            raise SettingsError(f"TRACESEAL_{name.upper()} must start with http:// or https://")


def check_values(settings: Any) -> None:
    """The checks of a ``config.Settings`` beyond each field's own kind (load_settings)."""
    if not 1 <= settings.slot_capacity <= 10**16:
        raise SettingsError("TRACESEAL_SLOT_CAPACITY must be between 1 and 10^16")
    if not 4 <= settings.pin_digits <= 12:
        raise SettingsError("TRACESEAL_PIN_DIGITS must be between 4 and 12")
    if settings.public_url.endswith("/"):
        raise SettingsError("TRACESEAL_PUBLIC_URL must not end with a slash")
    if not settings.public_url.startswith(("http://", "https://")):
        raise SettingsError("TRACESEAL_PUBLIC_URL must start with http:// or https://")
    if any(ch.isspace() or ch == "+" for ch in settings.ledger_origin):
        raise SettingsError("TRACESEAL_LEDGER_ORIGIN must not contain spaces or '+'")
    parse_witnesses(settings.ledger_witnesses)
    if settings.console_smtp_url:
        scheme = urlsplit(settings.console_smtp_url).scheme
        if scheme not in ("smtps", "smtp", "smtp+insecure"):
            raise SettingsError(
                "TRACESEAL_CONSOLE_SMTP_URL must start with smtps://, smtp:// or smtp+insecure://"
            )
        if "@" not in settings.console_mail_from:
            raise SettingsError("TRACESEAL_CONSOLE_MAIL_FROM must be an email address")
    if not re.fullmatch(r"[+-](0\d|1[0-4]):[0-5]\d", settings.epcis_schedule_utc_offset):
        raise SettingsError("TRACESEAL_EPCIS_SCHEDULE_UTC_OFFSET must be a UTC offset like +08:00")
    if settings.analytics_min_cell < 1:
        raise SettingsError("TRACESEAL_ANALYTICS_MIN_CELL must be positive (1: show every count)")
    if not 1 <= settings.scan_partitions_ahead <= 24:
        raise SettingsError("TRACESEAL_SCAN_PARTITIONS_AHEAD must be between 1 and 24")
    if not 1 <= settings.risk_threshold <= 100:
        raise SettingsError("TRACESEAL_RISK_THRESHOLD must be between 1 and 100")
    check_channels(
        settings.sms_provider,
        settings.wechat_aes_key,
        {name: getattr(settings, name) for name in ("sms_endpoint", "wechat_api_base")},
    )
    parse_networks(settings.metrics_networks)
