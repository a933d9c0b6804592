"""GS1 keys as TraceSeal reads them in EPC URNs and Digital Link URIs: the primary keys and
their qualifiers (from the GS1 Barcode Syntax Dictionary's dlpkey entries), the character
sets and lengths they allow, the mod-10 check digit, and the finest level CBV 2.0 keeps.

The two syntaxes are read in ``identifiers.py``; what both need to know about a key is here.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ALNUM = "0123456789" + _UPPER + _UPPER.lower()
# GS1 General Specifications figure 7.11-1 (CSET 82) and 7.11-2 (CSET 39).
_CSET82 = frozenset(_ALNUM + "!\"%&'()*+,-./:;<=>?_")
_CSET39 = frozenset("0123456789" + _UPPER + "#-/")
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


class _Malformed(ValueError):
    """An identifier that claims to be a GS1 one but breaks its syntax."""


class _Key(NamedTuple):
    ai: str  # primary key AI
    value: str  # decoded primary key value
    qualifiers: tuple[tuple[str, str], ...]  # (AI, decoded value) in path order


class _Part(NamedTuple):
    ai: str  # qualifier AI, or "" when the part is appended to the primary key itself
    kind: str  # "N" digits, "X" CSET 82, "Y" CSET 39
    longest: int
    shortest: int = 1


class _KeySpec(NamedTuple):
    kind: str  # "N" fixed digits with check digit, "X"/"Y" variable text
    length: int  # digits of a fixed key (with check digit) or the most characters
    tail: _Part | None  # optional text appended to the key (GDTI, GCN and GRAI serials)
    qualifiers: tuple[tuple[str, ...], ...]  # allowed qualifier sequences, in order
    cbv: bool  # in the CBV 2.0 list of keys the event hash keeps


_QUALIFIER_FORMATS: dict[str, _Part] = {
    "22": _Part("22", "X", 20),
    "10": _Part("10", "X", 20),
    "21": _Part("21", "X", 20),
    "235": _Part("235", "X", 28),
    "254": _Part("254", "X", 20),
    "7040": _Part("7040", "X", 4, 4),
    "8011": _Part("8011", "N", 12),
    "8019": _Part("8019", "N", 10),
    "8020": _Part("8020", "X", 25),
}
# Digital Link primary keys, from the dlpkey entries of the GS1 Barcode Syntax Dictionary.
_DL_KEYS: dict[str, _KeySpec] = {
    "00": _KeySpec("N", 18, None, (), True),
    "01": _KeySpec("N", 14, None, (("22", "10", "21"), ("235",)), True),
    "253": _KeySpec("N", 13, _Part("", "X", 17), (), True),
    "255": _KeySpec("N", 13, _Part("", "N", 12), (), True),
    "401": _KeySpec("X", 30, None, (), True),
    "402": _KeySpec("N", 17, None, (), True),
    "414": _KeySpec("N", 13, None, (("254",), ("7040",)), True),
    "415": _KeySpec("N", 13, None, (("8020",),), False),
    "417": _KeySpec("N", 13, None, (("7040",),), True),
    "8003": _KeySpec("N", 14, _Part("", "X", 16), (), True),
    "8004": _KeySpec("X", 30, None, (("7040",),), True),
    "8006": _KeySpec("N", 18, None, (("22", "10", "21"),), True),
    "8010": _KeySpec("Y", 30, None, (("8011",),), True),
    "8013": _KeySpec("X", 25, None, (), False),
    "8017": _KeySpec("N", 18, None, (("8019",),), True),
    "8018": _KeySpec("N", 18, None, (("8019",),), True),
}
# Digital Link 1.0 short names, still met in the wild; converted, never claimed.
_SHORT_NAMES = {
    "gtin": "01", "itip": "8006", "cpid": "8010", "gln": "414", "party": "417",
    "gsrnp": "8017", "gsrn": "8018", "gcn": "255", "sscc": "00", "gdti": "253",
    "ginc": "401", "gsin": "402", "grai": "8003", "giai": "8004", "cpv": "22",
    "lot": "10", "ser": "21",
}  # fmt: skip
# The finest identification level CBV 2.0 keeps, by primary key: the first qualifier
# present wins, everything else is dropped.
_KEY_NAMES = {"00": "SSCC", "01": "GTIN", "8006": "GTIN", "414": "GLN", "417": "GLN"}
_FINEST = {"01": ("21", "235", "10"), "8006": ("21", "10"), "414": ("254",), "8010": ("8011",)}


def check_digit(digits: str) -> str:
    """Return the GS1 mod-10 check digit for ``digits`` (GS1 General Specifications 7.9.1).

    >>> check_digit("1061414107346")
    '4'
    """
    raw = digits.encode("ascii")
    tripled = raw[-1::-2]  # weights 3, 1, 3, ... counted from the right
    single = raw[-2::-2]
    total = 3 * (sum(tripled) - 48 * len(tripled)) + sum(single) - 48 * len(single)
    return str(-total % 10)


# Events list many items of one product or location, so the same GTIN or GLN recurs: the
# fast paths cache its check digit (for a Digital Link) or its link (for a URN, _key_link).
# An SSCC is new on every pallet and would only push those out, so it is never cached.
_cached_check_digit = lru_cache(maxsize=4096)(check_digit)


def _in_order(names: list[str], sequence: tuple[str, ...]) -> bool:
    if not set(names) <= set(sequence):
        return False
    positions = [sequence.index(name) for name in names]
    return positions == sorted(set(positions))


def _check_key_digits(key: _Key) -> None:
    spec = _DL_KEYS[key.ai]
    if spec.kind != "N":
        return
    # Leading zeros do not change a mod-10 sum, so the GRAI's leading 0 can stay.
    digits = key.value[: 14 if key.ai in ("8003", "8006") else spec.length]
    expected = check_digit(digits[:-1])
    if digits[-1] != expected:
        label = _KEY_NAMES.get(key.ai, f"({key.ai})")
        raise _Malformed(f"{label} {digits}: check digit should be {expected}")


def _finest(key: _Key) -> _Key:
    present = dict(key.qualifiers)
    for ai in _FINEST.get(key.ai, ()):
        if ai in present:
            return _Key(key.ai, key.value, ((ai, present[ai]),))
    return _Key(key.ai, key.value, ())


def _percent_decode(raw: str) -> str:
    # Callers have matched ``raw`` against a pattern that only lets '%' start a hex pair.
    return _ESCAPE.sub(lambda found: chr(int(found.group()[1:], 16)), raw)


def _check_charset(where: str, text: str, kind: str) -> None:
    if kind == "N":
        if not (text.isascii() and text.isdigit()):
            raise _Malformed(f"{where}: {text!r} must be digits")
        return
    allowed = _CSET39 if kind == "Y" else _CSET82
    if not allowed.issuperset(text):
        bad = next(char for char in text if char not in allowed)
        name = "CSET 39" if kind == "Y" else "the GS1 AI character set (CSET 82)"
        raise _Malformed(f"{where}: character {bad!r} in {text!r} is outside {name}")


def _check_length(where: str, part: _Part, text: str) -> None:
    if not part.shortest <= len(text) <= part.longest:
        if part.shortest == part.longest:
            size = str(part.longest)
        else:
            size = f"{part.shortest} to {part.longest}"
        raise _Malformed(f"{where}: {text!r} must have {size} characters")
