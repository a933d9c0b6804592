"""The services' messages, as a person reads them in the console: zh-CN or English.

Services word their errors in English (the API's problem details carry them as given);
the console shows each beside its field in the page's language. A message missing here is
shown in English rather than not at all; tests/functional/test_console_pages.py checks
that the messages the console can meet have their zh-CN words.
"""

from __future__ import annotations

import re

_ZH: dict[str, str] = {
    "the sign-in name or the password is not right": "账号或密码不正确",
    "the code is not right": "验证码不正确",
    "the current password is not right": "当前密码不正确",
    "the new password is the same as the current one": "新密码不能与当前密码相同",
    "the password needs at least 10 characters": "密码至少需要 10 个字符",
    "the password may have at most 256 characters": "密码最多 256 个字符",
    "the two passwords differ": "两次输入的密码不一致",
    "give an email address or a mobile number": "请填写邮箱或手机号",
    "this is not an email address": "邮箱格式不正确",
    "a mobile number is 7 to 20 digits": "手机号应为 7 到 20 位数字",
    "the name may have at most 100 characters": "姓名最多 100 个字符",
    "role must be admin or member": "角色只能是管理员或成员",
    "two-step sign-in is already on": "两步验证已开启",
    "start the set-up again": "请重新开始设置",
    "the code is not right; check the phone's clock": "验证码不正确，请检查手机时间",
    "this link does not work: it is wrong, used or expired": "此链接无效：链接有误、已使用或已过期",
    "no such person": "找不到该用户",
    "no such session": "找不到该会话",
    "no such organisation": "找不到该机构",
    "your organisation requires two-step sign-in": "贵机构要求开启两步验证",
    "a date is YYYY-MM-DD": "日期格式应为 YYYY-MM-DD",
    # The brand's alerts, reports and recalls (console/alerts.py, reports.py, recalls.py).
    "choose an outcome": "请选择结论",
    "choose a product": "请选择产品",
    "the note may have at most 2000 characters": "说明最多 2000 个字符",
    "closing an alert needs an outcome": "关闭警报需要选择结论",
    "closing an alert needs a note saying what was found": "关闭警报需要写明查明的情况",
    "only closing an alert takes an outcome": "只有关闭警报时才选择结论",
    "the subject of an alert never closes it or moves it on; you may read it": (
        "警报涉及的一方不能处理或关闭该警报，只能查看"
    ),
    "only the brand owner and the operator act on an alert; you may read it": (
        "只有品牌方和平台运营方可以处理警报，您只能查看"
    ),
    "only the brand owner and the operator act on a report; you may read it": (
        "只有品牌方和平台运营方可以处理举报，您只能查看"
    ),
    "write a reply to the reporter before settling the report": "请先填写给举报人的答复",
    "the reply may have at most 2000 characters": "答复最多 2000 个字符",
    "the reply is empty": "答复不能为空",
    "a recall needs a reason and instructions for consumers": "召回需要填写原因和消费者处理办法",
    "this recall has already ended": "此召回已经结束",
    "only whoever announced a recall ends it": "召回只能由发起方结束",
}
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"too many failed sign-ins: try again in (\d+) seconds"),
        r"登录失败次数过多，请 \1 秒后再试",
    ),
    (re.compile(r"(.+) already signs in another person"), r"\1 已被其他用户使用"),
    (re.compile(r"an alert that is \w+ cannot become \w+"), "警报当前的状态不允许这一步"),
    (re.compile(r"a report that is \w+ cannot become \w+"), "举报当前的状态不允许这一步"),
    (re.compile(r"no alert \d+"), "找不到该警报"),
    (re.compile(r"no (?:photo for )?report \d+"), "找不到该举报"),
    (re.compile(r"no recall \d+"), "找不到该召回"),
    (re.compile(r"no lot '(.+)' for GTIN \d+"), r"该产品没有批号 \1"),
    (re.compile(r"no product with GTIN .+"), "找不到该产品"),
    (
        re.compile(r"lot .+ must be 1-20 characters of the GS1 character set 82"),
        "批号应为 1 到 20 位字母、数字或符号",
    ),
    (
        re.compile(r"(?:every batch|lot .+) of GTIN \d+ is already under recall(?: \d+)?"),
        "该批次已在召回中",
    ),
]


def say(detail: str, zh: bool) -> str:
    if not zh:
        return detail
    if detail in _ZH:
        return _ZH[detail]
    for pattern, words in _PATTERNS:
        if pattern.fullmatch(detail):
            return pattern.sub(words, detail)
    return detail


def known(detail: str) -> bool:
    return detail in _ZH or any(p.fullmatch(detail) for p, _ in _PATTERNS)
