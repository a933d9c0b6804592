"""Every quality record verifies with nothing but what the platform publishes over HTTP:
the issuers' public keys, the records, their leaves, inclusion proofs and the checkpoint."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.functional.conftest import GTIN, LOT
from tests.functional.quality_helpers import (
    Cast,
    cast,
    certificate,
    commitment,
    credit,
    sampling,
)
from tests.spec import independent_verifier as iv
from tests.spec import quality_verifier as qv
from traceseal.db import unit_of_work
from traceseal.ledger import checkpoints

__all__ = ["cast"]


def _every_record(cast: Cast) -> list[int]:
    """One record of every type, by every kind of issuer; their ids."""
    made = [
        cast.certificate()["id"],
        cast.inspection()["id"],
        cast.post("/api/v1/sampling-results", cast.regulator, sampling())["id"],
        cast.post("/api/v1/credit-ratings", cast.regulator, credit(cast.acme))["id"],
        cast.post("/api/v1/credit-ratings", cast.operator, credit(cast.acme, grade="AA"))["id"],
        cast.post("/api/v1/commitments", cast.acme, commitment())["id"],
        cast.post(
            "/api/v1/programmes", cast.operator, {"name": "3.15", "rules": {"certificate": {}}}
        )["record"]["id"],
    ]
    status = {"status": "suspended", "reason": "audit", "effective": "2026-11-02"}
    made.append(cast.post(f"/api/v1/certificates/{made[0]}/status", cast.lab, status)["id"])
    recall = cast.post(
        "/api/v1/recalls",
        cast.regulator,
        {"gtin": GTIN, "lots": [LOT], "reason": "valve", "instructions": "return it"},
    )[0]
    made.append(recall["record"])
    ended = cast.platform.client.post(f"/api/v1/recalls/{recall['id']}/end", headers=cast.acme.auth)
    assert ended.status_code == 404  # not the brand owner's to end
    cast.platform.client.post(f"/api/v1/recalls/{recall['id']}/end", headers=cast.regulator.auth)
    return made


def _publish(cast: Cast) -> None:
    platform = cast.platform
    with unit_of_work(platform.session_factory) as session:
        checkpoints.publish(
            session, platform.app.state.keyring, platform.settings.resolved_ledger_origin
        )


def test_every_record_verifies_with_published_keys_and_log(cast: Cast) -> None:
    made = _every_record(cast)
    _publish(cast)
    client = cast.platform.client
    log_key = iv.parse_verifier_key(client.get("/ledger/key").text.strip())
    checkpoint = iv.open_checkpoint(client.get("/ledger/checkpoint").text, log_key)
    types = set()
    record_id = 0
    while True:  # every record there is, in order, until the first id that is not one
        record_id += 1
        response = client.get(f"/api/v1/quality/records/{record_id}")
        if response.status_code == 404:
            break
        record = response.json()
        types.add(record["type"])
        keys = client.get(f"/api/v1/orgs/{record['issuer']['id']}/signing-keys").json()
        published = {k["id"]: base64.b64decode(k["public_key"]) for k in keys}
        leaf = base64.b64decode(client.get(f"/ledger/leaves/{record['leaf_index']}").json()["data"])
        qv.verify_record(record, published, leaf)
        proof = client.get(record["proof"]).json()
        assert proof["tree_size"] == checkpoint.size
        assert proof["checkpoint"].startswith(f"{checkpoint.origin}\n{checkpoint.size}\n")
        iv.verify_inclusion(
            record["leaf_index"],
            checkpoint.size,
            iv.leaf_hash(leaf),
            [bytes.fromhex(p) for p in proof["proof"]],
            checkpoint.root,
        )
    assert record_id - 1 == len(made) + 1  # the recall's end is a record too
    assert types == {
        "certificate",
        "inspection_report",
        "sampling_result",
        "credit_rating",
        "commitment",
        "programme",
        "certificate_status",
        "recall",
        "recall_end",
    }


def test_the_verifier_refuses_altered_records(cast: Cast) -> None:
    created = cast.certificate()
    client = cast.platform.client
    keys = client.get(f"/api/v1/orgs/{cast.lab.id}/signing-keys").json()
    published = {k["id"]: base64.b64decode(k["public_key"]) for k in keys}
    leaf = base64.b64decode(client.get(f"/ledger/leaves/{created['leaf_index']}").json()["data"])
    qv.verify_record(created, published, leaf)
    altered = json.loads(json.dumps(created))
    altered["payload"]["valid_until"] = "2099-12-31"
    for bad, message in (
        (altered, "signature"),
        ({**created, "key": created["key"] + 1}, "not the issuer's"),
        ({**created, "issuer": {"id": cast.acme.id, "name": "x"}}, "another issuer"),
    ):
        with pytest.raises(qv.RecordError, match=message):
            qv.verify_record(bad, published, leaf)
    other = cast.certificate(number="other")
    with pytest.raises(qv.RecordError, match="another record"):
        qv.verify_record(other, published, leaf)


def test_detached_signatures_with_a_registered_key(cast: Cast) -> None:
    client = cast.platform.client
    private = Ed25519PrivateKey.generate()
    public = base64.b64encode(private.public_key().public_bytes_raw()).decode()
    registered = cast.post("/api/v1/orgs/me/signing-keys", cast.lab, {"public_key": public})
    assert registered["managed"] is False
    cast.post("/api/v1/orgs/me/signing-keys", cast.lab, {"public_key": public}, 409)
    cast.post("/api/v1/orgs/me/signing-keys", cast.lab, {"public_key": "AAAA"}, 422)

    body = certificate(cast.acme, number="DETACHED-1")
    payload = {
        "v": 1,
        "type": "certificate",
        "issuer": cast.lab.id,
        **{k: body[k] for k in ("scheme", "compulsory", "number", "holder", "gtins")},
        "categories": [],
        "valid_from": body["valid_from"],
        "valid_until": body["valid_until"],
        "attachment": None,
    }
    signature = base64.b64encode(private.sign(qv.signed_bytes(payload))).decode()
    signed = {**body, "signature": {"key": registered["id"], "value": signature}}
    created = cast.post("/api/v1/certificates", cast.lab, signed)
    assert created["key"] == registered["id"]
    assert created["signature"] == signature
    assert created["payload"] == payload
    keys = client.get(f"/api/v1/orgs/{cast.lab.id}/signing-keys").json()
    leaf = base64.b64decode(client.get(f"/ledger/leaves/{created['leaf_index']}").json()["data"])
    qv.verify_record(created, {k["id"]: base64.b64decode(k["public_key"]) for k in keys}, leaf)

    # A signature over anything else is refused, and nothing is stored.
    tampered = {**signed, "number": "DETACHED-2"}
    refused = cast.post("/api/v1/certificates", cast.lab, tampered, 422)
    assert refused["field"] == "signature"
    assert '"number":"DETACHED-2"' in refused["detail"]
    # Another organisation cannot sign with the lab's key.
    other = cast.post(
        "/api/v1/commitments",
        cast.acme,
        {**commitment(), "signature": {"key": registered["id"], "value": signature}},
        404,
    )
    assert other["field"] == "signature.key"
    # A revoked key signs nothing new; what it signed stays verifiable.
    revoked = client.post(
        f"/api/v1/orgs/me/signing-keys/{registered['id']}/revoke", headers=cast.lab.auth
    )
    assert revoked.json()["revoked_at"] is not None
    again = {**signed, "number": "DETACHED-3"}
    cast.post("/api/v1/certificates", cast.lab, again, 422)
    assert client.get(f"/api/v1/certificates/{created['id']}").json()["signature"] == signature
