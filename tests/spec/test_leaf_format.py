"""Leaf records, version 1 (docs/ledger.md), pinned by bytes written out by hand."""

from __future__ import annotations

import hashlib

from traceseal.ledger.service import leaf_record

HASH_ID = (
    "ni:///sha-256;df7bb3c352fef055578554f09f5e2aa41782150ced7bd0b8af24dd3ccb30ba69?ver=CBV2.0"
)


def test_an_epcis_event_leaf() -> None:
    content = (
        '{"captureID":"00112233445566778899aabbccddeeff",'
        f'"eventHash":"{HASH_ID}",'
        '"eventID":"urn:uuid:6d5a4a46-2a7c-4a3f-9b1e-0c7f3f4e2d11"}'
    ).encode()
    expected = (
        '{"kind":"epcis.event",'
        f'"ref":"{HASH_ID}",'
        f'"sha256":"{hashlib.sha256(content).hexdigest()}","v":1}}'
    ).encode()
    assert (
        leaf_record(
            "epcis.event",
            HASH_ID,
            {
                "eventID": "urn:uuid:6d5a4a46-2a7c-4a3f-9b1e-0c7f3f4e2d11",
                "eventHash": HASH_ID,
                "captureID": "00112233445566778899aabbccddeeff",
            },
        )
        == expected
    )


def test_a_code_run_leaf_with_non_ascii_and_null() -> None:
    # RFC 8785: keys sorted, no spaces, non-ASCII as UTF-8, null and booleans as JSON words.
    content = (
        '{"count":100,"first":0,"lot":"批次-1","organization":2,"pin":false,'
        '"product":null,"run":7,"slot":100}'
    ).encode()
    expected = (
        '{"kind":"code_run.issued","ref":"code_run:7",'
        f'"sha256":"{hashlib.sha256(content).hexdigest()}","v":1}}'
    ).encode()
    record = {
        "run": 7,
        "organization": 2,
        "slot": 100,
        "first": 0,
        "count": 100,
        "product": None,
        "pin": False,
        "lot": "批次-1",
    }
    assert leaf_record("code_run.issued", "code_run:7", record) == expected


def test_an_epcis_error_declaration_leaf() -> None:
    # RFC 8785: members sorted at every level, no spaces.
    content = (
        '{"captureID":"00112233445566778899aabbccddeeff",'
        '"errorDeclaration":{"correctiveEventIDs":["urn:uuid:404d95fc"],'
        '"declarationTime":"2026-11-03T09:00:00+08:00","reason":"incorrect_data"},'
        f'"eventHash":"{HASH_ID}",'
        '"eventID":"urn:uuid:6d5a4a46-2a7c-4a3f-9b1e-0c7f3f4e2d11"}'
    ).encode()
    expected = (
        '{"kind":"epcis.errorDeclaration",'
        f'"ref":"{HASH_ID}",'
        f'"sha256":"{hashlib.sha256(content).hexdigest()}","v":1}}'
    ).encode()
    assert (
        leaf_record(
            "epcis.errorDeclaration",
            HASH_ID,
            {
                "eventID": "urn:uuid:6d5a4a46-2a7c-4a3f-9b1e-0c7f3f4e2d11",
                "eventHash": HASH_ID,
                "errorDeclaration": {
                    "reason": "incorrect_data",
                    "declarationTime": "2026-11-03T09:00:00+08:00",
                    "correctiveEventIDs": ["urn:uuid:404d95fc"],
                },
                "captureID": "00112233445566778899aabbccddeeff",
            },
        )
        == expected
    )
