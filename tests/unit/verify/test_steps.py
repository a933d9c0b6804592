"""The pure steps of verification, each alone: what the pipeline decides from what it read."""

from __future__ import annotations

from datetime import date

import pytest

from traceseal.codes.models import CodeState
from traceseal.codes.sealcode import SealCode, parse_code
from traceseal.crypto.damm import check_digit
from traceseal.errors import InvalidInput
from traceseal.verify.models import Verdict
from traceseal.verify.records import Context, Query, Verification
from traceseal.verify.service import admit, decide, decode, mismatches

BODY = "1230000000000004567"
CODE = BODY + str(check_digit(BODY))


def context_row(state: str = "active", **fields: object) -> tuple[object, ...]:
    """A row shaped like statements.CONTEXT's: segment, owner, product, batch, recall, programme."""
    row: dict[str, object] = {
        "state": state,
        "stop": 1000,
        "batch_id": 7,
        "owner": 3,
        "organization": "安全消防器材有限公司",
        "product_id": 11,
        "gtin": "06901234567892",
        "name": "干粉灭火器",
        "brand": "安全",
        "category": "fire",
        "specification": "4 kg",
        "image_url": "",
        "scan_limit": 5,
        "lot": "L2026",
        "produced": "2026-10-01",
        "expires": None,
        "recall_id": None,
        "programme_id": None,
        "programme": None,
        "programme_en": None,
        "open_alert": None,
    }
    row.update(fields)
    return tuple(row.values())


def code() -> SealCode:
    parsed = parse_code(CODE)
    assert isinstance(parsed, SealCode)
    return parsed


def test_a_context_row_becomes_typed_facts() -> None:
    context = Context.from_row(CODE, 123, 4567, context_row())
    assert (context.code, context.slot, context.sequence) == (CODE, 123, 4567)
    assert context.state == CodeState.ACTIVE
    assert (context.gtin, context.lot, context.scan_limit) == ("06901234567892", "L2026", 5)
    assert context.batch is not None
    assert context.batch.production_date == date(2026, 10, 1)
    assert context.programme is None
    assert not context.alerted
    assert Context.from_row(CODE, 123, 4567, context_row(open_alert=9)).alerted
    assert context.facts()["organization"] == "安全消防器材有限公司"


def test_a_run_bound_to_no_product_has_no_product_facts() -> None:
    row = context_row(state="issued", product_id=None, gtin=None, scan_limit=None, lot=None)
    context = Context.from_row(CODE, 123, 1, row)
    assert (context.product, context.batch, context.gtin, context.lot) == (None, None, None, None)


def test_mismatches_name_what_the_link_claims_wrongly() -> None:
    context = Context.from_row(CODE, 123, 4567, context_row())
    assert mismatches(context, None, None) == []
    assert mismatches(context, "06901234567892", "L2026") == []
    assert mismatches(context, "04006381333931", "L2026") == ["gtin_mismatch"]
    assert mismatches(context, None, "other") == ["lot_mismatch"]


@pytest.mark.parametrize(
    ("evidence", "expected"),
    [
        ({}, (Verdict.GENUINE, ())),
        ({"count": 0}, (Verdict.GENUINE, ())),
        ({"count": 2}, (Verdict.GENUINE_REPEAT, ())),
        ({"count": 6}, (Verdict.SUSPICIOUS, ("scan_limit",))),
        ({"count": 6, "scan_limit": None}, (Verdict.GENUINE_REPEAT, ())),
        ({"alerted": True}, (Verdict.SUSPICIOUS, ("under_investigation",))),
        ({"risky": ("travel",), "alerted": True}, (Verdict.SUSPICIOUS, ("travel",))),
        (
            {"reasons": ["gtin_mismatch"], "risky": ("travel",)},
            (Verdict.SUSPICIOUS, ("gtin_mismatch",)),
        ),
        ({"reasons": ["lot_mismatch"], "recalled": True}, (Verdict.RECALLED, ("lot_mismatch",))),
        ({"recalled": True, "count": 9}, (Verdict.RECALLED, ())),
    ],
)
def test_decide_weighs_the_strongest_evidence_first(
    evidence: dict[str, object], expected: tuple[Verdict, tuple[str, ...]]
) -> None:
    arguments: dict[str, object] = {
        "reasons": [],
        "recalled": False,
        "risky": (),
        "alerted": False,
        "count": 1,
        "scan_limit": 5,
    }
    arguments.update(evidence)
    reasons = arguments.pop("reasons")
    assert decide(reasons, **arguments) == expected  # type: ignore[arg-type]


def test_decode_tells_a_typo_from_input_that_is_no_code() -> None:
    assert isinstance(decode(CODE), SealCode)
    typo = CODE[:-1] + str((int(CODE[-1]) + 1) % 10)
    answer = decode(typo)
    assert isinstance(answer, Verification)
    assert answer.verdict is Verdict.MISTYPED
    with pytest.raises(InvalidInput):
        decode("not a code")


def test_admit_checks_every_field_but_the_code_and_places_the_query() -> None:
    placed, gtin = admit(Query(code="whatever", gtin="6901234567892", region="440305"))
    assert gtin == "06901234567892"
    assert (placed.region, placed.region_source) == ("440305", "client")
    with pytest.raises(InvalidInput):
        admit(Query(code=CODE, latitude=22.5))
    with pytest.raises(InvalidInput):
        admit(Query(code=CODE, gtin="6901234567893"))
