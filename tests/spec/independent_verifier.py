"""A transparency-log verifier written from the specifications alone.

It shares no code with ``traceseal``: only the standard library, and ``cryptography`` for
Ed25519. It checks what a third party would check with nothing but the log's answers:

- RFC 9162 (Certificate Transparency 2.0), section 2.1: the Merkle tree hash (2.1.1), the
  contents of inclusion proofs (2.1.3.1) and consistency proofs (2.1.4.1), and the
  verification algorithms for both (2.1.3.2, 2.1.4.2), as the RFC states them, with its
  bit manipulation;
- C2SP signed-note v1.0.0 (https://c2sp.org/signed-note): the note format, key IDs and
  Ed25519 signatures; the verifier key encoding ``<name>+<hex key ID>+<base64 key>`` is the
  one of golang.org/x/mod/sumdb/note, which C2SP signed-note follows;
- C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the checkpoint's note text.

Every check raises a :class:`VerificationError` subclass that says what failed; a function
that returns normally has verified what it was given.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "NoteError",
    "NoteSignature",
    "ProofError",
    "VerificationError",
    "VerifierKey",
    "consistency_ranges",
    "inclusion_ranges",
    "key_id",
    "leaf_hash",
    "merkle_tree_hash",
    "node_hash",
    "open_checkpoint",
    "open_note",
    "parse_checkpoint",
    "parse_note",
    "parse_verifier_key",
    "verify_consistency",
    "verify_inclusion",
]

#: SHA-256, the hash algorithm of every log in this project; RFC 9162 section 2.1 lets a
#: log choose it (HASH), and checkpoints carry 32-byte roots.
HASH_SIZE = 32


class VerificationError(Exception):
    """Something the log served does not verify; the message says what."""


class ProofError(VerificationError):
    """An inclusion or consistency proof does not verify (RFC 9162 section 2.1.3.2, 2.1.4.2)."""


class NoteError(VerificationError):
    """A signed note or verifier key is malformed, or no signature by the key verifies."""


class CheckpointError(VerificationError):
    """A note's text is not a checkpoint (C2SP tlog-checkpoint)."""


# ---------------------------------------------------------------------------------------------
# RFC 9162 section 2.1.1: Merkle tree hashes


def _hash(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_hash(data: bytes) -> bytes:
    """MTH({d(0)}) = HASH(0x00 || d(0)): the hash of one leaf's data (section 2.1.1)."""
    return _hash(b"\x00" + data)


def node_hash(left: bytes, right: bytes) -> bytes:
    """HASH(0x01 || left || right): an interior node (section 2.1.1)."""
    return _hash(b"\x01" + left + right)


def _split(n: int) -> int:
    """k, the largest power of two smaller than n (n > 1), where section 2.1.1 splits."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def merkle_tree_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) from the leaves' hashes (section 2.1.1, computed recursively as defined).

    The empty tree's hash is HASH() of the empty string; one leaf's is its leaf hash; for
    n > 1, with k the largest power of two smaller than n,
    MTH(D[n]) = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n])).
    """
    n = len(leaf_hashes)
    if n == 0:
        return _hash(b"")
    if n == 1:
        return leaf_hashes[0]
    k = _split(n)
    return node_hash(merkle_tree_hash(leaf_hashes[:k]), merkle_tree_hash(leaf_hashes[k:]))


# ---------------------------------------------------------------------------------------------
# What a proof holds: each element is the MTH of a range of leaves [start, end). A client
# uses these to know which of the log's subtrees a proof depends on.


def inclusion_ranges(m: int, n: int) -> list[tuple[int, int]]:
    """The leaf ranges whose hashes make up PATH(m, D[n]), in order (section 2.1.3.1).

    PATH(0, {d(0)}) = {}; for n > 1 and k the largest power of two smaller than n,
    PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) if m < k, and
    PATH(m, D[n]) = PATH(m - k, D[k:n]) : MTH(D[0:k]) if m >= k.
    """
    if not 0 <= m < n:
        raise ValueError(f"need 0 <= m < n, not m={m}, n={n}")

    def path(m: int, start: int, end: int) -> list[tuple[int, int]]:
        size = end - start
        if size == 1:
            return []
        k = _split(size)
        if m < k:
            return [*path(m, start, start + k), (start + k, end)]
        return [*path(m - k, start + k, end), (start, start + k)]

    return path(m, 0, n)


def consistency_ranges(m: int, n: int) -> list[tuple[int, int]]:
    """The leaf ranges whose hashes make up PROOF(m, D[n]), in order (section 2.1.4.1).

    PROOF(m, D[n]) = SUBPROOF(m, D[n], true) for 0 < m < n, where SUBPROOF(m, D[m], true)
    = {}, SUBPROOF(m, D[m], false) = {MTH(D[m])}, and for m < n, with k the largest power
    of two smaller than n: SUBPROOF(m, D[n], b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n]) if
    m <= k, and SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k]) if m > k.
    """
    if not 0 < m < n:
        raise ValueError(f"need 0 < m < n, not m={m}, n={n}")

    def subproof(m: int, start: int, end: int, whole: bool) -> list[tuple[int, int]]:
        size = end - start
        if m == size:
            return [] if whole else [(start, end)]
        k = _split(size)
        if m <= k:
            return [*subproof(m, start, start + k, whole), (start + k, end)]
        return [*subproof(m - k, start + k, end, False), (start, start + k)]

    return subproof(m, 0, n, True)


# ---------------------------------------------------------------------------------------------
# RFC 9162 sections 2.1.3.2 and 2.1.4.2: verifying proofs


def _hashes(path: Sequence[bytes], what: str) -> list[bytes]:
    for element in path:
        if len(element) != HASH_SIZE:
            raise ProofError(f"{what}: an element of {len(element)} bytes, not {HASH_SIZE}")
    return list(path)


def _lsb(x: int) -> bool:
    return bool(x & 1)


def verify_inclusion(
    leaf_index: int, tree_size: int, leaf: bytes, inclusion_path: Sequence[bytes], root: bytes
) -> None:
    """Verify that ``leaf`` (a leaf hash) is at ``leaf_index`` of the tree whose
    ``tree_size``-leaf root hash is ``root``: the algorithm of RFC 9162 section 2.1.3.2.

    The caller must compute ``leaf`` itself from the leaf's data (:func:`leaf_hash`) and take
    ``root`` from a checkpoint it verified.
    """
    path = _hashes(inclusion_path, "inclusion proof")
    # 1. If leaf_index is greater than or equal to tree_size, fail.
    if not 0 <= leaf_index < tree_size:
        raise ProofError(f"leaf index {leaf_index} is not below the tree size {tree_size}")
    # 2. Set fn to leaf_index and sn to tree_size - 1.
    fn, sn = leaf_index, tree_size - 1
    # 3. Set r to hash.
    r = leaf
    # 4. For each value p in the inclusion_path array:
    for p in path:
        # a. If sn is 0, stop the iteration and fail.
        if sn == 0:
            raise ProofError(
                f"inclusion proof of leaf {leaf_index} in size {tree_size} is too long "
                f"({len(path)} hashes)"
            )
        # b. If LSB(fn) is set, or if fn is equal to sn, then:
        if _lsb(fn) or fn == sn:
            # i. Set r to HASH(0x01 || p || r).
            r = node_hash(p, r)
            # ii. If LSB(fn) is not set, right-shift both fn and sn equally until either
            # LSB(fn) is set or fn is 0.
            if not _lsb(fn):
                while not (_lsb(fn) or fn == 0):
                    fn >>= 1
                    sn >>= 1
        # Otherwise: i. Set r to HASH(0x01 || r || p).
        else:
            r = node_hash(r, p)
        # c. Finally, right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    # 5. If sn is equal to 0 and r and the root_hash are equal, the log has proven the
    # inclusion of hash. Otherwise, fail.
    if sn != 0:
        raise ProofError(
            f"inclusion proof of leaf {leaf_index} in size {tree_size} is too short "
            f"({len(path)} hashes)"
        )
    if r != root:
        raise ProofError(
            f"inclusion proof of leaf {leaf_index} in size {tree_size}: the calculated root "
            f"{r.hex()} does not match the root hash {root.hex()}"
        )


def verify_consistency(
    first: int,
    second: int,
    first_hash: bytes,
    second_hash: bytes,
    consistency_path: Sequence[bytes],
) -> None:
    """Verify that the tree of ``second`` leaves with root ``second_hash`` extends the tree
    of ``first`` leaves with root ``first_hash``: RFC 9162 section 2.1.4.2.

    The RFC defines it for 0 < first < second; equal sizes are consistent when their roots
    are equal and the proof is empty (PROOF is not defined for them, nothing is to prove).
    Both roots must come from checkpoints the caller verified.
    """
    path = _hashes(consistency_path, "consistency proof")
    if first == second and first > 0:
        if path:
            raise ProofError(f"consistency proof from size {first} to itself is not empty")
        if first_hash != second_hash:
            raise ProofError(f"two different root hashes for size {first}")
        return
    if not 0 < first < second:
        raise ProofError(f"need 0 < first < second, not first={first}, second={second}")
    # 1. If consistency_path is an empty array, stop and fail the proof verification.
    if not path:
        raise ProofError(f"consistency proof from size {first} to {second} is empty")
    # 2. If first is an exact power of 2, prepend first_hash to the consistency_path array.
    if first & (first - 1) == 0:
        path = [first_hash, *path]
    # 3. Set fn to first - 1 and sn to second - 1.
    fn, sn = first - 1, second - 1
    # 4. If LSB(fn) is set, right-shift both fn and sn equally until LSB(fn) is not set.
    while _lsb(fn):
        fn >>= 1
        sn >>= 1
    # 5. Set both fr and sr to the first value in the consistency_path array.
    fr = sr = path[0]
    # 6. For each subsequent value c in the consistency_path array:
    for c in path[1:]:
        # a. If sn is 0, stop the iteration and fail the proof verification.
        if sn == 0:
            raise ProofError(
                f"consistency proof from size {first} to {second} is too long "
                f"({len(consistency_path)} hashes)"
            )
        # b. If LSB(fn) is set, or if fn is equal to sn, then:
        if _lsb(fn) or fn == sn:
            # i. Set fr to HASH(0x01 || c || fr).  ii. Set sr to HASH(0x01 || c || sr).
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            # iii. If LSB(fn) is not set, right-shift both fn and sn equally until either
            # LSB(fn) is set or fn is 0.
            if not _lsb(fn):
                while not (_lsb(fn) or fn == 0):
                    fn >>= 1
                    sn >>= 1
        # Otherwise: i. Set sr to HASH(0x01 || sr || c).
        else:
            sr = node_hash(sr, c)
        # c. Finally, right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    # 7. Verify that fr equals first_hash, that sr equals second_hash, and that sn is 0.
    if sn != 0:
        raise ProofError(
            f"consistency proof from size {first} to {second} is too short "
            f"({len(consistency_path)} hashes)"
        )
    if fr != first_hash:
        raise ProofError(
            f"consistency proof from size {first} to {second}: the calculated first root "
            f"{fr.hex()} does not match {first_hash.hex()}"
        )
    if sr != second_hash:
        raise ProofError(
            f"consistency proof from size {first} to {second}: the calculated second root "
            f"{sr.hex()} does not match {second_hash.hex()}"
        )


# ---------------------------------------------------------------------------------------------
# C2SP signed-note


#: The signature type identifier byte of Ed25519 (signed-note, "Signature types").
ED25519 = b"\x01"
_EM_DASH = "\u2014"
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f]")


def _b64decode(text: str, what: str, error: type[VerificationError]) -> bytes:
    """Standard base64 (RFC 4648 section 4), strictly: padding and no stray characters."""
    try:
        decoded = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise error(f"{what} is not base64: {text!r}") from exc
    if base64.b64encode(decoded).decode() != text:
        raise error(f"{what} is not canonical base64: {text!r}")
    return decoded


def _check_key_name(name: str, error: type[VerificationError]) -> None:
    # "Key names MUST be non-empty and MUST NOT contain any Unicode spaces or plus."
    if not name or "+" in name or any(ch.isspace() for ch in name):
        raise error(f"invalid key name {name!r}")


def key_id(name: str, signature_type: bytes, public_key: bytes) -> bytes:
    """key ID = SHA-256(key name || 0x0A || signature type || public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + signature_type + public_key).digest()[:4]


@dataclass(frozen=True)
class VerifierKey:
    """An Ed25519 note verifier key."""

    name: str
    key_id: bytes
    public_key: bytes


def parse_verifier_key(text: str) -> VerifierKey:
    """``<name>+<8 hex key ID>+<base64(0x01 || 32-byte public key)>``.

    The key ID given must be the one the name and key imply, or the key is refused.
    """
    parts = text.strip().split("+", 2)  # the name holds no '+', base64 may
    if len(parts) != 3:
        raise NoteError(f"a verifier key has three parts joined by '+': {text!r}")
    name, hex_id, encoded = parts
    _check_key_name(name, NoteError)
    if not re.fullmatch("[0-9a-f]{8}", hex_id):
        raise NoteError(f"the key ID is not 8 hex digits: {hex_id!r}")
    key = _b64decode(encoded, "the verifier key", NoteError)
    if key[:1] != ED25519 or len(key) != 1 + 32:
        raise NoteError("the verifier key is not an Ed25519 key (0x01 || 32 bytes)")
    public_key = key[1:]
    if key_id(name, ED25519, public_key) != bytes.fromhex(hex_id):
        raise NoteError(f"key ID {hex_id} is not the one of {name!r} and its key")
    return VerifierKey(name, bytes.fromhex(hex_id), public_key)


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes


def parse_note(note: str) -> tuple[str, list[NoteSignature]]:
    """Split a signed note into its text (with the final newline) and its signatures.

    Format: a text ending in a newline, a blank line, then one or more lines
    ``— <key name> <base64(4-byte key ID || signature)>`` each ending in a newline. The text
    is separated from the signatures by the last empty line in the note.
    """
    if _CONTROL.search(note):
        raise NoteError("a note must not contain ASCII control characters other than newline")
    if not note.endswith("\n"):
        raise NoteError("a note ends with a newline")
    cut = note.rfind("\n\n")
    if cut < 0:
        raise NoteError("no blank line separates the text from the signatures")
    text, block = note[: cut + 1], note[cut + 2 :]
    if not block:
        raise NoteError("a note has at least one signature line")
    signatures = []
    for line in block[:-1].split("\n"):
        prefix = _EM_DASH + " "
        if not line.startswith(prefix):
            raise NoteError(f"a signature line starts with an em dash and a space: {line!r}")
        fields = line[len(prefix) :].split(" ")
        if len(fields) != 2:
            raise NoteError(f"a signature line is '— <name> <signature>': {line!r}")
        name, encoded = fields
        _check_key_name(name, NoteError)
        raw = _b64decode(encoded, "a signature", NoteError)
        if len(raw) < 5:
            raise NoteError(f"a signature of {len(raw)} bytes holds no more than a key ID")
        signatures.append(NoteSignature(name, raw[:4], raw[4:]))
    return text, signatures


def open_note(note: str, key: VerifierKey) -> str:
    """The note's text, once a signature by ``key`` verifies over it.

    Signatures by other keys (another name or another key ID) are ignored. A signature that
    names the key and its key ID must verify, else the whole note is refused (signed-note,
    "Signatures": verifiers MUST verify it, and SHOULD reject the note if it fails); and if
    none does, the note is refused.
    """
    text, signatures = parse_note(note)
    public_key = Ed25519PublicKey.from_public_bytes(key.public_key)
    verified = False
    for signature in signatures:
        if signature.name != key.name or signature.key_id != key.key_id:
            continue
        try:
            # Ed25519 signatures are made according to RFC 8032 over the note text.
            public_key.verify(signature.signature, text.encode())
        except InvalidSignature:
            raise NoteError(f"the signature by {key.name} does not verify") from None
        verified = True
    if not verified:
        raise NoteError(f"the note carries no signature by {key.name}")
    return text


# ---------------------------------------------------------------------------------------------
# C2SP tlog-checkpoint


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()


def parse_checkpoint(text: str) -> Checkpoint:
    """A checkpoint's note text: at least three non-empty lines, each ending in a newline.

    1. the origin, non-empty; 2. the tree size in decimal, no leading zeros (``0`` for the
    empty tree); 3. the base64 root hash; then optional, non-empty extension lines.
    """
    if not text.endswith("\n"):
        raise CheckpointError("a checkpoint's text ends with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError(f"a checkpoint has at least three lines, not {len(lines)}")
    if any(not line for line in lines):
        raise CheckpointError("a checkpoint's lines are non-empty")
    origin, size, root, *extensions = lines
    if not re.fullmatch("0|[1-9][0-9]*", size):
        raise CheckpointError(f"the tree size is not a decimal without leading zeros: {size!r}")
    digest = _b64decode(root, "the root hash", CheckpointError)
    if len(digest) != HASH_SIZE:
        raise CheckpointError(f"the root hash has {len(digest)} bytes, not {HASH_SIZE}")
    return Checkpoint(origin, int(size), digest, tuple(extensions))


def open_checkpoint(note: str, key: VerifierKey, origin: str | None = None) -> Checkpoint:
    """Verify a checkpoint's signature by the log's ``key``, then parse its text strictly.

    The origin must be the log's: ``origin`` if given, else the key's name (tlog-checkpoint:
    the log's key name SHOULD match the origin line).
    """
    checkpoint = parse_checkpoint(open_note(note, key))
    expected = key.name if origin is None else origin
    if checkpoint.origin != expected:
        raise CheckpointError(f"the checkpoint's origin is {checkpoint.origin!r}, not {expected!r}")
    return checkpoint
