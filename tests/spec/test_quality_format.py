"""The signed form of quality records, version 1 (docs/quality.md), and their leaves
(docs/ledger.md), pinned by bytes written out by hand."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.spec import quality_verifier as qv
from traceseal.ledger.service import leaf_record
from traceseal.quality.signing import signed_message

#: RFC 8032 section 7.1, test 1: the secret key.
RFC8032_SECRET = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RATING = {
    "v": 1,
    "type": "credit_rating",
    "issuer": 4,
    "enterprise": 2,
    "grade": "AAA",
    "valid_from": "2026-01-01",
    "valid_until": "2028-12-31",
}


def test_the_signed_form_is_the_prefix_and_canonical_json() -> None:
    expected = (
        b"traceseal/quality-record/v1\n"
        b'{"enterprise":2,"grade":"AAA","issuer":4,"type":"credit_rating","v":1,'
        b'"valid_from":"2026-01-01","valid_until":"2028-12-31"}'
    )
    assert signed_message(RATING) == expected
    assert qv.signed_bytes(RATING) == expected


def test_nested_and_non_ascii_payloads() -> None:
    # RFC 8785: keys sorted at every level, no spaces, non-ASCII as UTF-8, arrays in order.
    payload = {
        "v": 1,
        "type": "commitment",
        "issuer": 2,
        "title": "质量承诺",
        "text": "符合 GB 4351",
        "standards": ["GB 4351-2023", "GB/T 9969"],
        "made_on": "2026-03-15",
    }
    expected = (
        "traceseal/quality-record/v1\n"
        '{"issuer":2,"made_on":"2026-03-15","standards":["GB 4351-2023","GB/T 9969"],'
        '"text":"符合 GB 4351","title":"质量承诺","type":"commitment","v":1}'
    ).encode()
    assert signed_message(payload) == expected
    assert qv.signed_bytes(payload) == expected


def test_an_ed25519_signature_vector() -> None:
    # Ed25519 is deterministic: this key over this payload gives these bytes, everywhere.
    signature = Ed25519PrivateKey.from_private_bytes(RFC8032_SECRET).sign(signed_message(RATING))
    assert signature.hex() == (
        "ea07fa79b97728d9cd61630060bc34bd7507d430f25978abd1940a83694eb67d"
        "f7b09466ca45fd84d4c05b72bce9918e2a020c5cbb193bfa41b5250af86d2b07"
    )


def test_a_quality_record_leaf() -> None:
    content = (
        b'{"key":3,"payload":{"enterprise":2,"grade":"AAA","issuer":4,"type":"credit_rating",'
        b'"v":1,"valid_from":"2026-01-01","valid_until":"2028-12-31"},"signature":"c2ln"}'
    )
    expected = (
        '{"kind":"quality.credit_rating","ref":"quality:9",'
        f'"sha256":"{hashlib.sha256(content).hexdigest()}","v":1}}'
    ).encode()
    record = {"payload": RATING, "key": 3, "signature": "c2ln"}
    assert leaf_record("quality.credit_rating", "quality:9", record) == expected
    served = {"id": 9, "type": "credit_rating", **record}
    assert qv.expected_leaf(served) == expected


def test_a_signing_key_leaf() -> None:
    content = (
        b'{"key":3,"organization":4,"public_key":"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="}'
    )
    expected = (
        '{"kind":"quality.key","ref":"signing_key:3",'
        f'"sha256":"{hashlib.sha256(content).hexdigest()}","v":1}}'
    ).encode()
    record = {
        "key": 3,
        "organization": 4,
        "public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
    }
    assert leaf_record("quality.key", "signing_key:3", record) == expected
