"""``/ledger`` over HTTP: checkpoints that open with the published key, proofs that an RFC
9162 verifier accepts, and tiles from which a client rebuilds the same root on its own."""

from __future__ import annotations

import base64
import time

from fastapi.testclient import TestClient

from tests.conftest import PUBLIC_URL, Platform, Tenant, add_batch, add_product
from traceseal.db import unit_of_work
from traceseal.ledger import checkpoints
from traceseal.merkle import leaf_hash, root, verify_consistency, verify_inclusion
from traceseal.merkle.note import Checkpoint, Verifier, open_note
from traceseal.merkle.tiles import (
    ENTRIES,
    Tile,
    decode_entry_bundle,
    nodes_from_tile,
    tiles_for_size,
)

GTIN = "09506000134352"


def _publish(platform: Platform) -> None:
    with unit_of_work(platform.session_factory) as session:
        checkpoints.publish(
            session, platform.app.state.keyring, platform.settings.resolved_ledger_origin
        )


def _checkpoint(platform: Platform, verifier: Verifier) -> Checkpoint:
    response = platform.client.get("/ledger/checkpoint")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    note, _ = open_note(response.text, [verifier])
    return Checkpoint.parse(note.text)


def _grow(platform: Platform, tenant: Tenant, runs: int) -> None:
    """``runs`` issuances: one log leaf each."""
    for _ in range(runs):
        response = platform.client.post(
            "/api/v1/code-runs", json={"product": GTIN, "count": 10}, headers=tenant.auth
        )
        assert response.status_code == 201


def test_checkpoints_proofs_and_tiles_verify_independently(platform: Platform) -> None:
    assert platform.client.get("/ledger/checkpoint").status_code == 404
    acme = platform.org("Acme")
    add_product(platform, acme, GTIN)
    add_batch(platform, acme, GTIN, "L1")
    _grow(platform, acme, 5)
    _publish(platform)
    verifier = Verifier.parse(platform.client.get("/ledger/key").text)
    assert verifier.name == PUBLIC_URL.removeprefix("https://") + "/log"
    first = _checkpoint(platform, verifier)
    assert first.origin == verifier.name
    assert first.size == 5

    _grow(platform, acme, 300)  # past one full tile of 256 leaves
    _publish(platform)
    second = _checkpoint(platform, verifier)
    assert second.size == 305

    for index in (0, 4, 255, 256, 304):
        proof = platform.client.get(f"/ledger/proof/inclusion?index={index}&size=305").json()
        leaf = platform.client.get(f"/ledger/leaves/{index}").json()
        assert leaf["leaf_hash"] == leaf_hash(base64.b64decode(leaf["data"])).hex()
        assert proof["leaf_hash"] == leaf["leaf_hash"]
        path = [bytes.fromhex(h) for h in proof["proof"]]
        assert verify_inclusion(index, 305, bytes.fromhex(leaf["leaf_hash"]), path, second.root)
    consistency = platform.client.get("/ledger/proof/consistency?old=5&new=305").json()
    path = [bytes.fromhex(h) for h in consistency["proof"]]
    assert verify_consistency(5, 305, first.root, second.root, path)

    # A tlog-tiles client: fetch every tile of the checkpoint, rebuild the root itself.
    store: dict[tuple[int, int], bytes] = {}
    for tile in tiles_for_size(305):
        body = platform.client.get(f"/ledger/{tile.path}")
        assert body.status_code == 200, tile.path
        for node in nodes_from_tile(tile, body.content):
            store[(node.level, node.index)] = node.hash
    assert root(305, lambda addresses: [store[a] for a in addresses]) == second.root
    bundle = platform.client.get(f"/ledger/{Tile(ENTRIES, 1, 49).path}").content
    entries = decode_entry_bundle(bundle)
    assert [leaf_hash(e) for e in entries] == [store[(0, 256 + i)] for i in range(49)]


def test_past_the_checkpoint_and_malformed_requests_are_refused(platform: Platform) -> None:
    acme = platform.org("Acme")
    add_product(platform, acme, GTIN)
    _grow(platform, acme, 3)
    _publish(platform)
    _grow(platform, acme, 2)  # not yet in a checkpoint
    assert platform.client.get("/ledger/proof/inclusion?index=0&size=5").status_code == 422
    assert platform.client.get("/ledger/proof/consistency?old=1&new=4").status_code == 422
    assert platform.client.get("/ledger/proof/inclusion?index=3&size=3").status_code == 422
    assert platform.client.get("/ledger/tile/0/000.p/4").status_code == 404
    assert platform.client.get("/ledger/tile/0/000.p/3").status_code == 200
    assert platform.client.get("/ledger/tile/0/0.p/3").status_code == 404  # malformed
    assert platform.client.get("/ledger/leaves/99").status_code == 404


def test_the_server_publishes_a_checkpoint_soon_after_new_leaves(platform: Platform) -> None:
    acme = platform.org("Acme")
    add_product(platform, acme, GTIN)
    with TestClient(platform.app) as served:  # runs the app's lifespan: the publisher
        issued = served.post(
            "/api/v1/code-runs", json={"product": GTIN, "count": 10}, headers=acme.auth
        )
        assert issued.status_code == 201
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            response = served.get("/ledger/checkpoint")
            if response.status_code == 200:
                break
            time.sleep(0.1)
        assert response.status_code == 200
        assert response.text.split("\n")[1] == "1"
