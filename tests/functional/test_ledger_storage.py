"""The log in the database: appends in batches and alone, roots and proofs that an
independent RFC 9162 verifier accepts, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import random
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from tests.conftest import Platform, add_batch, add_product
from traceseal.db import unit_of_work
from traceseal.ledger import service
from traceseal.ledger.models import LedgerLeaf, LedgerNode
from traceseal.merkle import leaf_hash, verify_consistency, verify_inclusion

GTIN = "09506000134352"


def reference_root(leaves: list[bytes]) -> bytes:
    """MTH over leaf hashes, straight from RFC 9162 section 2.1.1."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(
        b"\x01" + reference_root(leaves[:k]) + reference_root(leaves[k:])
    ).digest()


def test_appends_roots_and_proofs_agree_with_the_rfc(platform: Platform) -> None:
    data: list[bytes] = []
    rng = random.Random(5)
    roots = {0: hashlib.sha256(b"").digest()}
    for batch in [1, 1, 3, 7, 64, 1, 200, 5]:
        records = [(f"test.{len(data) + i}", rng.randbytes(20)) for i in range(batch)]
        with unit_of_work(platform.session_factory) as session:
            indexes = service.append(session, records)
        assert indexes == list(range(len(data), len(data) + batch))
        data.extend(d for _, d in records)
        with platform.session_factory() as session:
            roots[len(data)] = service.root_hash(session)
        assert roots[len(data)] == reference_root([leaf_hash(d) for d in data])
    size = len(data)
    with platform.session_factory() as session:
        for index in rng.sample(range(size), 30):
            proof = service.prove_inclusion(session, index, size)
            assert verify_inclusion(index, size, leaf_hash(data[index]), proof, roots[size])
        for old in roots:
            proof = service.prove_consistency(session, old, size)
            assert verify_consistency(old, size, roots[old], roots[size], proof)
        # Average stored nodes per leaf stays below two: appends are O(1) amortised.
        nodes = session.scalar(select(func.count()).select_from(LedgerNode))
        assert nodes < 2 * size


def test_a_failed_transaction_leaves_no_leaf_and_no_node(platform: Platform) -> None:
    try:
        with unit_of_work(platform.session_factory) as session:
            service.append(session, [("test", b"one"), ("test", b"two")])
            raise RuntimeError("the record's own insert failed")
    except RuntimeError:
        pass
    with platform.session_factory() as session:
        assert service.size(session) == 0
        assert session.scalar(select(func.count()).select_from(LedgerLeaf)) == 0
        assert session.scalar(select(func.count()).select_from(LedgerNode)) == 0


def test_concurrent_appenders_queue_and_the_tree_stays_whole(platform: Platform) -> None:
    def add(n: int) -> list[int]:
        with unit_of_work(platform.session_factory) as session:
            return service.append(session, [("test", f"{n}-{i}".encode()) for i in range(3)])

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(add, range(24)))
    assert sorted(i for batch in results for i in batch) == list(range(72))
    with platform.session_factory() as session:
        leaves = session.scalars(select(LedgerLeaf).order_by(LedgerLeaf.index)).all()
        expected = reference_root([leaf_hash(leaf.data) for leaf in leaves])
        assert service.root_hash(session) == expected


def test_leaf_records_are_canonical_and_versioned() -> None:
    one = service.leaf_record("code_run.issued", "code_run:1", {"b": 2, "a": "é"})
    two = service.leaf_record("code_run.issued", "code_run:1", {"a": "é", "b": 2})
    assert one == two
    assert one.startswith(b'{"kind":"code_run.issued","ref":"code_run:1","sha256":"')
    assert one.endswith(b'","v":1}')


def test_code_run_changes_are_leaves_an_auditor_can_recompute(platform: Platform) -> None:
    acme = platform.org("Acme")
    add_product(platform, acme, GTIN)
    add_batch(platform, acme, GTIN, "L1")
    run = platform.client.post(
        "/api/v1/code-runs", json={"product": GTIN, "count": 100}, headers=acme.auth
    ).json()
    activated = platform.client.post(
        f"/api/v1/code-runs/{run['run']}/activate",
        json={"lot": "L1", "range": "1-60"},
        headers=acme.auth,
    )
    voided = platform.client.post(
        f"/api/v1/code-runs/{run['run']}/void",
        json={"range": "61-70", "reason": "roll damaged"},
        headers=acme.auth,
    )
    assert activated.status_code == voided.status_code == 200
    assert run["leaf_index"] == 0
    ref = f"code_run:{run['run']}"
    # What a reader of the API can rebuild, hashed as the leaf says.
    expected = [
        (
            "code_run.issued",
            {
                "run": run["run"],
                "organization": acme.id,
                "slot": int(run["slot"]),
                "first": run["first"],
                "count": 100,
                "product": GTIN,
                "pin": False,
            },
        ),
        (
            "code_run.activated",
            {"run": run["run"], "first": 1, "last": 60, "gtin": GTIN, "lot": "L1"},
        ),
        ("code_run.voided", {"run": run["run"], "first": 61, "last": 70, "reason": "roll damaged"}),
    ]
    with platform.session_factory() as session:
        leaves = session.scalars(select(LedgerLeaf).order_by(LedgerLeaf.index)).all()
        assert [leaf.kind for leaf in leaves] == [kind for kind, _ in expected]
        for leaf, (kind, content) in zip(leaves, expected, strict=True):
            assert leaf.data == service.leaf_record(kind, ref, content)
    # A failed change appends nothing.
    refused = platform.client.post(
        f"/api/v1/code-runs/{run['run']}/activate",
        json={"lot": "L1", "range": "61-62"},
        headers=acme.auth,
    )
    assert refused.status_code == 409
    with platform.session_factory() as session:
        assert service.size(session) == 3
