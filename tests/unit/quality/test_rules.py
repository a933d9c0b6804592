"""Eligibility rules: parsed from JSON by their schema, evaluated by a pure function."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from traceseal.quality.rules import (
    RULE,
    CertificateFact,
    Dossier,
    RatingFact,
    ReportFact,
    describe,
    unmet,
)

TODAY = date(2026, 11, 21)
CCC_AND_RECENT_PASS = RULE.validate_python(
    {
        "all": [
            {"certificate": {"scheme": "CCC"}},
            {"inspection": {"conclusion": "pass", "max_age_days": 365}},
        ]
    }
)


def test_all_names_each_unmet_part() -> None:
    assert unmet(CCC_AND_RECENT_PASS, Dossier(), TODAY) == [
        "a valid certificate of scheme CCC",
        "a passing inspection report at most 365 days old",
    ]


def test_eligible_with_a_valid_certificate_and_a_recent_pass() -> None:
    dossier = Dossier(
        certificates=(CertificateFact("CCC", True, "valid"),),
        inspections=(ReportFact("pass", date(2026, 1, 1)),),
    )
    assert unmet(CCC_AND_RECENT_PASS, dossier, TODAY) == []


@pytest.mark.parametrize("status", ["expired", "suspended", "withdrawn"])
def test_a_lapsed_certificate_does_not_count(status: str) -> None:
    dossier = Dossier(
        certificates=(CertificateFact("CCC", True, status),),
        inspections=(ReportFact("pass", date(2026, 1, 1)),),
    )
    assert unmet(CCC_AND_RECENT_PASS, dossier, TODAY) == ["a valid certificate of scheme CCC"]


def test_another_scheme_does_not_count() -> None:
    dossier = Dossier(certificates=(CertificateFact("CQC", False, "valid"),))
    assert "a valid certificate of scheme CCC" in unmet(CCC_AND_RECENT_PASS, dossier, TODAY)


def test_the_report_must_be_young_enough_and_the_latest_decides() -> None:
    old = Dossier(
        certificates=(CertificateFact("CCC", True, "valid"),),
        inspections=(ReportFact("pass", date(2025, 11, 20)),),
    )
    assert unmet(CCC_AND_RECENT_PASS, old, TODAY) == [
        "a passing inspection report at most 365 days old"
    ]
    exactly_a_year = Dossier(
        certificates=old.certificates, inspections=(ReportFact("pass", date(2025, 11, 21)),)
    )
    assert unmet(CCC_AND_RECENT_PASS, exactly_a_year, TODAY) == []
    failed_since = Dossier(
        certificates=old.certificates,
        inspections=(ReportFact("pass", date(2026, 5, 1)), ReportFact("fail", date(2026, 9, 1))),
    )
    assert unmet(CCC_AND_RECENT_PASS, failed_since, TODAY) != []


def test_any_credit_and_sampling_and_standard() -> None:
    rule = RULE.validate_python(
        {
            "any": [
                {"credit": {"min_grade": "AA"}},
                {"sampling": {"result": "pass", "max_age_days": 180}},
                {"inspection": {"standard": "GB 4351-2023"}},
            ]
        }
    )
    assert unmet(rule, Dossier(), TODAY) == [describe(rule)]
    in_force = RatingFact("AAA", date(2026, 1, 1), date(2027, 1, 1))
    assert unmet(rule, Dossier(ratings=(in_force,)), TODAY) == []
    too_low = RatingFact("A", date(2026, 1, 1), date(2027, 1, 1))
    lapsed = RatingFact("AAA", date(2024, 1, 1), date(2025, 1, 1))
    assert unmet(rule, Dossier(ratings=(too_low, lapsed)), TODAY) != []
    assert unmet(rule, Dossier(samplings=(ReportFact("pass", date(2026, 10, 1)),)), TODAY) == []
    by_standard = ReportFact("pass", date(2020, 1, 1), ("GB 4351-2023",))
    assert unmet(rule, Dossier(inspections=(by_standard,)), TODAY) == []


def test_describe_reads_as_a_sentence() -> None:
    rule = RULE.validate_python({"certificate": {"compulsory": False}})
    assert describe(rule) == "a valid voluntary certificate"
    assert describe(CCC_AND_RECENT_PASS) == (
        "all of: a valid certificate of scheme CCC; "
        "a passing inspection report at most 365 days old"
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"most": []},
        {"all": []},
        {"certificate": {"scheme": "CCC", "extra": 1}},
        {"inspection": {"max_age_days": 0}},
        {"credit": {"min_grade": "AAAA"}},
        {"certificate": {}, "inspection": {}},
    ],
)
def test_malformed_rules_are_refused(bad: dict) -> None:
    with pytest.raises(ValidationError):
        RULE.validate_python(bad)
