"""The words of the brand's catalogue pages (products, batches, code runs): the registry's
and the codes' messages in zh-CN, and form input the pages check before a service sees it.

The services word their errors in English for the API; a page shows each beside its field
in the page's language. These messages are translated here rather than in console/words.py
so the catalogue's many GS1 and range messages stay beside the pages that meet them;
anything not known here falls back to console/words.py.
"""

from __future__ import annotations

import re

from pydantic import ValidationError

from traceseal.console import words

#: Messages the pages themselves give (form checks before a service is called).
FILL_IN = "fill this in"
WHOLE_NUMBER = "give a whole number"
PICK_PRODUCT = "choose a product"
PICK_BATCH = "choose a batch"
CONFIRM_VOID = "tick the box to confirm: voided codes never verify again"
TOO_MANY_FILES = "the codes are issued; their file can be prepared once earlier files are done"

_ZH: dict[str, str] = {
    FILL_IN: "请填写此项",
    WHOLE_NUMBER: "请填写整数",
    PICK_PRODUCT: "请选择产品",
    PICK_BATCH: "请选择批次",
    CONFIRM_VOID: "请勾选确认：作废的防伪码再也不能验证为正品",
    TOO_MANY_FILES: "防伪码已发放；前面的文件生成完后，可再生成本批的文件",
    "a date is YYYY-MM-DD": "日期格式应为 YYYY-MM-DD",
    "expiry_date is before production_date": "有效期不能早于生产日期",
    "say why the codes are voided (lost, stolen, misprinted...)": (
        "请说明作废原因（丢失、被盗、印错等）"
    ),
    "reason is longer than 500 characters": "原因最多 500 个字符",
    "range must be A-B (1-based positions in the run) or CODE-CODE": (
        "范围应为“起-止”序号（如 1-100），或首尾两个防伪码（码-码）"
    ),
    "this run is not bound to a product: give the lot's product GTIN": (
        "此批防伪码未绑定产品，请先选择批次所属的产品"
    ),
    "codes are issued to enterprises": "防伪码只发放给品牌企业",
    "every key slot 100-999 is in use; the platform needs a new code space": (
        "平台的码段已用完，请联系平台运营方"
    ),
    "could not reserve a key slot; retry": "暂时无法分配码段，请重试",
}

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"'(.*)' is not a GTIN: expected 8, 12, 13 or 14 ASCII digits"),
        r"“\1”不是 GTIN：应为 8、12、13 或 14 位数字",
    ),
    (
        re.compile(
            r"'(.*)' is not a valid GTIN: Invalid GTIN check digit for '.*': "
            r"Expected (\d), got (\d)\."
        ),
        r"“\1”的校验位不正确：最后一位应为 \2，而不是 \3。请核对条码上的数字。",
    ),
    (re.compile(r"'(.*)' is not a valid GTIN: .*"), r"“\1”不是有效的 GTIN"),
    (re.compile(r"GTIN (\d+) is already registered"), r"GTIN \1 已被登记"),
    (
        re.compile(r"lot '(.*)' must be 1-20 characters of the GS1 character set 82"),
        r"批号“\1”应为 1 到 20 个字母、数字或 GS1 允许的符号（不含空格和中文）",
    ),
    (re.compile(r"lot '(.*)' already exists for GTIN (\d+)"), r"该产品已有批号“\1”"),
    (re.compile(r"no lot '(.*)'.*"), r"找不到批号“\1”"),
    (re.compile(r"no product with GTIN (.*)"), r"找不到 GTIN 为 \1 的产品"),
    (
        re.compile(r"count must be between 1 and ([\d,]+) \(one key slot\)"),
        r"数量应在 1 到 \1 之间",
    ),
    (re.compile(r"at most (\d+) characters"), r"最多 \1 个字符"),
    (
        re.compile(r"give a whole number from ([\d,]+) to ([\d,]+)"),
        r"请填写 \1 到 \2 之间的整数",
    ),
    (
        re.compile(r"range (\d+)-(\d+) is outside run \d+, which has positions 1-(\d+)"),
        r"范围 \1-\2 超出本批，本批序号为 1-\3",
    ),
    (re.compile(r"range end (\d+): .*"), r"范围端点 \1 不是有效的防伪码"),
    (re.compile(r"code (\d+) is not in run \d+"), r"防伪码 \1 不在本批中"),
    (re.compile(r"the codes of '(.*)' are not in run \d+"), r"“\1”中的防伪码不在本批中"),
    (
        re.compile(r"codes at positions (\d+-\d+) are void and cannot be activated"),
        r"序号 \1 的防伪码已作废，不能激活",
    ),
    (
        re.compile(r"codes at positions (\d+-\d+) are already active for another lot"),
        r"序号 \1 的防伪码已激活到其他批次",
    ),
    (re.compile(r"lot '(.*)' is of another product than run \d+"), r"批号“\1”不属于本批的产品"),
]


def say(detail: str, zh: bool) -> str:
    """``detail`` in the page's language (English as the service gave it)."""
    if not zh:
        return detail
    if detail in _ZH:
        return _ZH[detail]
    for pattern, replacement in _PATTERNS:
        if pattern.fullmatch(detail):
            return pattern.sub(replacement, detail)
    return words.say(detail, zh)


def known(detail: str) -> bool:
    return detail in _ZH or any(p.fullmatch(detail) for p, _ in _PATTERNS) or words.known(detail)


def field_errors(exc: ValidationError) -> dict[str, str]:
    """A schema's refusal as one plain message per field (the first one of each)."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        where = error.get("loc") or ("",)
        name = str(where[0]) if where else ""
        context = error.get("ctx") or {}
        kind = error.get("type", "")
        if kind in ("missing", "string_too_short"):
            message = FILL_IN
        elif kind == "string_too_long":
            message = f"at most {context.get('max_length')} characters"
        elif kind.startswith("int") or kind in ("greater_than_equal", "less_than_equal"):
            message = WHOLE_NUMBER
        elif kind.startswith("date"):
            message = "a date is YYYY-MM-DD"
        elif kind == "value_error":
            message = str(context.get("error", error.get("msg", "")))
        else:
            message = str(error.get("msg", ""))
        if not name:
            name = "expiry_date" if "expiry_date" in message else "form"
        errors.setdefault(name, message)
    return errors
