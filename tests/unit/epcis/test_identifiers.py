"""EPC URNs and GS1 Digital Link URIs: conversion to the CBV 2.0 canonical form, validation,
and the GTIN and serial of an SGTIN.

Expected Digital Links for the EPC schemes are the conversions the CBV 2.0 event-hash
reference implementation is tested with (RalphTro/epcis-event-hash-generator, MIT); check
digits are cross-checked against biip, which computes them independently.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from unittest.mock import patch
from urllib.parse import quote

import pytest
from biip.checksums import gs1_standard_check_digit
from hypothesis import given, settings
from hypothesis import strategies as st

from traceseal.epcis import identifiers
from traceseal.epcis.identifiers import check_digit, check_identifier, gtin_serial, to_digital_link

URN_TO_DL = [
    ("urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/01/10614141073464/21/2017"),
    ("urn:epc:id:sgtin:415056789012.0.987654", "https://id.gs1.org/01/04150567890128/21/987654"),
    ("urn:epc:id:sgtin:4012345.011111.98%22", "https://id.gs1.org/01/04012345111118/21/98%22"),
    (
        "urn:epc:id:sgtin:0614141.812345.6789%2F%26%25%22!%3F()",
        "https://id.gs1.org/01/80614141123458/21/6789%2F%26%25%22%21%3F%28%29",
    ),
    ("urn:epc:id:sscc:4012345.3111111111", "https://id.gs1.org/00/340123451111111111"),
    ("urn:epc:id:sscc:4012345.0000000011", "https://id.gs1.org/00/040123450000000115"),
    ("urn:epc:id:sgln:0614141.07346.1234", "https://id.gs1.org/414/0614141073467/254/1234"),
    ("urn:epc:id:sgln:4012345.00005.0", "https://id.gs1.org/414/4012345000054"),
    ("urn:epc:id:grai:4012345.00022.334455", "https://id.gs1.org/8003/04012345000221334455"),
    ("urn:epc:id:giai:4012345.ABC345", "https://id.gs1.org/8004/4012345ABC345"),
    ("urn:epc:id:giai:4000001.111", "https://id.gs1.org/8004/4000001111"),
    ("urn:epc:id:gsrn:4012345.0000006765", "https://id.gs1.org/8018/401234500000067657"),
    ("urn:epc:id:gsrn:4012345.9876540000", "https://id.gs1.org/8018/401234598765400000"),
    ("urn:epc:id:gsrnp:4012345.0000000007", "https://id.gs1.org/8017/401234500000000074"),
    ("urn:epc:id:gdti:4012345.00009.PO-4711", "https://id.gs1.org/253/4012345000092PO-4711"),
    ("urn:epc:id:gdti:987659999999..9", "https://id.gs1.org/253/98765999999929"),
    (
        "urn:epc:id:cpi:0614141.11111111111111-A%23%2F.1234",
        "https://id.gs1.org/8010/061414111111111111111-A%23%2F/8011/1234",
    ),
    ("urn:epc:id:sgcn:4012345.67890.04711", "https://id.gs1.org/255/401234567890104711"),
    ("urn:epc:id:ginc:0614141.xyz47%2F11", "https://id.gs1.org/401/0614141xyz47%2F11"),
    ("urn:epc:id:gsin:4012345.222333444", "https://id.gs1.org/402/40123452223334442"),
    (
        "urn:epc:id:itip:4012345.011111.01.02.987",
        "https://id.gs1.org/8006/040123451111180102/21/987",
    ),
    (
        "urn:epc:id:upui:1234567.098765.51qIgY)%3C%26Jp3*j7SDB",
        "https://id.gs1.org/01/01234567987651/235/51qIgY%29%3C%26Jp3%2Aj7SDB",
    ),
    ("urn:epc:id:pgln:4000001.00000", "https://id.gs1.org/417/4000001000005"),
    ("urn:epc:id:pgln:999999999999.", "https://id.gs1.org/417/9999999999994"),
    ("urn:epc:class:lgtin:4012345.012345.Lot987", "https://id.gs1.org/01/04012345123456/10/Lot987"),
    ("urn:epc:idpat:sgtin:4012345.012345.*", "https://id.gs1.org/01/04012345123456"),
    ("urn:epc:idpat:grai:4012345.99999.*", "https://id.gs1.org/8003/04012345999990"),
    ("urn:epc:idpat:gdti:4012345.11111.*", "https://id.gs1.org/253/4012345111118"),
    ("urn:epc:idpat:sgcn:4012345.22222.*", "https://id.gs1.org/255/4012345222227"),
    ("urn:epc:idpat:cpi:4012345.AB12.*", "https://id.gs1.org/8010/4012345AB12"),
    ("urn:epc:idpat:itip:4012345.012345.01.02.*", "https://id.gs1.org/8006/040123451234560102"),
    ("urn:epc:idpat:upui:4012345.012345.*", "https://id.gs1.org/01/04012345123456"),
]

DL_TO_CANONICAL = [
    # already canonical
    ("https://id.gs1.org/00/340123453111111115", "https://id.gs1.org/00/340123453111111115"),
    ("https://id.gs1.org/414/4280000000002/254/12", "https://id.gs1.org/414/4280000000002/254/12"),
    ("https://id.gs1.org/8003/03870585000552987", "https://id.gs1.org/8003/03870585000552987"),
    ("https://id.gs1.org/8004/0180451111ABC987", "https://id.gs1.org/8004/0180451111ABC987"),
    ("https://id.gs1.org/8017/440018922222222226", "https://id.gs1.org/8017/440018922222222226"),
    ("https://id.gs1.org/253/4602443000331XYZ", "https://id.gs1.org/253/4602443000331XYZ"),
    ("https://id.gs1.org/8010/0628165987/8011/9876", "https://id.gs1.org/8010/0628165987/8011/9876"),
    ("https://id.gs1.org/255/0811625999996554433", "https://id.gs1.org/255/0811625999996554433"),
    # any host, http, a path prefix, query and fragment
    ("https://id.gs1.de/01/04012345999990/21/XYZ-1234", "https://id.gs1.org/01/04012345999990/21/XYZ-1234"),
    ("http://id.gs1.org/01/09780345418913", "https://id.gs1.org/01/09780345418913"),
    ("https://gs1.test.example.org/01/9780345418913/10/1223", "https://id.gs1.org/01/09780345418913/10/1223"),
    ("https://example.com/a/b/01/09506000134352/", "https://id.gs1.org/01/09506000134352"),
    ("https://example.org/01/9780345418913/21/765tz?11=221109", "https://id.gs1.org/01/09780345418913/21/765tz"),
    ("https://example.org/01/9780345418913/21/7#top", "https://id.gs1.org/01/09780345418913/21/7"),
    ("https://id.example.com/253/4012345000054987", "https://id.gs1.org/253/4012345000054987"),
    # GTIN-8, -12 and -13 padded to 14 digits
    ("http://example.de/gtin-8/01/97803111", "https://id.gs1.org/01/00000097803111"),
    ("http://us-company-with-UPC.com/01/001122334455", "https://id.gs1.org/01/00001122334455"),
    # only the finest level: serial over lot, CPV and SRIN dropped
    ("https://id.gs1.org/01/9780345418913/22/344/10/1223/21/765tz", "https://id.gs1.org/01/09780345418913/21/765tz"),
    ("http://example.de/01/040123451234/22/344/10/ABD", "https://id.gs1.org/01/00040123451234/10/ABD"),
    ("https://corp.example/8006/040123451234560102/22/AB/21/443322", "https://id.gs1.org/8006/040123451234560102/21/443322"),
    ("https://id.gs1.org/8006/040123451234560102/22/ABCD/10/XYZ", "https://id.gs1.org/8006/040123451234560102/10/XYZ"),
    ("https://id.gs1.org/8018/385888700111111111/8019/123", "https://id.gs1.org/8018/385888700111111111"),
    # Digital Link 1.0 short names
    ("https://example.com/gtin/09780345418913/21/765tz?abc=1", "https://id.gs1.org/01/09780345418913/21/765tz"),
    ("https://id.gs1.org/gtin/9780345418913/cpv/344/lot/1223/ser/765tz", "https://id.gs1.org/01/09780345418913/21/765tz"),
    ("https://example.co.uk/party/4226350800008", "https://id.gs1.org/417/4226350800008"),
    ("http://fashion.example/itip/040123451234560102/ser/ABC145", "https://id.gs1.org/8006/040123451234560102/21/ABC145"),
    # one canonical percent-encoding: escapes in upper case, '!' and ':' escaped
    ("https://example.com/01/09506000134352/21/a%2fb", "https://id.gs1.org/01/09506000134352/21/a%2Fb"),
    ("https://example.com/01/09506000134352/21/a!b:c", "https://id.gs1.org/01/09506000134352/21/a%21b%3Ac"),
]  # fmt: skip

UNCHANGED = [
    "urn:uuid:2a8f7c3e-2f0c-4b59-9d0e-5f2d5bb4b7a1",
    "urn:epcglobal:cbv:bt:5200001000008:4711",
    "http://transaction.acme.com/po/12345678",
    "https://example.com/ErrorCode-A827",
    "https://example.org/123/4012345ABC987/456/4711",
    "http://id.gs1.org/99/9780345418913",
    "https://shop.example/gln/about",
    "urn:epc:id:gid:95100000.12345.400",
    "urn:epc:idpat:sgln:0614141.07346.*",
    "urn:epc:idpat:sgtin:0614141.*.*",
    "https://id.gs1.org/415/5412345000013/8020/ABC123",  # not a key CBV 2.0 hashes
    "OBSERVE",
    "",
    # malformed identifiers are kept as written (check_identifier reports them)
    "urn:epc:id:sgtin:0614141.10734.2017",
    "http://example.de/01/97803",
    "https://id.gs1.org/8006/04012345123456/22/ABCD/10/XYZ",
    "http://id.gs1.org/01/9780345418913/99/utfgf",
]

INVALID = [
    ("urn:epc:id:sgtin:0614141.10734.2017", "13 digits"),
    ("urn:epc:id:sgtin:06141.1073460.2017", "6 to 12 digits"),
    ("urn:epc:id:sgtin:0614141.10734a.2017", "must be digits"),
    ("urn:epc:id:sgtin:0614141.107346", "expected 3 parts"),
    ("urn:epc:id:sgtin:0614141.107346.", "1 to 20 characters"),
    ("urn:epc:id:sgtin:0614141.107346.123456789012345678901", "1 to 20 characters"),
    ("urn:epc:id:sgtin:0614141.107346.20/17", "percent-encoded"),
    ("urn:epc:id:sgtin:0614141.107346.a b", "percent-encoded"),
    ("urn:epc:id:sgtin:0614141.107346.a%2", "percent-encoded"),
    ("urn:epc:id:sgtin:0614141.107346.a%20b", "CSET 82"),
    ("urn:epc:id:sgtin:0614141.107346.caf%C3%A9", "CSET 82"),
    ("urn:epc:id:sscc:0614141.123456789", "17 digits"),
    ("urn:epc:id:sgln:0614141.073461.0", "12 digits"),
    ("urn:epc:id:giai:0614141.abc def", "percent-encoded"),
    ("urn:epc:id:giai:0614141.12345678901234567890123456", "7 to 30"),
    ("urn:epc:id:cpi:0614141.abc.1", "CSET 39"),
    ("urn:epc:id:cpi:0614141.ABC.x1", "must be digits"),
    ("urn:epc:id:sgcn:4012345.67890.ABC", "must be digits"),
    ("urn:epc:id:itip:4012345.011111.1.02.987", "must have 2 characters"),
    ("urn:epc:id:foo:0614141.1", "unknown EPC scheme"),
    ("urn:epc:class:sgtin:0614141.107346.1", "unknown EPC scheme"),
    ("urn:epc:tag:sgtin-96:3.0614141.107346.2017", "urn:epc:id"),
    ("urn:epc:id:sgtin", "missing EPC scheme"),
    ("urn:epc:idpat:sgtin:0614141.*.2017", "trailing parts"),
    ("urn:epc:id:gid:95100000.12345", "3 non-empty parts"),
    (
        "https://id.gs1.org/01/10614141073465/21/2017",
        "GTIN 10614141073465: check digit should be 4",
    ),
    ("https://id.gs1.org/01/9506000134353", "check digit should be 2"),
    (
        "https://id.gs1.org/00/106141412345678909",
        "SSCC 106141412345678909: check digit should be 8",
    ),
    ("https://example.com/414/4012345000116", "GLN 4012345000116: check digit should be 5"),
    ("https://id.gs1.org/8006/040123451234560302", "piece 03 of 02"),
    ("https://id.gs1.org/8003/14012345000221", "starts with the digit 0"),
    ("http://example.de/01/97803", "8, 12, 13 or 14 digits"),
    ("https://id.gs1.org/01/0950600013435a", "8, 12, 13 or 14 digits"),
    ("https://id.gs1.org/00/12345", "18 digits"),
    ("https://id.gs1.org/01/09506000134352/21/abc/10", "AI/value pairs"),
    ("https://id.gs1.org/01/09506000134352/99/abc", "not a key qualifier"),
    ("https://id.gs1.org/01/09506000134352/21/abc/10/def", "out of order"),
    ("https://id.gs1.org/01/09506000134352/235/abc/21/def", "out of order or mixed"),
    ("https://id.gs1.org/01/09506000134352/21/a b", "percent-encoded"),
    ("https://id.gs1.org/01/09506000134352/21/a~b", "CSET 82"),
    ("https://id.gs1.org/01/09506000134352/21/" + "x" * 21, "1 to 20 characters"),
    ("https://id.gs1.org/01//21/x", "empty path segment"),
    ("https://id.gs1.org/8010/abc", "CSET 39"),
]

VALID = (
    [urn for urn, _ in URN_TO_DL]
    + [dl for _, dl in URN_TO_DL]
    + [
        "urn:uuid:2a8f7c3e-2f0c-4b59-9d0e-5f2d5bb4b7a1",
        "https://example.com/ErrorCode-A827",
        "https://shop.example/gln/about",  # a short name in a private URL is not a claim
        "urn:epc:id:gid:95100000.12345.400",
        "urn:epc:id:imovn:9176187",
        "urn:epc:idpat:sgtin:0614141.*.*",
        "urn:epc:idpat:sgtin:*.*.*",
        "https://id.gs1.org/01/09506000134352/22/2A/10/ABC/21/12345?17=261231",
        "https://id.gs1.org/01/12345670",  # GTIN-8
        "https://id.gs1.org/414/4012345000115/254/%2F1",
    ]
)


@pytest.mark.parametrize(("urn", "digital_link"), URN_TO_DL)
def test_urn_to_digital_link(urn: str, digital_link: str) -> None:
    assert to_digital_link(urn) == digital_link
    assert to_digital_link(digital_link) == digital_link  # the canonical form is a fixpoint


@pytest.mark.parametrize(("uri", "canonical"), DL_TO_CANONICAL)
def test_digital_link_to_canonical(uri: str, canonical: str) -> None:
    assert to_digital_link(uri) == canonical
    assert to_digital_link(canonical) == canonical


@pytest.mark.parametrize("value", UNCHANGED)
def test_other_values_unchanged(value: str) -> None:
    assert to_digital_link(value) == value


@pytest.mark.parametrize("value", VALID)
def test_valid_identifiers(value: str) -> None:
    assert check_identifier(value) is None


@pytest.mark.parametrize(("value", "message"), INVALID)
def test_invalid_identifiers(value: str, message: str) -> None:
    error = check_identifier(value)
    assert error is not None
    assert message in error


def test_bad_check_digit_still_converts() -> None:
    # The hash must be stable for what was captured; validation is a separate question.
    uri = "https://brand.example/01/10614141073465/21/2017"
    assert check_identifier(uri) is not None
    assert to_digital_link(uri) == "https://id.gs1.org/01/10614141073465/21/2017"


@pytest.mark.parametrize(
    ("value", "pair"),
    [
        ("urn:epc:id:sgtin:0614141.107346.2017", ("10614141073464", "2017")),
        ("https://id.gs1.org/01/10614141073464/21/2017", ("10614141073464", "2017")),
        ("https://brand.example/p/01/614141073467/10/L1/21/A%2FB?x=1", ("00614141073467", "A/B")),
        ("urn:epc:id:sgtin:0614141.007346.A%2FB", ("00614141073467", "A/B")),
        ("https://id.gs1.org/01/10614141073465/21/2017", None),  # bad check digit
        ("https://id.gs1.org/01/10614141073464", None),  # a GTIN without serial
        ("https://id.gs1.org/01/10614141073464/10/L1", None),
        ("urn:epc:class:lgtin:0614141.107346.L1", None),
        ("urn:epc:id:sscc:4012345.0000000333", None),
        ("urn:epc:id:sgtin:0614141.10734.2017", None),
        ("urn:uuid:2a8f7c3e-2f0c-4b59-9d0e-5f2d5bb4b7a1", None),
    ],
)
def test_gtin_serial(value: str, pair: tuple[str, str] | None) -> None:
    assert gtin_serial(value) == pair


@given(st.text(alphabet=string.digits, min_size=1, max_size=20))
def test_check_digit_matches_biip(digits: str) -> None:
    assert check_digit(digits) == str(gs1_standard_check_digit(digits))


# --- SGTIN round trip ------------------------------------------------------------------

CSET82 = string.ascii_letters + string.digits + "!\"%&'()*+,-./:;<=>?_"
URN_MUST_ESCAPE = set('"%&/<>?')


@st.composite
def sgtins(draw: st.DrawFn) -> tuple[str, str, str]:
    """An SGTIN URN, and independently the GTIN-14 and serial it stands for."""
    prefix_length = draw(st.integers(6, 12))
    prefix = draw(st.text(string.digits, min_size=prefix_length, max_size=prefix_length))
    reference = draw(
        st.text(string.digits, min_size=13 - prefix_length, max_size=13 - prefix_length)
    )
    serial = draw(st.text(CSET82, min_size=1, max_size=20))
    escape_more = draw(st.booleans())  # TDS allows escaping any character, not only these
    urn_serial = "".join(
        f"%{ord(char):02X}" if char in URN_MUST_ESCAPE or (escape_more and char in "!:*") else char
        for char in serial
    )
    body = reference[0] + prefix + reference[1:]
    gtin = body + str(gs1_standard_check_digit(body))
    return f"urn:epc:id:sgtin:{prefix}.{reference}.{urn_serial}", gtin, serial


@given(sgtins())
def test_sgtin_urn_digital_link_round_trip(case: tuple[str, str, str]) -> None:
    urn, gtin, serial = case
    digital_link = to_digital_link(urn)
    # quote() is an independent encoder: RFC 3986 unreserved characters plus ; = ' raw.
    encoded = quote(serial, safe=";='")
    assert digital_link == f"https://id.gs1.org/01/{gtin}/21/{encoded}"
    assert check_identifier(urn) is None
    assert check_identifier(digital_link) is None
    assert gtin_serial(urn) == (gtin, serial)
    assert gtin_serial(digital_link) == (gtin, serial)
    assert to_digital_link(digital_link) == digital_link
    # The same item on a brand's own host, with data attributes, is the same item.
    on_brand_host = digital_link.replace("https://id.gs1.org", "http://brand.example/x") + "?17=1"
    assert to_digital_link(on_brand_host) == digital_link
    assert gtin_serial(on_brand_host) == (gtin, serial)


@given(st.integers(6, 12), st.data())
def test_sgln_extension_zero_means_none(prefix_length: int, data: st.DataObject) -> None:
    prefix = data.draw(st.text(string.digits, min_size=prefix_length, max_size=prefix_length))
    reference = "1" * (12 - prefix_length)
    gln = prefix + reference + str(gs1_standard_check_digit(prefix + reference))
    assert to_digital_link(f"urn:epc:id:sgln:{prefix}.{reference}.0") == (
        f"https://id.gs1.org/414/{gln}"
    )
    assert to_digital_link(f"urn:epc:id:sgln:{prefix}.{reference}.00") == (
        f"https://id.gs1.org/414/{gln}/254/00"
    )


# --- fast paths against the general path -------------------------------------------------
# The common shapes take precompiled patterns; everything else, every error included, goes
# through the general parser. Both must give the same answer for every input, so the tests
# below compare them on common identifiers with a part or two swapped for a near miss (a
# bad check digit, a digit too many, a character to escape, another qualifier, an uppercase
# host, a trailing slash, a query...): each near miss of one identifier per shape in turn,
# then random identifiers with random near misses.

SAFE = "AZaz09'-.;=_"  # what a serial may hold and still need no escaping
ROOT = "https://id.gs1.org"
# EPC scheme: (digits of company prefix and reference, AI, key body, text before the last
# part in the Digital Link, None when the scheme has no last part).
URN_SHAPES: dict[str, tuple[int, str, Callable[[str, str], str], str | None]] = {
    "id:sgtin": (13, "01", lambda prefix, ref: ref[:1] + prefix + ref[1:], "/21/"),
    "class:lgtin": (13, "01", lambda prefix, ref: ref[:1] + prefix + ref[1:], "/10/"),
    "id:sscc": (17, "00", lambda prefix, ref: ref[:1] + prefix + ref[1:], None),
    "id:sgln": (12, "414", lambda prefix, ref: prefix + ref, "/254/"),
    "id:pgln": (12, "417", lambda prefix, ref: prefix + ref, None),
    "id:grai": (12, "8003", lambda prefix, ref: "0" + prefix + ref, ""),
}
# Digital Link primary key: (digits, qualifiers that may follow it alone, "" for none).
DL_SHAPES = {
    "01": (14, ["", "21", "10"]),
    "00": (18, [""]),
    "414": (13, ["", "254"]),
    "417": (13, [""]),
}
ODD = ["%2F", "%2f", "%41", "%", "%G1", "~", "!", ":", "*", "(", "+", "@", " ", "é", "٣", "\n",
       "/", "?", "#", "."]  # fmt: skip
NEAR_MISS_TEXTS = ["", "0", "x" * 16, "x" * 17, "x" * 20, "x" * 21, *(f"a{odd}b" for odd in ODD)]
NEAR_MISSES: dict[str, list[str | None]] = {
    "urn scheme": [*URN_SHAPES, "idpat:sgtin", "class:sgtin", "id:giai", "id:upui", "tag:sgtin"],
    "text": [None, *NEAR_MISS_TEXTS],
    "scheme": ["http", "HTTPS", "Http", "ftp", "httpſ"],  # ſ is s to a pattern ignoring case
    "host": ["ID.GS1.ORG", "brand.example.com:8443", "", "b?x", "b#x", "/"],
    "before": ["/p", "/01", "/gtin", "/00", "/414/"],
    "ai": [*DL_SHAPES, "8003", "8006", "gtin", "sscc", "gln", "99"],
    "qualifier": ["", "21", "10", "254", "22", "235", "7040", "ser", "lot", "99"],
    "tail": ["/", "//", "?17=1", "#x", "/?a=b/c", "?x#y", "/21/x", "/22/x", "/10/x"],
}


def digit_strings(size: int) -> st.SearchStrategy[str]:
    return st.text(string.digits, min_size=size, max_size=size)


def with_check_digit(body: str) -> str:
    return body + str(gs1_standard_check_digit(body))


def near_miss_digits(digits: str) -> list[str | None]:
    """A digit fewer or more, the last one changed (a check digit, in a key), a digit
    outside ASCII, a letter, an escaped digit."""
    changed = digits[:-1] + str((int(digits[-1]) + 1) % 10) if digits else "1"
    return [digits[:-1], digits + "0", changed, "٣" + digits[1:], "a" + digits[1:], "%30"]


def near_misses(parts: dict[str, str | None]) -> dict[str, list[str | None]]:
    """What each part of a common identifier may be swapped for."""
    misses = {slot: NEAR_MISSES[slot] for slot in parts if slot in NEAR_MISSES}
    for slot in ("prefix", "reference", "key"):
        if slot in parts:
            misses[slot] = near_miss_digits(str(parts[slot]))
    return misses


def shape_parts(shape: str, prefix: str, digits: str, text: str) -> list[dict[str, str | None]]:
    """The parts of identifiers of one common shape: ``digits`` are what follows the
    company prefix in a URN (trimmed to fit) or the start of a Digital Link key."""
    if shape in URN_SHAPES:
        size, _, _, joiner = URN_SHAPES[shape]
        return [
            {
                "urn scheme": shape,
                "prefix": prefix,
                "reference": digits[: size - len(prefix)],
                "text": None if joiner is None else text,
            }
        ]
    size, qualifiers = DL_SHAPES[shape]
    key = with_check_digit((prefix + digits)[: size - 1])
    return [
        {"scheme": "https", "host": "id.gs1.org", "before": "", "ai": shape, "key": key,
         "qualifier": qualifier, "text": text, "tail": ""}
        for qualifier in qualifiers
    ]  # fmt: skip


@st.composite
def common_parts(draw: st.DrawFn) -> dict[str, str | None]:
    """The parts of an identifier of a shape events mostly carry."""
    shape = draw(st.sampled_from(list(URN_SHAPES)) | st.sampled_from(list(DL_SHAPES)))
    prefix = draw(st.integers(6, 12).flatmap(digit_strings))
    text = draw(st.text(SAFE, min_size=1, max_size=16) | st.just("0"))
    parts = draw(st.sampled_from(shape_parts(shape, prefix, draw(digit_strings(17)), text)))
    if "scheme" in parts:
        parts["scheme"] = draw(st.sampled_from(["https", "http"]))
        parts["host"] = draw(st.sampled_from(["id.gs1.org", "brand.example.com", ""]))
        parts["tail"] = draw(st.sampled_from(["", "/", "?17=260101", "#x", "/?a=b/c"]))
    return parts


def compose(parts: dict[str, str | None]) -> str:
    text = parts["text"]
    if "urn scheme" in parts:
        urn = f"urn:epc:{parts['urn scheme']}:{parts['prefix']}.{parts['reference']}"
        return urn if text is None else f"{urn}.{text}"
    qualifier = f"/{parts['qualifier']}/{text}" if parts["qualifier"] else ""
    return (
        f"{parts['scheme']}://{parts['host']}{parts['before']}/{parts['ai']}/{parts['key']}"
        f"{qualifier}{parts['tail']}"
    )


@st.composite
def common_identifiers(draw: st.DrawFn) -> tuple[str, str]:
    """An identifier of a shape events mostly carry, and its canonical Digital Link."""
    parts = draw(common_parts())
    text = parts["text"]
    if "urn scheme" not in parts:
        qualifier = f"/{parts['qualifier']}/{text}" if parts["qualifier"] else ""
        return compose(parts), f"{ROOT}/{parts['ai']}/{parts['key']}{qualifier}"
    scheme = str(parts["urn scheme"])
    _, ai, body, joiner = URN_SHAPES[scheme]
    link = f"{ROOT}/{ai}/{with_check_digit(body(str(parts['prefix']), str(parts['reference'])))}"
    if text is None or (scheme == "id:sgln" and text == "0"):  # extension 0: none
        return compose(parts), link
    return compose(parts), f"{link}{joiner}{text}"


@st.composite
def near_common_identifiers(draw: st.DrawFn) -> str:
    """A common identifier with one or two of its parts swapped for a near miss."""
    parts = draw(common_parts())
    misses = near_misses(parts)
    for _ in range(draw(st.sampled_from([1, 1, 1, 2]))):
        slot = draw(st.sampled_from(sorted(misses)))
        parts[slot] = draw(st.sampled_from(misses[slot]))
    return compose(parts)


def test_each_near_miss_agrees_with_the_general_path() -> None:
    values = []
    for shape in [*URN_SHAPES, *DL_SHAPES]:
        for parts in shape_parts(shape, "0614141", "07346123456789012", "A'b-.;=_9"):
            for slot, misses in near_misses(parts).items():
                values += [compose({**parts, slot: miss}) for miss in misses]
    assert len(values) > 500
    disagreeing = [
        value
        for value in values
        if to_digital_link(value) != identifiers._general_link(value)
        or check_identifier(value) != identifiers._general_check(value)
    ]
    assert disagreeing == []


@settings(max_examples=1000)
@given(near_common_identifiers() | st.text(max_size=40))
def test_fast_paths_agree_with_the_general_path(value: str) -> None:
    assert to_digital_link(value) == identifiers._general_link(value)
    assert check_identifier(value) == identifiers._general_check(value)


def general_path_unused(value: str) -> str:
    raise AssertionError(f"{value} should have taken a fast path")


@given(common_identifiers())
def test_common_shapes_take_the_fast_path(case: tuple[str, str]) -> None:
    value, canonical = case
    with (
        patch.object(identifiers, "_general_link", general_path_unused),
        patch.object(identifiers, "_general_check", general_path_unused),
    ):
        assert to_digital_link(value) == canonical
        assert check_identifier(value) is None
