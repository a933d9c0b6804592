"""Traces by seal code: from a code on a label to the events about it.

A seal code is an SGTIN serial: ``urn:epc:id:sgtin:CP.ITEM.<code>`` or
``https://<any host>/01/<gtin>/21/<code>``; both are stored in Digital Link form, so a
trace looks for ``https://id.gs1.org/01/<gtin>/21/<code>`` with the GTIN of the product the
code was issued or activated for.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from traceseal.codes.models import CodeRun
from traceseal.codes.sealcode import CodeFormatError, parse_code
from traceseal.codes.service import Keyring, resolve_code
from traceseal.epcis.trace import Trace, journey, place_name, trace
from traceseal.errors import InvalidInput, NotFound
from traceseal.orgs.models import Organization
from traceseal.orgs.tenancy import OVERSIGHT, is_mine
from traceseal.registry.models import Batch, Product


def code_epc(gtin: str, code: str) -> str:
    """The Digital Link form under which events about a seal code are indexed."""
    return f"https://id.gs1.org/01/{gtin}/21/{code}"


def trace_code(
    session: Session, keyring: Keyring, viewer: Organization, raw: str
) -> dict[str, Any]:
    """``GET /api/v1/trace/{code}``: for the code's brand owner, the operator and regulators."""
    try:
        code = parse_code(raw)
    except CodeFormatError as exc:
        raise InvalidInput(exc.args[0], field="code") from exc
    resolved = resolve_code(session, keyring, code)
    missing = NotFound(f"no code {code.text}")
    if resolved.segment is None:
        raise missing
    run = session.get(CodeRun, resolved.segment.run_id)
    assert run is not None
    if not is_mine(run.organization_id, viewer, OVERSIGHT):
        raise missing  # another tenant's code answers as an unknown one
    gtin = session.scalar(
        select(Product.gtin).where(
            Product.id
            == func.coalesce(
                select(Batch.product_id)
                .where(Batch.id == resolved.segment.batch_id)
                .scalar_subquery(),
                run.product_id,
            )
        )
    )
    result = trace(session, code_epc(gtin, code.text)) if gtin else None
    return {"code": code.text, "gtin": gtin, **trace_read(result)}


def trace_read(result: Trace | None) -> dict[str, Any]:
    if result is None:
        return {
            "epc": None,
            "events": [],
            "parent": None,
            "children": [],
            "bizLocation": None,
            "bizLocationName": None,
            "disposition": None,
        }
    return {
        "epc": result.epc,
        "events": [
            {
                "eventID": event.body.get("eventID"),
                "type": event.body.get("type"),
                "action": event.body.get("action"),
                "eventTime": event.body.get("eventTime"),
                "bizStep": event.biz_step,
                "disposition": event.disposition,
                "readPoint": (event.body.get("readPoint") or {}).get("id"),
                "bizLocation": (event.body.get("bizLocation") or {}).get("id"),
                "via": event.via,
                "leafIndex": event.leaf_index,
            }
            for event in result.events
        ],
        "parent": result.parent,
        "children": result.children,
        "bizLocation": result.biz_location,
        "bizLocationName": place_name(result.biz_location),
        "disposition": result.disposition,
    }


def consumer_journey(session: Session, gtin: str, code: str, language: str) -> list[dict[str, Any]]:
    """The short, localised journey shown on the verification page."""
    return journey(trace(session, code_epc(gtin, code)), language)
