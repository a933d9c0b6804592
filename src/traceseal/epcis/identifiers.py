"""GS1 identifiers as EPCIS 2.0 carries them: EPC URNs and GS1 Digital Link URIs.

Two spellings name the same object in EPCIS 2.0 events: the EPC pure identity URN of the
GS1 EPC Tag Data Standard (``urn:epc:id:sgtin:0614141.107346.2017``) and the GS1 Digital
Link URI (``https://id.gs1.org/01/10614141073464/21/2017``, on any host). This module
converts both to the one form the CBV 2.0 event hash ID uses, validates them, and pulls
the GTIN and serial out of an SGTIN whichever way it is written.

Why this is written here rather than taken from a library: the maintained Tag Data
Standard library on PyPI (epcpy) translates URNs to element strings but emits no Digital
Link URI, and neither it nor biip produces the *constrained* canonical form the CBV 2.0
event hash ID asks for (the finest key level only, a GLN extension of ``0`` dropped, query
string dropped, host re-rooted, GTIN padded). The hash runs once per captured event on
every identifier in it, so the conversion also has to stay a few microseconds long.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from traceseal.epcis.gs1keys import (
    _DL_KEYS,
    _QUALIFIER_FORMATS,
    _SHORT_NAMES,
    _cached_check_digit,
    _check_charset,
    _check_key_digits,
    _check_length,
    _finest,
    _in_order,
    _Key,
    _Malformed,
    _Part,
    _percent_decode,
    check_digit,
)

__all__ = ["check_identifier", "gtin_serial", "to_digital_link"]

CANONICAL_ROOT = "https://id.gs1.org"

# Characters an EPC URN may carry unescaped (Tag Data Standard: the URN form of the
# GS1 AI character set escapes " % & / < > ? and nothing else is mandatory).
_URN_COMPONENT = re.compile(r"(?:[A-Za-z0-9\-_.:;=!'()*+,]|%[0-9A-Fa-f]{2})*")
# Characters left unescaped in the canonical Digital Link. This is the set the CBV 2.0
# reference implementation produces for EPC URN input (all other CSET 82 characters are
# percent-encoded), so our hashes agree with it for every serial a URN can hold.
_DL_ESCAPE = re.compile(r"[^A-Za-z0-9'\-.;=_]")
# What RFC 3986 allows in a path segment: these characters raw, anything else escaped.
_DL_SEGMENT = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})+")
# Fast paths for what events mostly carry: plain SGTIN, SSCC, SGLN, PGLN, LGTIN and GRAI
# URNs, and Digital Links on any host whose path is a GTIN, SSCC or GLN key with at most its
# serial, lot or extension, none of which need escaping. Each accepts a strict subset of
# what the general path accepts and gives the same answer (property tests hold them to
# that); everything else, every error included, takes the general path. [0-9], not \d:
# the general path rejects digits outside ASCII. Any host will do, as the general path
# skips it; an uppercase scheme is rare enough to leave to the general path.
_SAFE = r"[A-Za-z0-9'\-.;=_]"
_FAST_URN = re.compile(
    r"urn:epc:(id:sgtin|id:sscc|id:sgln|id:pgln|id:grai|class:lgtin):([0-9]{6,12})\."
    rf"([0-9]{{0,11}})(?:\.({_SAFE}{{1,20}}))?"
)
_FAST_DL = re.compile(  # group 1: the canonical path, already in canonical form
    rf"https?://[^/]*(/(?:01/[0-9]{{14}}(?:/(?:21|10)/{_SAFE}{{1,20}})?|00/[0-9]{{18}}"
    rf"|417/[0-9]{{13}}|414/[0-9]{{13}}(?:/254/{_SAFE}{{1,20}})?))/?(?:[?#].*)?",
    re.DOTALL,
)


class _Scheme(NamedTuple):
    ai: str
    digits: int  # company prefix + reference digits; 0 means a variable reference
    layout: str  # "plain", "indicator" (first reference digit leads), "grai" ("0" leads)
    tail: tuple[_Part, ...]
    pattern_key: bool  # an idpat with its last part "*" names a Digital Link key
    ref_kind: str = "X"  # charset of a variable reference


_SERIAL20 = _Part("21", "X", 20)
_SCHEMES: dict[str, _Scheme] = {
    "sgtin": _Scheme("01", 13, "indicator", (_SERIAL20,), True),
    "sscc": _Scheme("00", 17, "indicator", (), False),
    "sgln": _Scheme("414", 12, "plain", (_Part("254", "X", 20),), False),
    "grai": _Scheme("8003", 12, "grai", (_Part("", "X", 16),), True),
    "giai": _Scheme("8004", 0, "plain", (), False),
    "gsrn": _Scheme("8018", 17, "plain", (), False),
    "gsrnp": _Scheme("8017", 17, "plain", (), False),
    "gdti": _Scheme("253", 12, "plain", (_Part("", "X", 17),), True),
    "cpi": _Scheme("8010", 0, "plain", (_Part("8011", "N", 12),), True, "Y"),
    "sgcn": _Scheme("255", 12, "plain", (_Part("", "N", 12),), True),
    "ginc": _Scheme("401", 0, "plain", (), False),
    "gsin": _Scheme("402", 16, "plain", (), False),
    "itip": _Scheme("8006", 13, "indicator", (_Part("", "N", 2, 2),) * 2 + (_SERIAL20,), True),
    "upui": _Scheme("01", 13, "indicator", (_Part("235", "X", 28),), True),
    "pgln": _Scheme("417", 12, "plain", (), False),
}
_CLASS_SCHEMES: dict[str, _Scheme] = {
    "lgtin": _Scheme("01", 13, "indicator", (_Part("10", "X", 20),), False),
}
_FAST_URN_SCHEMES = {  # scheme: (_Scheme, what joins its last part to the key in the link)
    "id:sgtin": (_SCHEMES["sgtin"], "/21/"),
    "id:sscc": (_SCHEMES["sscc"], ""),
    "id:sgln": (_SCHEMES["sgln"], "/254/"),
    "id:pgln": (_SCHEMES["pgln"], ""),
    "id:grai": (_SCHEMES["grai"], ""),  # the serial is part of the key
    "class:lgtin": (_CLASS_SCHEMES["lgtin"], "/10/"),
}
# EPC schemes of the Tag Data Standard that are not GS1 keys and have no Digital Link
# form; they are valid in events and stay URNs. Values: number of '.'-separated parts.
_OTHER_SCHEMES = {"gid": 3, "usdod": 2, "adi": 3, "bic": 1, "imovn": 1}


def to_digital_link(value: str) -> str:
    """Return the canonical Digital Link URI CBV 2.0 hashes for ``value``, else ``value``.

    EPC URNs (``urn:epc:id:``, ``urn:epc:class:lgtin:``, and the ``urn:epc:idpat:``
    class patterns) and Digital Link URIs on any host become
    ``https://id.gs1.org/{AI}/{key}[/{AI}/{qualifier}]`` with only the finest key level
    CBV 2.0 keeps (serial over lot, CPV and query dropped, SGLN extension ``0`` dropped),
    GTINs padded to 14 digits and values percent-encoded in one canonical way. Anything
    else, including malformed identifiers, comes back unchanged: the caller validates
    with :func:`check_identifier` (a bad check digit alone does not stop conversion).

    >>> to_digital_link("urn:epc:id:sgln:0614141.07346.1234")
    'https://id.gs1.org/414/0614141073467/254/1234'
    >>> to_digital_link("https://example.com/01/614141073467/10/L1/21/7?17=260101")
    'https://id.gs1.org/01/00614141073467/21/7'
    """
    if value.startswith("urn:epc:"):
        urn = _fast_urn(value)
        if urn is None:
            return _general_link(value)
        name, prefix, reference, tail = urn
        if name == "id:sscc":  # new on every pallet, so not worth caching (see _key_link)
            body = reference[:1] + prefix + reference[1:]
            return f"{CANONICAL_ROOT}/00/{body}{check_digit(body)}"
        link, joiner = _key_link(name, prefix, reference)
        # Tag Data Standard, SGLN: a GLN without extension is written with extension "0".
        if tail is None or (name == "id:sgln" and tail == "0"):
            return link
        return link + joiner + tail
    match = _FAST_DL.fullmatch(value)
    return _general_link(value) if match is None else CANONICAL_ROOT + match[1]


#: :func:`to_digital_link` with a memory. Capture converts each identifier three times: to
#: check it, for the event hash and for the index; and an aggregation names the items its
#: object event has just named.
digital_link = lru_cache(maxsize=1 << 17)(to_digital_link)


def check_identifier(value: str) -> str | None:
    """Return why ``value`` is a malformed GS1 identifier, or None.

    A value claims to be a GS1 identifier when it is an ``urn:epc:`` URN or an http(s)
    URI whose path holds a Digital Link primary key AI (``/01/``, ``/00/``, ``/414/``...).
    Claims are checked for lengths, digits, character sets, check digits and qualifier
    order; other values (``urn:uuid:...``, private URLs) are not identifiers and pass.

    >>> check_identifier("https://id.gs1.org/01/10614141073465/21/2017")
    'GTIN 10614141073465: check digit should be 4'
    >>> check_identifier("urn:uuid:2a8f7c3e-2f0c-4b59-9d0e-5f2d5bb4b7a1") is None
    True
    """
    if value.startswith("urn:epc:"):
        # A URN carries no check digit to get wrong: it is valid exactly when it converts
        # (to_digital_link returns a malformed URN unchanged). The conversion is remembered
        # for the event hash and the index, which need it next.
        if digital_link(value) != value:
            return None
    else:
        match = _FAST_DL.fullmatch(value)
        if match is not None:
            key = match[1].split("/", 3)[2]  # "/AI/key[/AI/value]"
            digit = (_cached_check_digit if len(key) < 18 else check_digit)(key[:-1])
            if key[-1] == digit:
                return None
    return _general_check(value)


def gtin_serial(value: str) -> tuple[str, str] | None:
    """Return ``(gtin14, serial)`` for a valid SGTIN in either spelling, else None.

    The serial is returned decoded (``%2F`` in either form becomes ``/``), so a URN and
    the Digital Link of the same item give the same pair.

    >>> gtin_serial("urn:epc:id:sgtin:0614141.107346.2017")
    ('10614141073464', '2017')
    >>> gtin_serial("https://brand.example/01/10614141073464/21/2017")
    ('10614141073464', '2017')
    """
    try:
        if value.startswith("urn:epc:id:sgtin:"):
            key = _parse_urn(value)
        elif _is_http(value):
            key = _parse_dl(value, claim_only=False)
            if key is not None:
                _check_key_digits(key)
        else:
            return None
    except _Malformed:
        return None
    if key is None or key.ai != "01":
        return None
    serials = [text for ai, text in key.qualifiers if ai == "21"]
    return (key.value, serials[0]) if serials else None


# --- fast and general paths -----------------------------------------------------------


def _fast_urn(value: str) -> tuple[str, str, str, str | None] | None:
    """``(scheme, prefix, reference, last part)`` of a plain SGTIN, SSCC, SGLN, PGLN, LGTIN
    or GRAI URN, else None."""
    match = _FAST_URN.fullmatch(value)
    if match is None:
        return None
    name, prefix, reference, tail = match.groups()
    scheme = _FAST_URN_SCHEMES[name][0]
    if len(prefix) + len(reference) != scheme.digits or len(scheme.tail) != (tail is not None):
        return None
    if tail is not None and len(tail) > scheme.tail[0].longest:
        return None
    return name, prefix, reference, tail


@lru_cache(maxsize=4096)
def _key_link(name: str, prefix: str, reference: str) -> tuple[str, str]:
    """The canonical link of the key alone of a URN :func:`_fast_urn` takes, and what joins
    the URN's last part to it."""
    scheme, joiner = _FAST_URN_SCHEMES[name]
    body = _key_body(scheme, prefix, reference)
    return f"{CANONICAL_ROOT}/{scheme.ai}/{body}{check_digit(body)}", joiner


# The general path: the answer for every input, which the fast paths must equal.


def _general_link(value: str) -> str:
    try:
        if value.startswith("urn:epc:"):
            key = _parse_urn(value)
        elif _is_http(value):
            key = _parse_dl(value, claim_only=False)
            if key is not None:
                key = _finest(key) if _DL_KEYS[key.ai].cbv else None
        else:
            return value
    except _Malformed:
        return value
    return value if key is None else _format(key)


def _general_check(value: str) -> str | None:
    try:
        if value.startswith("urn:epc:"):
            _parse_urn(value)
        elif _is_http(value):
            key = _parse_dl(value, claim_only=True)
            if key is not None:
                _check_key_digits(key)
    except _Malformed as error:
        return str(error)
    return None


# --- EPC URNs (GS1 EPC Tag Data Standard: pure identity and pattern URIs) ------------


def _parse_urn(value: str) -> _Key | None:
    """Parse an ``urn:epc:`` URN; None for a valid one that has no Digital Link form."""
    kind, _, rest = value[8:].partition(":")
    scheme_name, sep, body = rest.partition(":")
    if kind not in ("id", "class", "idpat"):
        raise _Malformed(f"{value}: EPCIS takes urn:epc:id, urn:epc:class or urn:epc:idpat URNs")
    if not sep:
        raise _Malformed(f"{value}: missing EPC scheme")
    scheme = (_CLASS_SCHEMES if kind == "class" else _SCHEMES).get(scheme_name)
    if scheme is None:
        if kind != "class" and scheme_name in _OTHER_SCHEMES:
            _check_other(value, body, _OTHER_SCHEMES[scheme_name], pattern=kind == "idpat")
            return None
        raise _Malformed(f"{value}: unknown EPC scheme {kind}:{scheme_name}")
    count = 2 + len(scheme.tail)
    parts = body.split(".", count - 1)
    if len(parts) != count:
        raise _Malformed(f"{value}: expected {count} parts separated by '.', found {len(parts)}")
    if kind == "idpat":
        return _parse_pattern(value, scheme, parts)
    return _build(value, scheme, parts)


def _build(where: str, scheme: _Scheme, parts: list[str]) -> _Key:
    """Turn the concrete parts of a URN into a key; ``parts`` may stop early (patterns)."""
    prefix, reference = parts[0], parts[1]
    _check_prefix(where, prefix)
    if scheme.digits:
        if reference and not (reference.isascii() and reference.isdigit()):
            raise _Malformed(f"{where}: reference {reference!r} must be digits")
        if len(prefix) + len(reference) != scheme.digits:
            raise _Malformed(
                f"{where}: company prefix and reference must have {scheme.digits} digits "
                f"together, not {len(prefix) + len(reference)}"
            )
        body = _key_body(scheme, prefix, reference)
        key = body + check_digit(body)
    else:
        text = _urn_decode(where, reference, scheme.ref_kind)
        if not text or len(prefix) + len(text) > 30:
            raise _Malformed(f"{where}: company prefix and reference must have 7 to 30 characters")
        key = prefix + text
    qualifiers: list[tuple[str, str]] = []
    for part, raw in zip(scheme.tail, parts[2:], strict=False):
        text = _urn_decode(where, raw, part.kind)
        _check_length(where, part, text)
        if part.ai:
            qualifiers.append((part.ai, text))
        else:
            key += text
    # Tag Data Standard, SGLN: a GLN without extension is written with extension "0".
    if scheme.ai == "414" and qualifiers and qualifiers[0][1] == "0":
        qualifiers.clear()
    return _Key(scheme.ai, key, tuple(qualifiers))


def _key_body(scheme: _Scheme, prefix: str, reference: str) -> str:
    if scheme.layout == "indicator":
        return reference[:1] + prefix + reference[1:]
    if scheme.layout == "grai":
        return "0" + prefix + reference
    return prefix + reference


def _parse_pattern(where: str, scheme: _Scheme, parts: list[str]) -> _Key | None:
    # EPC pattern URIs: concrete parts first, then only '*'. A pattern whose last part
    # alone is '*' names a class (a GTIN, a GRAI asset type...) with a Digital Link key.
    stars = [part == "*" for part in parts]
    concrete = stars.index(True) if True in stars else len(parts)
    if not all(stars[concrete:]):
        raise _Malformed(f"{where}: '*' may only stand for the trailing parts of a pattern")
    if concrete == 0:
        return None
    if concrete == 1:
        _check_prefix(where, parts[0])
        return None
    key = _build(where, scheme, parts[:concrete])
    if concrete == len(parts):
        return key
    return key if concrete == len(parts) - 1 and scheme.pattern_key else None


def _check_prefix(where: str, prefix: str) -> None:
    if not (6 <= len(prefix) <= 12 and prefix.isascii() and prefix.isdigit()):
        raise _Malformed(f"{where}: company prefix must be 6 to 12 digits, not {prefix!r}")


def _check_other(value: str, body: str, count: int, *, pattern: bool) -> None:
    parts = body.split(".")
    if len(parts) != count or not all(parts):
        raise _Malformed(f"{value}: expected {count} non-empty parts separated by '.'")
    for part in parts:
        if not (pattern and part == "*"):
            _urn_decode(value, part, "X")


def _urn_decode(where: str, raw: str, kind: str) -> str:
    if _URN_COMPONENT.fullmatch(raw) is None:
        bad = _URN_COMPONENT.sub("", raw)[:1] or "%"
        raise _Malformed(f"{where}: character {bad!r} in {raw!r} must be percent-encoded")
    text = _percent_decode(raw) if "%" in raw else raw
    _check_charset(where, text, kind)
    return text


# --- GS1 Digital Link URIs (GS1 Digital Link URI syntax 1.2+) ------------------------


def _is_http(value: str) -> bool:
    return value.startswith(("https://", "http://")) or value[:8].lower().startswith(
        ("https://", "http://")
    )


def _parse_dl(value: str, *, claim_only: bool) -> _Key | None:
    """Parse a Digital Link URI; None when ``value`` is no Digital Link at all.

    With ``claim_only`` only numeric primary key AIs make a claim (a short name such as
    ``/gtin/`` in some private URL is not taken for a malformed identifier).
    """
    path_start = value.find("/", value.find("://") + 3)
    if path_start < 0:
        return None
    path = value[path_start:]
    for stop in "?#":
        cut = path.find(stop)
        if cut >= 0:
            path = path[:cut]
    segments = path.split("/")[1:]
    if segments and not segments[-1]:
        segments.pop()  # one trailing slash is tolerated
    for index, segment in enumerate(segments[:-1]):
        if segment in _DL_KEYS:
            return _dl_key(value, segment, segments[index + 1 :])
        ai = None if claim_only else _SHORT_NAMES.get(segment)
        if ai in _DL_KEYS:
            try:
                return _dl_key(value, ai, segments[index + 1 :])
            except _Malformed:
                return None  # a short name that does not parse is an ordinary segment
    return None


def _dl_key(where: str, ai: str, segments: list[str]) -> _Key:
    spec = _DL_KEYS[ai]
    pairs = segments[1:]
    if len(pairs) % 2:
        raise _Malformed(f"{where}: the path after the key must be AI/value pairs")
    text = _dl_decode(where, segments[0])
    if spec.kind == "N":
        if ai == "01" and len(text) in (8, 12, 13):
            text = text.rjust(14, "0")  # CBV 2.0 writes every GTIN as a GTIN-14
        head, rest = text[: spec.length], text[spec.length :]
        if len(head) != spec.length or not (head.isascii() and head.isdigit()):
            if ai == "01":
                raise _Malformed(f"{where}: a GTIN has 8, 12, 13 or 14 digits")
            raise _Malformed(f"{where}: ({ai}) must start with {spec.length} digits")
        if ai == "8003" and head[0] != "0":
            raise _Malformed(f"{where}: a GRAI in (8003) starts with the digit 0")
        if ai == "8006" and not "01" <= head[14:16] <= head[16:]:
            raise _Malformed(f"{where}: piece {head[14:16]} of {head[16:]} is not valid")
        if rest:
            if spec.tail is None:
                raise _Malformed(f"{where}: ({ai}) must have {spec.length} digits")
            _check_charset(where, rest, spec.tail.kind)
            _check_length(where, spec.tail, rest)
    else:
        _check_charset(where, text, spec.kind)
        if len(text) > spec.length:
            raise _Malformed(f"{where}: ({ai}) has at most {spec.length} characters")
    qualifiers: list[tuple[str, str]] = []
    for position in range(0, len(pairs), 2):
        name = _SHORT_NAMES.get(pairs[position], pairs[position])
        form = _QUALIFIER_FORMATS.get(name)
        if form is None or not any(name in sequence for sequence in spec.qualifiers):
            raise _Malformed(f"{where}: /{pairs[position]}/ is not a key qualifier of ({ai})")
        qualifier = _dl_decode(where, pairs[position + 1])
        _check_charset(where, qualifier, form.kind)
        _check_length(where, form, qualifier)
        qualifiers.append((name, qualifier))
    names = [name for name, _ in qualifiers]
    if names and not any(_in_order(names, sequence) for sequence in spec.qualifiers):
        raise _Malformed(f"{where}: qualifiers {', '.join(names)} are out of order or mixed")
    return _Key(ai, text, tuple(qualifiers))


def _format(key: _Key) -> str:
    parts = [CANONICAL_ROOT, "/", key.ai, "/", _dl_encode(key.value)]
    for ai, text in key.qualifiers:
        parts += ("/", ai, "/", _dl_encode(text))
    return "".join(parts)


def _dl_encode(text: str) -> str:
    if _DL_ESCAPE.search(text) is None:
        return text
    return _DL_ESCAPE.sub(lambda found: f"%{ord(found.group()):02X}", text)


def _dl_decode(where: str, raw: str) -> str:
    if _DL_SEGMENT.fullmatch(raw) is None:
        if not raw:
            raise _Malformed(f"{where}: empty path segment")
        bad = _DL_SEGMENT.sub("", raw)[:1] or "%"
        raise _Malformed(f"{where}: character {bad!r} in {raw!r} must be percent-encoded")
    return _percent_decode(raw) if "%" in raw else raw


def location_key(value: str) -> str:
    """:func:`to_digital_link` for indexing locations: an SGLN with extension ``0`` is its
    plain GLN whichever form it came in.

    The event hash keeps CBV 2.0's forms (a URN loses ``/254/0``, a Digital Link written
    with it keeps it); an index must find both under one key.

    >>> location_key("https://id.gs1.org/414/0614141073467/254/0")
    'https://id.gs1.org/414/0614141073467'
    """
    link = to_digital_link(value)
    if link.startswith("https://id.gs1.org/414/"):
        return link.removesuffix("/254/0")
    return link
