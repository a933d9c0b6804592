"""Bulk CSV import of quality records, the way labs and regulators publish lists.

One file is one transaction: every row is checked (its fields by the record's schema, what
it names by the service that stores it) and every bad row is reported with its line number
and field. If any row is bad nothing is stored; a dry run checks everything and stores
nothing either way. The log leaves of a good file are appended in one go at the end.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from traceseal.errors import DomainError, InvalidInput
from traceseal.orgs.models import Organization
from traceseal.quality import service
from traceseal.quality.models import Kind, QualityRecord
from traceseal.quality.schemas import (
    CertificateCreate,
    CommitmentCreate,
    CreditRatingCreate,
    InspectionReportCreate,
    SamplingResultCreate,
)


@dataclass(frozen=True, slots=True)
class RecordType:
    """A record type as the REST API and the importer name it."""

    path: str
    kind: Kind
    schema: type[BaseModel]
    create: Callable[..., QualityRecord]
    #: Columns holding ``;``-separated lists.
    lists: tuple[str, ...] = ()
    #: Columns naming an organisation, by id or by exact name.
    organisations: tuple[str, ...] = ()
    #: Columns holding JSON.
    json_columns: tuple[str, ...] = ()


TYPES = {
    t.path: t
    for t in (
        RecordType(
            "certificates",
            Kind.CERTIFICATE,
            CertificateCreate,
            service.create_certificate,
            lists=("gtins", "categories"),
            organisations=("holder",),
        ),
        RecordType(
            "inspection-reports",
            Kind.INSPECTION,
            InspectionReportCreate,
            service.create_inspection_report,
            lists=("standards",),
            organisations=("enterprise",),
            json_columns=("items",),
        ),
        RecordType(
            "sampling-results",
            Kind.SAMPLING,
            SamplingResultCreate,
            service.create_sampling_result,
        ),
        RecordType(
            "credit-ratings",
            Kind.CREDIT,
            CreditRatingCreate,
            service.create_credit_rating,
            organisations=("enterprise",),
        ),
        RecordType(
            "commitments",
            Kind.COMMITMENT,
            CommitmentCreate,
            service.create_commitment,
            lists=("standards",),
        ),
    )
}


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    field: str
    message: str


class ImportRejected(InvalidInput):
    """Some rows are bad; ``errors`` names each one. Nothing was stored."""

    def __init__(self, detail: str, errors: list[RowError]) -> None:
        super().__init__(detail)
        self.errors = [{"row": e.row, "field": e.field, "message": e.message} for e in errors]


@dataclass(frozen=True, slots=True)
class ImportResult:
    type: str
    rows: int
    imported: int
    dry_run: bool
    errors: list[RowError]


class _DryRun(Exception):
    """Unwinds a dry run's savepoint."""


def columns(record_type: RecordType) -> list[str]:
    """The CSV header for a record type (detached signatures are not imported)."""
    return [name for name in record_type.schema.model_fields if name != "signature"]


def _organisation(session: Session, value: str, cache: dict[str, Organization | None]) -> Any:
    # The cache holds the organisations themselves, not only their ids: the session's
    # identity map keeps objects only while something refers to them, and the services'
    # look-ups by id then find them there instead of querying once per row.
    if value not in cache:
        by = (
            Organization.id == int(value)
            if value.isascii() and value.isdigit()
            else Organization.name == value
        )
        cache[value] = session.scalar(select(Organization).where(by))
    found = cache[value]
    if found is None:
        raise ValueError(f"no organisation {value!r}")
    return found.id


def _row_data(
    session: Session,
    record_type: RecordType,
    row: dict[str, str],
    names: dict[str, Organization | None],
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    data: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for column, raw in row.items():
        value = (raw or "").strip()
        if not value:
            continue  # empty cells take the schema's default, or fail as missing
        try:
            if column in record_type.lists:
                data[column] = [part.strip() for part in value.split(";") if part.strip()]
            elif column in record_type.json_columns:
                data[column] = json.loads(value)
            elif column in record_type.organisations:
                data[column] = _organisation(session, value, names)
            else:
                data[column] = value
        except ValueError as exc:  # json.JSONDecodeError is a ValueError too
            problems.append((column, str(exc)))
    return data, problems


def import_csv(
    session: Session,
    issuing: service.Issuing,
    caller: Organization,
    record_type: RecordType,
    text: str,
    *,
    dry_run: bool,
    max_rows: int,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import ``text`` (CSV with a header) as records of ``record_type`` issued by ``caller``.

    Raises :class:`ImportRejected` if any row is bad; the caller's transaction must then be
    rolled back (the edge does so for any raised error).
    """
    service.require_writer(caller, record_type.kind)
    reader = csv.DictReader(io.StringIO(text), strict=True)
    expected = columns(record_type)
    try:
        header = reader.fieldnames or []  # reads the first line: it can be bad CSV too
    except csv.Error as exc:
        raise ImportRejected(
            f"the header is not valid CSV: {exc}", [RowError(1, "", f"not valid CSV: {exc}")]
        ) from None
    unknown = [name for name in header if name not in expected]
    if not header or unknown:
        what = f"unknown column(s) {', '.join(unknown)}" if unknown else "no header"
        raise ImportRejected(
            f"{what}; the columns are: {', '.join(expected)}",
            [RowError(1, unknown[0] if unknown else "", what)],
        )
    errors: list[RowError] = []
    issuing.pending = []
    names: dict[str, Organization | None] = {}
    rows = 0
    try:
        with session.begin_nested():
            try:
                for line, row in enumerate(reader, start=2):
                    rows += 1
                    if rows > max_rows:
                        raise InvalidInput(f"an import has at most {max_rows:,} rows", field="rows")
                    if None in row:
                        errors.append(RowError(line, "", "more cells than columns"))
                        continue
                    errors.extend(
                        _import_row(session, issuing, caller, record_type, row, line, names)
                    )
                    if progress is not None:
                        progress(1)
            except csv.Error as exc:
                errors.append(RowError(reader.line_num, "", f"not valid CSV: {exc}"))
            if errors:
                raise ImportRejected(
                    f"{len(errors)} problem(s) in {rows} row(s); nothing was imported "
                    f"(first: row {errors[0].row}, {errors[0].field or 'row'}: "
                    f"{errors[0].message})",
                    errors,
                )
            if dry_run:
                raise _DryRun
            service.append_leaves(session, issuing.pending)
    except _DryRun:
        return ImportResult(record_type.path, rows, 0, True, [])
    finally:
        issuing.pending = None
    return ImportResult(record_type.path, rows, rows, False, [])


def _import_row(
    session: Session,
    issuing: service.Issuing,
    caller: Organization,
    record_type: RecordType,
    row: dict[str, str],
    line: int,
    names: dict[str, Organization | None],
) -> list[RowError]:
    data, problems = _row_data(session, record_type, row, names)
    if problems:
        return [RowError(line, column, message) for column, message in problems]
    try:
        body = record_type.schema.model_validate(data)
    except ValidationError as exc:
        return [
            RowError(line, ".".join(str(p) for p in err["loc"]) or "row", err["msg"])
            for err in exc.errors()
        ]
    try:
        record_type.create(session, issuing, caller, body)
    except DomainError as exc:
        return [RowError(line, exc.field or "row", exc.detail)]
    return []
