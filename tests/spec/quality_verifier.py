"""A verifier of signed quality records written from docs/quality.md and docs/ledger.md alone.

It shares no code with ``traceseal``: the standard library, ``cryptography`` for Ed25519 and
``rfc8785`` for canonical JSON. Given a record as the API serves it, the issuer's published
public keys and the record's leaf from the log, it checks that

- the payload names the record's issuer and type;
- the signature verifies over ``"traceseal/quality-record/v1\\n" || JCS(payload)`` with a
  published key of the issuer;
- the leaf holds ``{"kind": "quality.<type>", "ref": "quality:<id>", "sha256": ..., "v": 1}``
  where the hash is of ``JCS({"key": <key id>, "payload": ..., "signature": ...})``.

Inclusion of the leaf in a signed checkpoint is checked with ``independent_verifier``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

DOMAIN = b"traceseal/quality-record/v1\n"


class RecordError(Exception):
    """A record does not verify; the message says what."""


def signed_bytes(payload: Mapping[str, Any]) -> bytes:
    return DOMAIN + rfc8785.dumps(dict(payload))


def expected_leaf(record: Mapping[str, Any]) -> bytes:
    content = {
        "key": record["key"],
        "payload": record["payload"],
        "signature": record["signature"],
    }
    kind = f"quality.{record['type']}"
    return rfc8785.dumps(
        {
            "kind": kind,
            "ref": f"quality:{record['id']}",
            "sha256": hashlib.sha256(rfc8785.dumps(content)).hexdigest(),
            "v": 1,
        }
    )


def verify_record(
    record: Mapping[str, Any], issuer_keys: Mapping[int, bytes], leaf_data: bytes
) -> None:
    """Raise RecordError unless ``record`` is signed by its issuer and logged as described.

    ``issuer_keys`` maps key ids to raw Ed25519 public keys, as the issuer's key list
    publishes them; ``leaf_data`` is the leaf at ``record["leaf_index"]`` as the log serves it.
    """
    payload = record["payload"]
    if payload.get("v") != 1:
        raise RecordError(f"record {record['id']}: payload version {payload.get('v')!r}")
    if payload.get("issuer") != record["issuer"]["id"]:
        raise RecordError(f"record {record['id']}: the payload names another issuer")
    if payload.get("type") != record["type"]:
        raise RecordError(f"record {record['id']}: the payload is of another type")
    public = issuer_keys.get(record["key"])
    if public is None:
        raise RecordError(f"record {record['id']}: key {record['key']} is not the issuer's")
    try:
        signature = base64.b64decode(record["signature"], validate=True)
        Ed25519PublicKey.from_public_bytes(public).verify(signature, signed_bytes(payload))
    except (InvalidSignature, ValueError) as exc:
        raise RecordError(f"record {record['id']}: the signature does not verify") from exc
    if leaf_data != expected_leaf(record):
        raise RecordError(f"record {record['id']}: leaf {record['leaf_index']} is another record")
