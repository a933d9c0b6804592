"""Signed notes, checkpoints and cosignatures against published vectors.

Vectors: the PeterNeumann key pair and note from the documentation and tests of
golang.org/x/mod/sumdb/note (BSD-3-Clause), and the verifier key and note of the C2SP
signed-note specification's example (https://c2sp.org/signed-note). Used as data only.
"""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from traceseal.merkle.note import (
    ALG_COSIGNATURE_V1,
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    cosign,
    open_note,
    parse_note,
    sign_note,
    verify_cosignature,
)

GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FF"
    "YC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6Tf"
    "Xppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)


def test_signing_reproduces_the_published_note_byte_for_byte() -> None:
    signer = Signer.parse(GO_SKEY)
    assert signer.encode() == GO_SKEY
    assert signer.verifier.encode() == GO_VKEY
    assert sign_note(GO_TEXT, [signer]) == GO_NOTE  # Ed25519 is deterministic


@pytest.mark.parametrize(("vkey", "message"), [(GO_VKEY, GO_NOTE), (SPEC_VKEY, SPEC_NOTE)])
def test_published_notes_open_with_their_keys(vkey: str, message: str) -> None:
    verifier = Verifier.parse(vkey)
    assert verifier.encode() == vkey
    note, verified = open_note(message, [verifier])
    assert verified == [verifier]
    assert note.encode() == message


@pytest.mark.parametrize(
    "tamper",
    [
        lambda m: m.replace("problem,", "problem;"),  # the text
        lambda m: m.replace("x08go", "x08gp"),  # the signature
        lambda m: m.replace("PeterNeumann", "PeterNeumanm"),  # the name: unknown key
    ],
)
def test_a_changed_note_does_not_open(tamper) -> None:
    with pytest.raises(NoteError):
        open_note(tamper(GO_NOTE), [Verifier.parse(GO_VKEY)])


@pytest.mark.parametrize(
    "message",
    [
        GO_TEXT,  # no signatures
        GO_NOTE[:-1],  # no final newline
        GO_NOTE.replace("\u2014", "-"),  # not an em dash
        GO_NOTE.replace("x08go/", "x08go/!"),  # not base64
        "text\n\n\u2014 name AAAA\n",  # too short for a key ID and a signature
        "ctrl\x07\n\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQ==\n",
    ],
)
def test_malformed_notes_are_refused(message: str) -> None:
    with pytest.raises(NoteError):
        open_note(message, [Verifier.parse(GO_VKEY)])


@pytest.mark.parametrize(
    "key",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong ID
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # space
        "PeterNeumann+c74f20a3+AhpcMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # bad length
        "PeterNeumann+c74f20a3",
    ],
)
def test_malformed_verifier_keys_are_refused(key: str) -> None:
    with pytest.raises(NoteError):
        Verifier.parse(key)


def test_unknown_signers_are_ignored_but_someone_known_must_sign() -> None:
    other = Signer.generate("witness.example")
    message = sign_note(GO_TEXT, [other, Signer.parse(GO_SKEY)])
    _, verified = open_note(message, [Verifier.parse(GO_VKEY)])
    assert [v.name for v in verified] == ["PeterNeumann"]
    with pytest.raises(NoteError, match="no signature by a known key"):
        open_note(message, [Signer.generate("stranger").verifier])


def test_checkpoint_text_round_trips_and_is_strict() -> None:
    root = bytes(range(32))
    checkpoint = Checkpoint("traceseal.example/log", 12345, root, ("ext line",))
    text = checkpoint.text()
    assert text == (f"traceseal.example/log\n12345\n{base64.b64encode(root).decode()}\next line\n")
    assert Checkpoint.parse(text) == checkpoint
    for bad in (
        "origin\n012\n" + base64.b64encode(root).decode() + "\n",  # leading zero
        "origin\n12\n" + base64.b64encode(root[:31]).decode() + "\n",  # short hash
        "\n12\n" + base64.b64encode(root).decode() + "\n",  # empty origin
        "origin\n12\n",  # no hash
    ):
        with pytest.raises(NoteError):
            Checkpoint.parse(bad)


def test_a_signed_checkpoint_opens_and_parses() -> None:
    signer = Signer.generate("traceseal.example/log")
    checkpoint = Checkpoint("traceseal.example/log", 7, bytes(32))
    note, _ = open_note(sign_note(checkpoint.text(), [signer]), [signer.verifier])
    assert Checkpoint.parse(parse_note(note.encode()).text) == checkpoint


@settings(max_examples=25, deadline=None)
@given(size=st.integers(0, 2**40), timestamp=st.integers(0, 2**40))
def test_cosignatures_verify_only_for_their_checkpoint(size: int, timestamp: int) -> None:
    witness = Signer.generate("witness.example", ALG_COSIGNATURE_V1)
    text = Checkpoint("origin.example", size, bytes(32)).text()
    signature = cosign(witness, text, timestamp)
    assert len(signature.signature) == 8 + 64
    assert verify_cosignature(witness.verifier, text, signature) == timestamp
    other = Checkpoint("origin.example", size + 1, bytes(32)).text()
    assert verify_cosignature(witness.verifier, other, signature) is None
    encoded = Verifier.parse(witness.verifier.encode())
    assert encoded == witness.verifier


def test_the_modules_examples_hold() -> None:
    import doctest

    from traceseal.merkle import note

    results = doctest.testmod(note)
    assert results.attempted > 0
    assert results.failed == 0
