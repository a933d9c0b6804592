"""PDF attachments stored by content: ``DATA_DIR/attachments/<aa>/<sha256>.pdf``.

The same bytes are stored once however many records cite them, and a record's signed payload
names its attachment by SHA-256, so the signature covers the document too. Files are written
under a temporary name and renamed, so a reader never sees half a file; a file whose
upload was rolled back stays, harmless, until the same bytes are uploaded again.

Who uploaded what is in the database (``quality_attachments``): a record may cite only a
PDF its issuer uploaded, and a PDF is served only once a record cites it. Until then it is
the uploader's alone, and for everyone else it answers exactly as a hash nobody uploaded.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from traceseal.db import dialect_insert, utcnow
from traceseal.errors import InvalidInput, NotFound
from traceseal.orgs.models import Organization
from traceseal.quality.models import AttachmentUpload, QualityRecord

_HEX = re.compile(r"^[0-9a-f]{64}$")


class NotAPdf(InvalidInput):
    """The upload is not a PDF a reader can open and show: said in zh-CN and English."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en, field="attachment")
        self.zh = zh

    def said_in(self, lang: str) -> InvalidInput:
        """The same refusal with its detail in ``lang`` (``zh-CN`` or ``en``)."""
        return InvalidInput(self.zh if lang == "zh-CN" else self.detail, field="attachment")


def check_pdf(data: bytes) -> int:
    """The number of pages of the PDF ``data``; raises NotAPdf unless pypdf reads it,
    it is not encrypted, and it has at least one page.

    A ``%PDF-`` prefix proves nothing: anything can follow it, HTML included. The page
    tree is what a viewer shows, so it must be there. pypdf's failures on hostile input are
    not only its own exception types (recursion, index and key errors are possible), so any
    exception while reading means "not a PDF".
    """
    try:
        reader = PdfReader(io.BytesIO(data))
        encrypted = reader.is_encrypted
        pages = 0 if encrypted else len(reader.pages)
    except Exception as exc:  # any failure to read is the file's (see above)
        raise NotAPdf(
            f"附件必须是可以打开的 PDF 文件，此文件无法解析（{type(exc).__name__}）。",
            f"attachments must be PDF documents that open; this file could not be parsed "
            f"({type(exc).__name__})",
        ) from None
    if encrypted:
        raise NotAPdf(
            "附件不能是加密的 PDF：公众和核验方必须无需密码即可阅读。",
            "attachments must not be encrypted PDFs: the public and verifiers read them "
            "without a password",
        )
    if pages == 0:
        raise NotAPdf("附件 PDF 没有任何页面。", "the attached PDF has no pages")
    return pages


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

    def require(self, session: Session, issuer: Organization, sha256: str | None) -> None:
        """Raises NotFound unless ``sha256`` (if given) is a PDF ``issuer`` uploaded.

        Another organisation's upload answers exactly as a hash nobody uploaded."""
        if sha256 is None:
            return
        mine = session.get(AttachmentUpload, (sha256, issuer.id))
        if mine is None or not self.exists(sha256):
            raise NotFound(
                f"you uploaded no attachment {sha256}: upload it to /api/v1/attachments first",
                field="attachment",
            )

    def put(self, data: bytes) -> str:
        """Store a PDF; returns its SHA-256 (hex). Raises NotAPdf (see check_pdf)."""
        if len(data) > self.max_bytes:
            raise InvalidInput(
                f"attachments are at most {self.max_bytes:,} bytes", field="attachment"
            )
        check_pdf(data)
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

    def upload(self, session: Session, uploader: Organization, data: bytes) -> str:
        """Store ``data`` and note that ``uploader`` holds it; returns its SHA-256.

        The same bytes again are the same attachment: no second file, no second row.
        """
        digest = self.put(data)
        session.execute(
            dialect_insert(session, AttachmentUpload)
            .values(sha256=digest, organization_id=uploader.id, uploaded_at=utcnow())
            .on_conflict_do_nothing()
        )
        return digest

    def published(self, session: Session, sha256: str) -> Path:
        """The file of an attachment some record cites (records are public); NotFound for
        one that is not stored or not cited yet, alike."""
        path = self.path(sha256)
        cited = session.scalar(
            select(QualityRecord.id).where(QualityRecord.attachment == sha256).limit(1)
        )
        if cited is None or not path.is_file():
            raise NotFound(f"no attachment {sha256}")
        return path
