"""Signed notes, Ed25519 note keys, tlog checkpoints and witness cosignatures.

Formats (docs/ledger.md), each from its C2SP specification:

* signed-note (https://c2sp.org/signed-note): a UTF-8 text ending in a newline, a blank
  line, then one line per signature: ``— <name> <base64(4-byte key ID || signature)>``.
  The key ID of an Ed25519 key is the first 4 bytes of
  SHA-256(name || 0x0A || 0x01 || 32-byte public key). A verifier key is written
  ``<name>+<8 hex key ID>+<base64(0x01 || public key)>``; a signer key
  ``PRIVATE+KEY+<name>+<8 hex key ID>+<base64(0x01 || 32-byte seed)>``.
* tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the note text is the log's origin
  line, the tree size in decimal, the base64 root hash, then optional extension lines.
* tlog-cosignature (https://c2sp.org/tlog-cosignature), version 1: a witness signs
  ``cosignature/v1\\ntime <seconds>\\n`` followed by the checkpoint text, with a key whose
  ID uses the type byte 0x04; the signature line holds key ID || 8-byte big-endian
  timestamp || Ed25519 signature.

Pure: no database, no web. Parsing is strict; every function that accepts outside input
raises :class:`NoteError` with a reason rather than guessing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "ALG_COSIGNATURE_V1",
    "ALG_ED25519",
    "Checkpoint",
    "Note",
    "NoteError",
    "NoteSignature",
    "Signer",
    "Verifier",
    "cosign",
    "cosignature_message",
    "key_id",
    "open_note",
    "parse_note",
    "sign_note",
    "verify_cosignature",
]

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
_DASH = "\u2014"  # EM DASH, then a space, starts every signature line
_SIGNATURE_LINE = re.compile(rf"^{_DASH} (\S+) ([A-Za-z0-9+/=]+)$")
_SIZE = re.compile(r"^(0|[1-9][0-9]*)$")
#: Signatures a note may carry before it is refused as malformed (signed-note).
MAX_SIGNATURES = 100


class NoteError(ValueError):
    """A malformed key, note or checkpoint, or one whose signature does not verify."""


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError(f"{what} is not standard base64") from exc


def _check_name(name: str) -> str:
    if not name or "+" in name or any(ch.isspace() for ch in name):
        raise NoteError(f"key name {name!r} must be non-empty, without spaces or '+'")
    return name


def key_id(name: str, algorithm: int, public_key: bytes) -> bytes:
    """The 4-byte key ID of a note key.

    >>> key_id("PeterNeumann", ALG_ED25519, bytes(32)).hex()
    '60b9fb2a'
    """
    data = name.encode() + b"\n" + bytes([algorithm]) + public_key
    return hashlib.sha256(data).digest()[:4]


def _raw_public(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True, slots=True)
class Verifier:
    """A public note key: checks signatures by ``name`` with ``key_id``."""

    name: str
    algorithm: int
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.algorithm, self.public_key)

    def encode(self) -> str:
        """``<name>+<hex key ID>+<base64(type || public key)>``."""
        blob = base64.b64encode(bytes([self.algorithm]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{blob}"

    @classmethod
    def parse(cls, text: str) -> Verifier:
        """Parse a verifier key; raises NoteError if malformed or its key ID is wrong."""
        name, sep1, rest = text.strip().partition("+")
        hex_id, sep2, blob = rest.partition("+")
        if not (sep1 and sep2) or not re.fullmatch(r"[0-9a-f]{8}", hex_id):
            raise NoteError("a verifier key is <name>+<8 hex digits>+<base64 key>")
        raw = _b64decode(blob, "the verifier key")
        if len(raw) != 33 or raw[0] not in (ALG_ED25519, ALG_COSIGNATURE_V1):
            raise NoteError("only Ed25519 keys (types 0x01 and 0x04) are supported")
        verifier = cls(_check_name(name), raw[0], raw[1:])
        if verifier.key_id.hex() != hex_id:
            raise NoteError("the verifier key's ID does not match its name and key")
        return verifier

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True, slots=True)
class Signer:
    """A private Ed25519 note key (type 0x01 for notes, 0x04 for witness cosignatures)."""

    name: str
    seed: bytes
    algorithm: int = ALG_ED25519

    @classmethod
    def generate(cls, name: str, algorithm: int = ALG_ED25519) -> Signer:
        private = Ed25519PrivateKey.generate()
        seed = private.private_bytes_raw()
        return cls(_check_name(name), seed, algorithm)

    def _private(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, self.algorithm, _raw_public(self._private().public_key()))

    def encode(self) -> str:
        """``PRIVATE+KEY+<name>+<hex key ID>+<base64(type || seed)>``: keep it secret."""
        blob = base64.b64encode(bytes([self.algorithm]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id.hex()}+{blob}"

    @classmethod
    def parse(cls, text: str) -> Signer:
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("a signer key is PRIVATE+KEY+<name>+<hex key ID>+<base64 key>")
        _, _, name, hex_id, blob = parts
        raw = _b64decode(blob, "the signer key")
        if len(raw) != 33 or raw[0] not in (ALG_ED25519, ALG_COSIGNATURE_V1):
            raise NoteError("only Ed25519 keys (types 0x01 and 0x04) are supported")
        signer = cls(_check_name(name), raw[1:], raw[0])
        if signer.verifier.key_id.hex() != hex_id:
            raise NoteError("the signer key's ID does not match its name and key")
        return signer

    def sign(self, message: bytes) -> bytes:
        return self._private().sign(message)


@dataclass(frozen=True, slots=True)
class NoteSignature:
    name: str
    key_id: bytes
    #: What follows the key ID: the Ed25519 signature, or timestamp || signature (0x04).
    signature: bytes

    def line(self) -> str:
        blob = base64.b64encode(self.key_id + self.signature).decode()
        return f"{_DASH} {self.name} {blob}\n"


@dataclass(frozen=True, slots=True)
class Note:
    text: str
    signatures: tuple[NoteSignature, ...]

    def encode(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("a note's text must end with a newline")
    if any(ord(ch) < 0x20 and ch != "\n" for ch in text):
        raise NoteError("a note's text must not contain control characters")


def sign_note(text: str, signers: Iterable[Signer]) -> str:
    """The signed note: ``text``, a blank line, one signature line per signer.

    >>> signer = Signer.parse(
    ...     "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
    >>> sign_note("hello\\n", [signer]).splitlines()[2].startswith("— PeterNeumann ")
    True
    """
    _check_text(text)
    signatures = []
    for signer in signers:
        if signer.algorithm != ALG_ED25519:
            raise NoteError("cosignature keys sign with cosign(), not as plain notes")
        signature = signer.sign(text.encode())
        signatures.append(NoteSignature(signer.name, signer.verifier.key_id, signature))
    return Note(text, tuple(signatures)).encode()


def parse_note(message: str) -> Note:
    """Split a signed note into its text and signature lines (nothing verified yet)."""
    if not message.endswith("\n"):
        raise NoteError("a signed note ends with a newline")
    split = message.rfind("\n\n")
    if split < 0:
        raise NoteError("a signed note has a blank line before its signatures")
    text, block = message[: split + 1], message[split + 2 :]
    _check_text(text)
    lines = block.splitlines()
    if not lines:
        raise NoteError("a signed note has at least one signature")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"a note may carry at most {MAX_SIGNATURES} signatures")
    signatures = []
    for line in lines:
        match = _SIGNATURE_LINE.match(line)
        if match is None:
            raise NoteError(f"not a signature line: {line[:80]!r}")
        raw = _b64decode(match.group(2), "a signature")
        if len(raw) < 5:
            raise NoteError("a signature is a 4-byte key ID and the signature")
        signatures.append(NoteSignature(_check_name(match.group(1)), raw[:4], raw[4:]))
    return Note(text, tuple(signatures))


def open_note(message: str, verifiers: Sequence[Verifier]) -> tuple[Note, list[Verifier]]:
    """Parse ``message`` and verify its signatures by the given Ed25519 (0x01) keys.

    Returns the note and the verifiers whose signatures checked; raises NoteError if the
    note is malformed, if a signature by one of ``verifiers`` is wrong, or if none of them
    signed. Signatures by unknown keys are ignored, as the spec requires. The caller must
    still check that the keys it needs are among those returned.
    """
    note = parse_note(message)
    known = {(v.name, v.key_id): v for v in verifiers if v.algorithm == ALG_ED25519}
    verified: list[Verifier] = []
    for signature in note.signatures:
        verifier = known.get((signature.name, signature.key_id))
        if verifier is None:
            continue
        if not verifier.verify(note.text.encode(), signature.signature):
            raise NoteError(f"the signature by {signature.name} does not verify")
        if verifier not in verified:
            verified.append(verifier)
    if not verified:
        raise NoteError("the note carries no signature by a known key")
    return note, verified


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The body of a tlog checkpoint: origin, tree size, root hash, extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        return "".join(line + "\n" for line in (*lines, *self.extensions))

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint's note text (the part before the blank line)."""
        _check_text(text)
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise NoteError("a checkpoint has an origin, a tree size and a root hash")
        origin, size, root, *extensions = lines
        if not origin:
            raise NoteError("a checkpoint's origin line is empty")
        if not _SIZE.match(size):
            raise NoteError("a checkpoint's tree size is a decimal number without leading zeros")
        digest = _b64decode(root, "the root hash")
        if len(digest) != 32:
            raise NoteError("a checkpoint's root hash is 32 bytes")
        if any(not line for line in extensions):
            raise NoteError("a checkpoint's extension lines are not empty")
        return cls(origin, int(size), digest, tuple(extensions))


def cosignature_message(checkpoint_text: str, timestamp: int) -> bytes:
    """What a witness signs for cosignature/v1 over a checkpoint at ``timestamp`` (seconds)."""
    return f"cosignature/v1\ntime {timestamp}\n{checkpoint_text}".encode()


def cosign(signer: Signer, checkpoint_text: str, timestamp: int) -> NoteSignature:
    """A witness's cosignature/v1 on a checkpoint (``signer`` of type 0x04)."""
    if signer.algorithm != ALG_COSIGNATURE_V1:
        raise NoteError("cosignatures use keys of type 0x04")
    signature = signer.sign(cosignature_message(checkpoint_text, timestamp))
    return NoteSignature(
        signer.name, signer.verifier.key_id, timestamp.to_bytes(8, "big") + signature
    )


def verify_cosignature(
    verifier: Verifier, checkpoint_text: str, signature: NoteSignature
) -> int | None:
    """The cosignature's timestamp if ``signature`` is ``verifier``'s valid cosignature."""
    if verifier.algorithm != ALG_COSIGNATURE_V1 or signature.key_id != verifier.key_id:
        return None
    if signature.name != verifier.name or len(signature.signature) != 8 + 64:
        return None
    timestamp = int.from_bytes(signature.signature[:8], "big")
    message = cosignature_message(checkpoint_text, timestamp)
    return timestamp if verifier.verify(message, signature.signature[8:]) else None
