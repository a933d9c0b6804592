"""The bytes of C2SP tlog-witness ``add-checkpoint`` (https://c2sp.org/tlog-witness).

Request body: an old size line ``old <size>``, zero to 63 consistency proof lines (one
base64 hash each), an empty line, then the signed checkpoint note. Every line ends in a
newline. A 200 answer is one or more note signature lines (cosignatures); a 409 answer is
the witness's latest cosigned size in decimal and a newline, as ``text/x.tlog.size``.

Pure: used by the witness to read requests and by the log to write them. Parsing is strict
and raises :class:`ProtocolError` naming what is wrong.

>>> request = AddCheckpoint(0, (), "example.com/log\\n1\\n" + "A" * 43 + "=\\n\\n— sig\\n")
>>> AddCheckpoint.parse(request.encode()) == request
True
>>> parse_size(encode_size(20852014))
20852014
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass

from traceseal.merkle import HASH_SIZE
from traceseal.merkle.note import NoteError, NoteSignature, parse_note

__all__ = [
    "MAX_PROOF_LINES",
    "SIZE_MEDIA_TYPE",
    "AddCheckpoint",
    "ProtocolError",
    "encode_cosignatures",
    "encode_size",
    "parse_cosignatures",
    "parse_size",
]

#: The Content-Type of a 409 answer's body.
SIZE_MEDIA_TYPE = "text/x.tlog.size"
#: Clients MUST NOT send more; a consistency proof of a 2^63-leaf tree is shorter.
MAX_PROOF_LINES = 63
#: Tree sizes are unsigned 64-bit on the wire of every tlog implementation; cap them so a
#: decimal string of any length cannot become an arbitrarily large integer.
MAX_SIZE = 2**63 - 1
_DECIMAL = re.compile(r"(0|[1-9][0-9]*)")


class ProtocolError(ValueError):
    """A request or answer that does not follow tlog-witness; the message says how."""


def _size(text: str, what: str) -> int:
    if _DECIMAL.fullmatch(text) is None:
        raise ProtocolError(f"{what} is a decimal number without leading zeros")
    value = int(text)
    if value > MAX_SIZE:
        raise ProtocolError(f"{what} is larger than 2^63 - 1")
    return value


@dataclass(frozen=True, slots=True)
class AddCheckpoint:
    """One ``add-checkpoint`` request: the size the proof starts from, the proof, the note.

    ``checkpoint`` is the signed note exactly as sent; its signatures and body are checked
    by the witness, not here.
    """

    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: str

    def encode(self) -> bytes:
        lines = [f"old {self.old_size}", *(base64.b64encode(h).decode() for h in self.proof)]
        return ("".join(line + "\n" for line in lines) + "\n" + self.checkpoint).encode()

    @classmethod
    def parse(cls, body: bytes) -> AddCheckpoint:
        """Read a request body; raises ProtocolError if it is malformed."""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError("the body is not UTF-8") from exc
        # The old size and proof lines are never empty, so the first blank line is the one
        # that ends them; the note's own blank line (before its signatures) comes later.
        head, blank, checkpoint = text.partition("\n\n")
        if not blank:
            raise ProtocolError("the old size and proof lines end with an empty line")
        old_line, *proof_lines = head.split("\n")
        if not old_line.startswith("old "):
            raise ProtocolError("the body starts with an old size line, 'old <size>'")
        old_size = _size(old_line.removeprefix("old "), "the old size")
        if len(proof_lines) > MAX_PROOF_LINES:
            raise ProtocolError(f"a consistency proof has at most {MAX_PROOF_LINES} lines")
        proof = tuple(_hash(line) for line in proof_lines)
        if not checkpoint:
            raise ProtocolError("the empty line is followed by the checkpoint")
        return cls(old_size, proof, checkpoint)


def _hash(line: str) -> bytes:
    try:
        digest = base64.b64decode(line, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProtocolError("a consistency proof line is one base64 hash") from exc
    if len(digest) != HASH_SIZE:
        raise ProtocolError(f"a consistency proof hash is {HASH_SIZE} bytes")
    return digest


def encode_size(size: int) -> bytes:
    """A 409 answer's body: the witness's latest cosigned size."""
    return f"{size}\n".encode()


def parse_size(body: bytes) -> int:
    """The size in a 409 answer's body; raises ProtocolError if it is not one."""
    text = body.decode("ascii", errors="replace")
    if not text.endswith("\n"):
        raise ProtocolError("a size body ends with a newline")
    return _size(text[:-1], "the witness's size")


def encode_cosignatures(signatures: Sequence[NoteSignature]) -> str:
    """A 200 answer's body: one note signature line per cosignature."""
    return "".join(signature.line() for signature in signatures)


def parse_cosignatures(checkpoint_text: str, body: bytes) -> tuple[NoteSignature, ...]:
    """The signature lines of a 200 answer, read as the signatures of the checkpoint's note.

    The spec suggests exactly this: append the answer to the checkpoint's text and read the
    note. Nothing is verified here; the caller checks each with the witness's key
    (:func:`~traceseal.merkle.note.verify_cosignature`) and ignores unknown keys.
    """
    try:
        return parse_note(checkpoint_text + "\n" + body.decode("utf-8")).signatures
    except (UnicodeDecodeError, NoteError) as exc:
        raise ProtocolError(f"the answer is not note signature lines: {exc}") from exc
