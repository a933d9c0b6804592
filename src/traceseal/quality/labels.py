"""What the quality facts say to a consumer, in zh-CN and en."""

from __future__ import annotations

from traceseal.quality.facts import Fact, ProgrammeFact

_KINDS = {
    "certificate": ("认证证书", "Certificate"),
    "inspection_report": ("检验报告", "Inspection report"),
    "sampling_result": ("监督抽查", "Regulator's sampling"),
    "credit_rating": ("信用等级", "Credit rating"),
    "commitment": ("质量承诺", "Quality commitment"),
    "recall": ("召回", "Recall"),
}
_STATUSES = {
    "valid": ("有效", "valid"),
    "expired": ("已过期", "expired"),
    "suspended": ("已暂停", "suspended"),
    "withdrawn": ("已撤销", "withdrawn"),
    "pass": ("合格", "pass"),
    "fail": ("不合格", "fail"),
}
_WARNINGS = {
    "expired": (
        "{what}已过期（有效期至 {until}）。",
        "The {what} has expired (valid until {until}).",
    ),
    "suspended": ("{what}已被发证机构暂停。", "The {what} has been suspended by its issuer."),
    "withdrawn": ("{what}已被发证机构撤销。", "The {what} has been withdrawn by its issuer."),
    "fail": ("{what}结论为不合格。", "The {what} found the product non-conforming."),
}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "zh-CN" else pair[1]


def kind_name(kind: str, lang: str) -> str:
    return _pick(_KINDS.get(kind, (kind, kind)), lang)


def status_name(status: str, lang: str) -> str:
    """Statuses and outcomes by name; a credit grade stands for itself."""
    return _pick(_STATUSES[status], lang) if status in _STATUSES else status


def label(fact: Fact, lang: str) -> str:
    """The fact in one line, e.g. ``认证证书 CCC No. 2026011001``."""
    parts = [kind_name(fact.kind, lang)]
    if fact.scheme and fact.kind != "credit_rating":
        parts.append(fact.scheme)
    if fact.number and fact.kind not in ("credit_rating", "commitment"):
        parts.append(f"No. {fact.number}" if fact.kind != "sampling_result" else fact.number)
    if fact.kind == "commitment" and fact.number:
        parts.append(fact.number)
    return " ".join(parts)


def warning(fact: Fact, lang: str) -> str:
    what = label(fact, lang)
    if lang != "zh-CN":
        what = what[0].lower() + what[1:]
    template = _pick(_WARNINGS[fact.status], lang)
    return template.format(what=what, until=fact.valid_until or "")


def signed_by(fact_signer: str, leaf_index: int | None, lang: str) -> str:
    """``signed by X, recorded in the public log``: the index is for the expert view."""
    if lang == "zh-CN":
        where = "，已记录在公开日志中" if leaf_index is not None else ""
        return f"由 {fact_signer} 签名{where}"
    where = ", recorded in the public log" if leaf_index is not None else ""
    return f"signed by {fact_signer}{where}"


def programme_name(programme: ProgrammeFact, lang: str) -> str:
    return programme.name_en if lang != "zh-CN" and programme.name_en else programme.name
