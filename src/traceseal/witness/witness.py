"""The witness: cosign a log's checkpoint only if it extends the one cosigned before.

:meth:`Witness.add_checkpoint` is C2SP tlog-witness's ``add-checkpoint`` without HTTP; it
takes the request body and returns the answer's body or raises :class:`Refused` with the
status code the spec prescribes, checked in the spec's order:

====  ==================================================================================
400   the body is malformed, or its old size is larger than the checkpoint's size
404   the checkpoint's origin is not a log this witness watches
403   no signature on the checkpoint verifies with the log's key
409   the old size is not the size the witness last cosigned (the answer carries that
      size), or the sizes are equal and the root hashes differ (a fork)
422   the consistency proof from the old size to the checkpoint's does not verify
====  ==================================================================================
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from traceseal.merkle import verify_consistency
from traceseal.merkle.note import (
    ALG_COSIGNATURE_V1,
    ALG_ED25519,
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    cosign,
    open_note,
    parse_note,
)
from traceseal.witness.protocol import AddCheckpoint, ProtocolError, encode_cosignatures
from traceseal.witness.state import LogState, WitnessState

__all__ = ["Refused", "Witness"]

log = logging.getLogger("traceseal.witness")


class Refused(Exception):
    """The witness does not cosign; ``status`` is the HTTP status the spec prescribes, and a
    409 carries ``size``, the witness's latest cosigned size for the log."""

    def __init__(self, status: int, detail: str, size: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.size = size


class Witness:
    """Cosigns checkpoints of ``logs`` (their verifier keys) with ``signer`` (type 0x04).

    ``state`` must already watch every log (:meth:`WitnessState.watch`); ``clock`` gives the
    cosignatures' POSIX timestamps.
    """

    def __init__(
        self,
        signer: Signer,
        state: WitnessState,
        logs: Sequence[Verifier],
        clock: Callable[[], float] = time.time,
    ) -> None:
        if signer.algorithm != ALG_COSIGNATURE_V1:
            raise ValueError("a witness signs with a cosignature key (type 0x04)")
        if any(v.algorithm != ALG_ED25519 for v in logs):
            raise ValueError("logs sign checkpoints with Ed25519 note keys (type 0x01)")
        self.signer = signer
        self.state = state
        self._keys: dict[str, list[Verifier]] = {}
        for verifier in logs:
            self._keys.setdefault(verifier.name, []).append(verifier)
        self._clock = clock

    @property
    def verifier(self) -> Verifier:
        return self.signer.verifier

    def add_checkpoint(self, body: bytes) -> str:
        """Check a request and cosign; returns the signature line(s) or raises Refused."""
        try:
            request = AddCheckpoint.parse(body)
            note = parse_note(request.checkpoint)
        except (ProtocolError, NoteError) as exc:
            raise Refused(400, str(exc)) from None
        origin = note.text.split("\n", 1)[0]
        keys = self._keys.get(origin)
        if keys is None:
            raise Refused(404, f"this witness does not watch a log named {origin!r}")
        try:
            open_note(request.checkpoint, keys)
        except NoteError:
            # Signatures by other keys are ignored; this is "none by the log's key verifies".
            raise Refused(403, f"the checkpoint carries no valid signature by {origin}") from None
        try:
            checkpoint = Checkpoint.parse(note.text)
        except NoteError as exc:
            raise Refused(400, str(exc)) from None
        if request.old_size > checkpoint.size:
            raise Refused(
                400, f"old size {request.old_size} is past the checkpoint's {checkpoint.size}"
            )
        known = self.state.get(origin)
        if known is None:
            raise Refused(404, f"this witness has no state for {origin!r}")
        self._check(request, checkpoint, known)
        if not self.state.advance(known, checkpoint.size, checkpoint.root, request.checkpoint):
            # Another request advanced the state between our read and our write.
            latest = self.state.get(origin)
            size = latest.size if latest is not None else known.size
            raise Refused(409, f"this witness has now cosigned size {size}", size)
        cosignature = cosign(self.signer, note.text, int(self._clock()))
        return encode_cosignatures([cosignature])

    def _check(self, request: AddCheckpoint, checkpoint: Checkpoint, known: LogState) -> None:
        if request.old_size != known.size:
            raise Refused(
                409,
                f"old size {request.old_size}; the witness last cosigned size {known.size}",
                known.size,
            )
        if request.old_size == checkpoint.size and checkpoint.root != known.root:
            self._evidence(request, 409, "same size as the cosigned checkpoint, another root")
            raise Refused(
                409,
                f"size {known.size} was cosigned with another root hash: the log forked",
                known.size,
            )
        # For an old size of 0 the proof must be empty: verify_consistency accepts exactly
        # that against the empty tree's root, which the state holds before the first.
        if not verify_consistency(
            request.old_size, checkpoint.size, known.root, checkpoint.root, request.proof
        ):
            self._evidence(request, 422, "the consistency proof does not verify")
            raise Refused(
                422,
                f"the consistency proof from size {request.old_size} to {checkpoint.size} "
                "does not verify",
            )

    def _evidence(self, request: AddCheckpoint, status: int, reason: str) -> None:
        """Keep a signed checkpoint that does not extend what was cosigned: a log that signs
        one has forked, or sent a wrong proof, and a person should look (the spec's MAY)."""
        origin = request.checkpoint.split("\n", 1)[0]
        log.warning(
            "refused a checkpoint signed by %s (%s); kept in %s",
            origin,
            reason,
            self.state.path,
        )
        self.state.record_refusal(origin, request.checkpoint, status, reason, request.old_size)
