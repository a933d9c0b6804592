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
    # Distributors, keys and webhooks (console/partners.py, console/keys.py).
    "give the distributor's name": "请填写经销商名称",
    "organisation name must not be empty": "名称不能为空",
    "organisation name is longer than 200 characters": "名称不能超过 200 个字符",
    "a region is a 6-digit GB/T 2260 code such as 440305": "地区代码应为 6 位数字，如 440305",
    "a territory lists at most 500 regions": "销售区域最多 500 个地区",
    "tick a province or name a place (an empty territory is no limit)": (
        "请勾选省份或填写地区（清空区域请勾选“清空区域”）"
    ),
    "give the key a name that says what it is for": "请填写密钥名称，说明用途",
    "choose what the key may do": "请选择密钥权限",
    "a key's expiry must be in the future": "到期日必须在今天之后",
    "give the address alerts are sent to": "请填写推送地址",
    "a webhook secret has at least 16 characters": "签名密钥至少 16 个字符",
    # The brand's supply-chain events (console/brandevents.py).
    "choose one of your distributors' sites": "请选择本企业经销商的站点",
    "give the GLN of the site the goods leave from": "请填写发货地点的 GLN",
    "give at least one code or case label, or choose a batch": (
        "请至少填写一个防伪码或箱码，或选择批次"
    ),
    "give the case's SSCC (18 digits)": "请填写箱码（18 位 SSCC）",
    "give at least one code to pack": "请至少填写一个要装箱的防伪码",
    "a case is named by its SSCC (18 digits)": "箱码应为 18 位 SSCC",
    "a case cannot be packed into itself": "箱子不能装进它自己",
    "choose one of your batches": "请选择本企业的批次",
    "this batch has no active codes": "该批次没有已激活的防伪码",
    "at most 5000 codes at once: ship by cases": "一次最多 5000 个防伪码，请按箱发货",
    # The label designer (console/labels.py).
    "choose a run of codes": "请选择码段",
    "choose a label size": "请选择标签尺寸",
    "choose QR or Data Matrix": "请选择二维码或 DataMatrix",
    "choose PDF or ZPL": "请选择 PDF 或 ZPL",
    "this run was issued without PINs": "这个码段发码时没有生成 PIN，不能印刮开区",
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
    "choose what kind of organisation": "请选择机构类型",
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
    (re.compile(r"no region is named (.+)"), r"找不到名为“\1”的地区"),
    (
        re.compile(r"(.+) could be several places: (.+)"),
        r"“\1”可能指多个地区：\2，请写明省市或填代码",
    ),
    (re.compile(r"(.+) is not a division in GB/T 2260"), r"\1 不是有效的行政区划代码"),
    (re.compile(r"(.+) is not a 13-digit GLN"), r"\1 不是 13 位 GLN"),
    (re.compile(r"GLN (.+) fails its check digit"), r"GLN \1 校验位不正确"),
    (re.compile(r"(.+) is already one of your distributors"), r"\1 已是本企业的经销商"),
    (
        re.compile(r"the name (.+) is taken on this platform by .+", re.S),
        r"名称 \1 已被平台上的其他机构使用，请填写工商登记全称或加上城市以示区别",
    ),
    (re.compile(r"webhook URL refused: (.+)"), r"推送地址不可用：\1"),
    (re.compile(r"the label font cannot print: (.+)"), r"标签字体无法打印：\1"),
    (re.compile(r"at most (\d+) characters"), r"最多 \1 个字"),
    (
        re.compile(r"a PDF holds at most ([\d,]+) labels; download ZPL"),
        r"PDF 最多 \1 张标签，请下载 ZPL",
    ),
    (
        re.compile(r"a download holds at most ([\d,]+) labels; issue smaller runs"),
        r"一次最多下载 \1 张标签，请分成较小的码段发码",
    ),
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
    (
        re.compile(r"'(.*)' is not a GLN \(13 digits, with its check digit\)"),
        r"“\1”不是有效的 GLN（13 位，含校验位）",
    ),
    (re.compile(r"no site (\d+) of this organisation"), r"找不到站点 \1"),
    (re.compile(r"no code (\S+)"), r"找不到防伪码 \1"),
    (re.compile(r"SSCC (\d+): the check digit does not match"), r"箱码 \1 的校验位不正确"),
    (
        re.compile(r"(.+) is not a label this platform reads: .+"),
        r"“\1”不是本平台能识别的标签：请扫二维码，或填写 20 位防伪码或 18 位箱码",
    ),
    (
        re.compile(
            r"event \d+: this organisation may not record events about (\S+) \(.*\); "
            r"nothing was captured"
        ),
        r"不能记录 \1 的事件：这不是本企业的产品",
    ),
    (re.compile(r"code (\S+) is not bound to a product yet"), r"防伪码 \1 尚未关联产品"),
    (re.compile(r"row (\d+): a parent is a case or pallet \(SSCC\)"), r"第 \1 行：箱码应为 SSCC"),
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
