"""EPC URNs and GS1 Digital Link URIs: conversion to the CBV 2.0 canonical form, validation,
and the GTIN and serial of an SGTIN.

Expected Digital Links for the EPC schemes are the conversions the CBV 2.0 event-hash
reference implementation is tested with (RalphTro/epcis-event-hash-generator, MIT); check
digits are cross-checked against biip, which computes them independently.
"""

from __future__ import annotations

import string
from urllib.parse import quote

import pytest
from biip.checksums import gs1_standard_check_digit
from hypothesis import given
from hypothesis import strategies as st

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
