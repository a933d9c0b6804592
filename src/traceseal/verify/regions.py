"""GB/T 2260 administrative division codes, as much as verification needs: validity and a name.

A code has six digits: province (2), city (2), district (2); ``440000`` is Guangdong,
``440300`` Shenzhen, ``440305`` Nanshan district. Verification checks the shape and the
province and names the province; the full table with cities and districts arrives with
territories (logistics).
"""

from __future__ import annotations

import re

from traceseal.errors import InvalidInput

#: Province-level divisions: code prefix -> (zh-CN, en).
PROVINCES: dict[str, tuple[str, str]] = {
    "11": ("北京市", "Beijing"),
    "12": ("天津市", "Tianjin"),
    "13": ("河北省", "Hebei"),
    "14": ("山西省", "Shanxi"),
    "15": ("内蒙古自治区", "Inner Mongolia"),
    "21": ("辽宁省", "Liaoning"),
    "22": ("吉林省", "Jilin"),
    "23": ("黑龙江省", "Heilongjiang"),
    "31": ("上海市", "Shanghai"),
    "32": ("江苏省", "Jiangsu"),
    "33": ("浙江省", "Zhejiang"),
    "34": ("安徽省", "Anhui"),
    "35": ("福建省", "Fujian"),
    "36": ("江西省", "Jiangxi"),
    "37": ("山东省", "Shandong"),
    "41": ("河南省", "Henan"),
    "42": ("湖北省", "Hubei"),
    "43": ("湖南省", "Hunan"),
    "44": ("广东省", "Guangdong"),
    "45": ("广西壮族自治区", "Guangxi"),
    "46": ("海南省", "Hainan"),
    "50": ("重庆市", "Chongqing"),
    "51": ("四川省", "Sichuan"),
    "52": ("贵州省", "Guizhou"),
    "53": ("云南省", "Yunnan"),
    "54": ("西藏自治区", "Tibet"),
    "61": ("陕西省", "Shaanxi"),
    "62": ("甘肃省", "Gansu"),
    "63": ("青海省", "Qinghai"),
    "64": ("宁夏回族自治区", "Ningxia"),
    "65": ("新疆维吾尔自治区", "Xinjiang"),
    "71": ("台湾省", "Taiwan"),
    "81": ("香港特别行政区", "Hong Kong"),
    "82": ("澳门特别行政区", "Macao"),
}

_SHAPE = re.compile(r"^[0-9]{6}$")


def parse_region(raw: str | None) -> str | None:
    """A GB/T 2260 code as given, checked; None for None or blank.

    >>> parse_region("440305")
    '440305'
    """
    if raw is None or not raw.strip():
        return None
    region = raw.strip()
    if not _SHAPE.match(region):
        raise InvalidInput("a region is a 6-digit GB/T 2260 code such as 440305", field="region")
    if region[:2] not in PROVINCES:
        raise InvalidInput(f"{region} is in no province of GB/T 2260", field="region")
    return region


def region_name(region: str | None, lang: str) -> str:
    """The province's name followed by the code: '广东省 440305'; '' for None."""
    if not region:
        return ""
    zh, en = PROVINCES.get(region[:2], ("", ""))
    name = zh if lang == "zh-CN" else en
    return f"{name} {region}".strip()
