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
    "choose what kind of organisation": "请选择机构类型",
    "organisation name must not be empty": "请填写机构名称",
    "organisation name is longer than 200 characters": "机构名称最多 200 个字符",
    "the rule is not valid JSON": "规则不是有效的 JSON",
    "no such programme": "找不到该标识项目",
    "no such alert": "找不到该告警",
}
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"too many failed sign-ins: try again in (\d+) seconds"),
        r"登录失败次数过多，请 \1 秒后再试",
    ),
    (re.compile(r"(.+) already signs in another person"), r"\1 已被其他用户使用"),
    (re.compile(r"an organisation named '(.+)' already exists"), r"已有名为“\1”的机构"),
    (re.compile(r"a programme named '(.+)' exists"), r"已有名为“\1”的标识项目"),
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
