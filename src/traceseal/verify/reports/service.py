"""Counterfeit reports from consumers: stored for the code's brand owner and the operator."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from datetime import datetime

from PIL import Image, UnidentifiedImageError
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from traceseal.codes.sealcode import CodeFormatError, parse_code
from traceseal.codes.service import Keyring, resolve_code
from traceseal.db import dialect_insert
from traceseal.errors import Forbidden, InvalidInput, NotFound
from traceseal.orgs.models import Organization, Role
from traceseal.orgs.tenancy import OVERSIGHT, mine
from traceseal.verify.reports.models import CounterfeitReport, ReportPhoto

#: Image formats browsers upload from a phone's camera or gallery, as Pillow names them.
PHOTO_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
_READERS = {Role.OPERATOR.value, Role.REGULATOR.value, Role.ENTERPRISE.value}


@dataclass(frozen=True, slots=True)
class ReportInput:
    code: str
    where_bought: str = ""
    description: str = ""
    contact: str = ""
    photo: bytes | None = None


def _text(value: str, name: str, limit: int) -> str:
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(f"{name} is {len(value)} characters; at most {limit}", field=name)
    return value


#: The most pixels a report photo may have (a 48-megapixel phone camera's, with room). Checked
#: from the header before anything is decoded: a small PNG can claim gigapixels, and
#: Pillow's own limit only warns below twice its threshold.
MAX_PHOTO_PIXELS = 50_000_000


def clean_photo(data: bytes, max_bytes: int) -> tuple[bytes, str]:
    """The photo re-encoded (metadata such as GPS position dropped) and its media type, or
    InvalidInput if it is too big, too many pixels, or not an image we accept."""
    if len(data) > max_bytes:
        raise InvalidInput(
            f"the photo is {len(data)} bytes; at most {max_bytes} are accepted", field="photo"
        )
    unreadable = InvalidInput("the photo is not a readable image", field="photo")
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its limit and twice it; the limit below decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
        with image:
            kind = image.format or ""
            if kind not in PHOTO_TYPES:
                raise InvalidInput(
                    f"photos must be JPEG, PNG, WebP or GIF, not {kind or 'unknown'}",
                    field="photo",
                )
            width, height = image.size
            if width * height > MAX_PHOTO_PIXELS:
                raise InvalidInput(
                    f"the photo has {width} x {height} pixels; at most {MAX_PHOTO_PIXELS:,} "
                    "are accepted",
                    field="photo",
                )
            image.load()
            # Re-encoded from pixels alone: whatever else the file carried (EXIF with the
            # reporter's position, comments, other frames) is not kept.
            has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            out = io.BytesIO()
            if has_alpha or kind in ("PNG", "GIF"):
                image.convert("RGBA" if has_alpha else "RGB").save(out, format="PNG")
                return out.getvalue(), "image/png"
            image.convert("RGB").save(out, format="JPEG", quality=90)
            return out.getvalue(), "image/jpeg"
    except InvalidInput:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        OSError,
        SyntaxError,
        ValueError,
    ) as exc:
        raise unreadable from exc


def submit_report(
    session: Session,
    keyring: Keyring,
    data: ReportInput,
    *,
    now: datetime,
    max_photo_bytes: int,
    ip_hash: str | None = None,
    device_hash: str | None = None,
) -> CounterfeitReport:
    try:
        code = parse_code(data.code)
    except CodeFormatError as exc:
        raise InvalidInput(exc.detail, field="code") from exc
    where_bought = _text(data.where_bought, "where_bought", 300)
    description = _text(data.description, "description", 4000)
    contact = _text(data.contact, "contact", 200)
    if not (where_bought or description or data.photo):
        raise InvalidInput(
            "say where you bought it or what looks wrong, or attach a photo", field="description"
        )
    photo_sha = None
    if data.photo:
        photo, media_type = clean_photo(data.photo, max_photo_bytes)
        photo_sha = hashlib.sha256(photo).hexdigest()
        session.execute(
            dialect_insert(session, ReportPhoto)
            .values(sha256=photo_sha, media_type=media_type, size=len(photo), data=photo)
            .on_conflict_do_nothing(index_elements=[ReportPhoto.sha256])
        )

    resolved = resolve_code(session, keyring, code)
    owner = resolved.slot.organization_id if resolved.slot is not None else None
    segment = resolved.segment
    product_id = None
    if segment is None:
        status = "not_found"
    else:
        status = segment.state
        product_id = segment.batch.product_id if segment.batch else segment.run.product_id
    report = CounterfeitReport(
        reported_at=now,
        code=code.text,
        organization_id=owner,
        product_id=product_id,
        code_status=status,
        where_bought=where_bought,
        description=description,
        contact=contact,
        photo_sha256=photo_sha,
        ip_hash=ip_hash,
        device_hash=device_hash,
    )
    session.add(report)
    session.flush()
    return report


def _require_reader(viewer: Organization) -> None:
    if viewer.role not in _READERS:
        raise Forbidden(
            f"reports are for brand owners, the operator and regulators, not {viewer.role}"
        )


def _visible(viewer: Organization) -> Select[CounterfeitReport]:
    # Readers are brand owners and the two oversight roles (_require_reader).
    return mine(select(CounterfeitReport), CounterfeitReport.organization_id, viewer, OVERSIGHT)


def list_reports(
    session: Session,
    viewer: Organization,
    *,
    before: int | None = None,
    limit: int = 100,
    state: str | None = None,
) -> list[CounterfeitReport]:
    _require_reader(viewer)
    query = _visible(viewer)
    if before is not None:
        query = query.where(CounterfeitReport.id < before)
    if state:
        query = query.where(CounterfeitReport.state == state)
    return list(session.scalars(query.order_by(CounterfeitReport.id.desc()).limit(limit)))


def get_report(session: Session, viewer: Organization, report_id: int) -> CounterfeitReport:
    """The report, or NotFound if there is none the viewer may see (the same answer)."""
    _require_reader(viewer)
    report = session.scalar(_visible(viewer).where(CounterfeitReport.id == report_id))
    if report is None:
        raise NotFound(f"no report {report_id}")
    return report


def get_photo(session: Session, viewer: Organization, report_id: int) -> ReportPhoto:
    _require_reader(viewer)
    report = session.scalar(_visible(viewer).where(CounterfeitReport.id == report_id))
    if report is None or report.photo_sha256 is None:
        raise NotFound(f"no photo for report {report_id}")
    photo = session.get(ReportPhoto, report.photo_sha256)
    assert photo is not None
    return photo
