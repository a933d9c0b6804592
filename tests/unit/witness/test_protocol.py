"""The bytes of tlog-witness add-checkpoint: requests, 409 sizes and cosignature answers.

The request vector is the example of the C2SP tlog-witness specification
(https://c2sp.org/tlog-witness), used as data only.
"""

from __future__ import annotations

import base64
import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

from traceseal.merkle.note import ALG_COSIGNATURE_V1, Signer, cosign, verify_cosignature
from traceseal.witness import protocol
from traceseal.witness.protocol import (
    MAX_PROOF_LINES,
    AddCheckpoint,
    ProtocolError,
    encode_cosignatures,
    encode_size,
    parse_cosignatures,
    parse_size,
)

SPEC_CHECKPOINT = (
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    "\n"
    "\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u"
    "5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    "\u2014 example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wk"
    "s+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n"
)
SPEC_PROOF = [
    "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=",
    "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=",
    "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=",
    "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=",
]
SPEC_REQUEST = "old 20852014\n" + "".join(h + "\n" for h in SPEC_PROOF) + "\n" + SPEC_CHECKPOINT


def test_the_specifications_example_request_reads_and_writes_back_byte_for_byte() -> None:
    request = AddCheckpoint.parse(SPEC_REQUEST.encode())
    assert request.old_size == 20852014
    assert request.proof == tuple(base64.b64decode(h) for h in SPEC_PROOF)
    assert request.checkpoint == SPEC_CHECKPOINT
    assert request.encode() == SPEC_REQUEST.encode()


def test_an_old_size_of_zero_has_no_proof_lines() -> None:
    request = AddCheckpoint(0, (), SPEC_CHECKPOINT)
    assert request.encode() == b"old 0\n\n" + SPEC_CHECKPOINT.encode()
    assert AddCheckpoint.parse(request.encode()) == request


@given(
    old=st.integers(0, 2**63 - 1),
    proof=st.lists(st.binary(min_size=32, max_size=32), max_size=MAX_PROOF_LINES),
    checkpoint=st.text(min_size=1).filter(lambda t: not t.startswith("\n")),
)
def test_every_request_reads_back_as_written(old: int, proof: list[bytes], checkpoint: str) -> None:
    request = AddCheckpoint(old, tuple(proof), checkpoint)
    assert AddCheckpoint.parse(request.encode()) == request


_HASH = SPEC_PROOF[0]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "end with an empty line"),
        # Without the empty line, the checkpoint's lines are read as proof lines.
        (b"old 1\n" + SPEC_CHECKPOINT.encode(), "base64"),
        (b"\n\n" + SPEC_CHECKPOINT.encode(), "old size line"),
        (b"old: 1\n\n" + SPEC_CHECKPOINT.encode(), "old size line"),
        (b"Old 1\n\n" + SPEC_CHECKPOINT.encode(), "old size line"),
        (b"old 01\n\n" + SPEC_CHECKPOINT.encode(), "leading zeros"),
        (b"old -1\n\n" + SPEC_CHECKPOINT.encode(), "leading zeros"),
        (b"old 1 \n\n" + SPEC_CHECKPOINT.encode(), "leading zeros"),
        (b"old  1\n\n" + SPEC_CHECKPOINT.encode(), "leading zeros"),
        (b"old 9223372036854775808\n\n" + SPEC_CHECKPOINT.encode(), r"2\^63"),
        (f"old 1\n{_HASH[:-1]}\n\n".encode() + SPEC_CHECKPOINT.encode(), "base64"),
        (f"old 1\n{_HASH} \n\n".encode() + SPEC_CHECKPOINT.encode(), "base64"),
        (b"old 1\nAAAA\n\n" + SPEC_CHECKPOINT.encode(), "32 bytes"),
        (
            ("old 1\n" + f"{_HASH}\n" * 64 + "\n").encode() + SPEC_CHECKPOINT.encode(),
            "at most 63",
        ),
        (b"old 1\n\n", "followed by the checkpoint"),
        (b"old 1\n\n\xff", "not UTF-8"),
    ],
)
def test_malformed_requests_are_refused_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason):
        AddCheckpoint.parse(body)


def test_sizes_in_409_answers() -> None:
    assert encode_size(0) == b"0\n"
    assert parse_size(b"20852014\n") == 20852014
    for bad in (b"", b"12", b"012\n", b"-1\n", b"1 \n", b"x\n", b"1\n\n"):
        with pytest.raises(ProtocolError):
            parse_size(bad)


def test_cosignature_answers_read_as_the_checkpoints_signatures() -> None:
    text = SPEC_CHECKPOINT.split("\n\n")[0] + "\n"
    witness = Signer.generate("witness.example/w1", ALG_COSIGNATURE_V1)
    other = Signer.generate("witness.example/w2", ALG_COSIGNATURE_V1)
    body = encode_cosignatures([cosign(witness, text, 1679315147), cosign(other, text, 7)])
    assert body.count("\n") == 2
    assert body.startswith("\u2014 witness.example/w1 ")
    first, second = parse_cosignatures(text, body.encode())
    assert verify_cosignature(witness.verifier, text, first) == 1679315147
    assert verify_cosignature(witness.verifier, text, second) is None  # another key
    assert verify_cosignature(other.verifier, text, second) == 7
    for bad in (b"", b"cosigned!\n", b"\xe2\x80\x94 w1 AAAA", b"\xff\n"):
        with pytest.raises(ProtocolError):
            parse_cosignatures(text, bad)


def test_the_modules_examples() -> None:
    results = doctest.testmod(protocol)
    assert results.attempted > 0
    assert results.failed == 0
