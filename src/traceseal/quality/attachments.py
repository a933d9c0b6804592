"""PDF attachments stored by content: ``DATA_DIR/attachments/<aa>/<sha256>.pdf``.

The same bytes are stored once however many records cite them, and a record's signed payload
names its attachment by SHA-256, so the signature covers the document too. Files are written
under a temporary name and renamed, so a reader never sees half a file; a file whose
record was rolled back stays, harmless, until the same bytes are cited again.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from traceseal.errors import InvalidInput, NotFound

_HEX = re.compile(r"^[0-9a-f]{64}$")


class AttachmentStore:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def path(self, sha256: str) -> Path:
        if not _HEX.match(sha256):
            raise NotFound(f"no attachment {sha256!r}", field="attachment")
        return self.root / sha256[:2] / f"{sha256}.pdf"

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def require(self, sha256: str | None) -> None:
        """Raises NotFound unless ``sha256`` (if given) names a stored attachment."""
        if sha256 is not None and not self.exists(sha256):
            raise NotFound(
                f"no attachment {sha256}: upload it to /api/v1/attachments first",
                field="attachment",
            )

    def put(self, data: bytes) -> str:
        """Store a PDF; returns its SHA-256 (hex)."""
        if len(data) > self.max_bytes:
            raise InvalidInput(
                f"attachments are at most {self.max_bytes:,} bytes", field="attachment"
            )
        if not data.startswith(b"%PDF-"):
            raise InvalidInput("attachments must be PDF documents", field="attachment")
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.is_file():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, suffix=".partial")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            Path(temporary).replace(target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return digest
