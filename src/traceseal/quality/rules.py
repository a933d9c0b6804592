"""Label programmes' eligibility rules: data validated by a schema, evaluated by a pure function.

A rule is JSON, for example a valid CCC certificate and a passing inspection report at most a
year old::

    {"all": [{"certificate": {"scheme": "CCC"}},
             {"inspection": {"conclusion": "pass", "max_age_days": 365}}]}

:func:`unmet` takes the rule and the facts about one product (its :class:`Dossier`) and
returns what is missing, each as a sentence; an empty list means the product is eligible.
It reads no storage and no clock, so it is tested with plain values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

#: Credit grades from best to worst (the usual enterprise credit scale).
GRADES = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C", "D")
Grade = Literal["AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C", "D"]
Outcome = Literal["pass", "fail"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CertificateNeed(_Strict):
    scheme: str | None = Field(None, max_length=100, description="e.g. CCC; any if omitted.")
    compulsory: bool | None = None


class InspectionNeed(_Strict):
    conclusion: Outcome = "pass"
    max_age_days: int | None = Field(None, ge=1, le=36500)
    standard: str | None = Field(None, max_length=100, description="Tested against this.")


class SamplingNeed(_Strict):
    result: Outcome = "pass"
    max_age_days: int | None = Field(None, ge=1, le=36500)


class CreditNeed(_Strict):
    min_grade: Grade


class CertificateRule(_Strict):
    certificate: CertificateNeed


class InspectionRule(_Strict):
    inspection: InspectionNeed


class SamplingRule(_Strict):
    sampling: SamplingNeed


class CreditRule(_Strict):
    credit: CreditNeed


class AllRule(_Strict):
    all: list[Rule] = Field(min_length=1, max_length=50)


class AnyRule(_Strict):
    any: list[Rule] = Field(min_length=1, max_length=50)


Rule = AllRule | AnyRule | CertificateRule | InspectionRule | SamplingRule | CreditRule
RULE = TypeAdapter(Rule)


@dataclass(frozen=True, slots=True)
class CertificateFact:
    scheme: str
    compulsory: bool
    #: The status as of the evaluation day: valid, suspended, withdrawn or expired.
    status: str


@dataclass(frozen=True, slots=True)
class ReportFact:
    conclusion: str
    on: date
    standards: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RatingFact:
    grade: str
    valid_from: date
    valid_until: date


@dataclass(frozen=True, slots=True)
class Dossier:
    """What is on record about one product (and its enterprise), as plain values."""

    certificates: tuple[CertificateFact, ...] = ()
    inspections: tuple[ReportFact, ...] = ()
    samplings: tuple[ReportFact, ...] = ()
    ratings: tuple[RatingFact, ...] = field(default=())


def describe(rule: Rule) -> str:
    """The rule as a sentence: what a product needs.

    >>> describe(RULE.validate_python({"certificate": {"scheme": "CCC"}}))
    'a valid certificate of scheme CCC'
    """
    match rule:
        case AllRule():
            return "all of: " + "; ".join(describe(r) for r in rule.all)
        case AnyRule():
            return "one of: " + "; ".join(describe(r) for r in rule.any)
        case CertificateRule(certificate=need):
            kind = {None: "", True: "compulsory ", False: "voluntary "}[need.compulsory]
            scheme = f" of scheme {need.scheme}" if need.scheme else ""
            return f"a valid {kind}certificate{scheme}"
        case InspectionRule(inspection=need):
            what = "passing" if need.conclusion == "pass" else "failing"
            standard = f" against {need.standard}" if need.standard else ""
            age = f" at most {need.max_age_days} days old" if need.max_age_days else ""
            return f"a {what} inspection report{standard}{age}"
        case SamplingRule(sampling=need):
            what = "passing" if need.result == "pass" else "failing"
            age = f" at most {need.max_age_days} days old" if need.max_age_days else ""
            return f"a {what} sampling result{age}"
        case CreditRule(credit=need):
            return f"a credit rating of {need.min_grade} or better in force"
    raise AssertionError(rule)  # pragma: no cover


def _recent(on: date, max_age_days: int | None, today: date) -> bool:
    return max_age_days is None or today - on <= timedelta(days=max_age_days)


def _holds(rule: Rule, dossier: Dossier, today: date) -> bool:
    match rule:
        case AllRule():
            return all(_holds(r, dossier, today) for r in rule.all)
        case AnyRule():
            return any(_holds(r, dossier, today) for r in rule.any)
        case CertificateRule(certificate=need):
            return any(
                c.status == "valid"
                and (need.scheme is None or c.scheme == need.scheme)
                and (need.compulsory is None or c.compulsory == need.compulsory)
                for c in dossier.certificates
            )
        case InspectionRule(inspection=need):
            # The latest report decides: a newer failing report outweighs an older pass.
            relevant = [
                r
                for r in dossier.inspections
                if need.standard is None or need.standard in r.standards
            ]
            if not relevant:
                return False
            latest = max(relevant, key=lambda r: r.on)
            return latest.conclusion == need.conclusion and _recent(
                latest.on, need.max_age_days, today
            )
        case SamplingRule(sampling=need):
            if not dossier.samplings:
                return False
            latest = max(dossier.samplings, key=lambda r: r.on)
            return latest.conclusion == need.result and _recent(latest.on, need.max_age_days, today)
        case CreditRule(credit=need):
            return any(
                r.valid_from <= today <= r.valid_until
                and GRADES.index(r.grade) <= GRADES.index(need.min_grade)
                for r in dossier.ratings
                if r.grade in GRADES
            )
    raise AssertionError(rule)  # pragma: no cover


def unmet(rule: Rule, dossier: Dossier, today: date) -> list[str]:
    """What ``dossier`` lacks to satisfy ``rule`` on ``today``; empty if it is eligible.

    For ``all``, each unmet part is named; for ``any``, the whole alternative is.

    >>> rule = RULE.validate_python({"certificate": {"scheme": "CCC"}})
    >>> unmet(rule, Dossier(), date(2026, 11, 21))
    ['a valid certificate of scheme CCC']
    >>> unmet(rule, Dossier(certificates=(CertificateFact("CCC", True, "valid"),)), date.today())
    []
    """
    if isinstance(rule, AllRule):
        return [need for part in rule.all for need in unmet(part, dossier, today)]
    return [] if _holds(rule, dossier, today) else [describe(rule)]
