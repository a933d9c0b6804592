"""Our own additions to the region table: English names of the provinces, and the three
province-level divisions the code table leaves out (their centroids: the capital's)."""

from __future__ import annotations

#: Province-level divisions: GB/T 2260 code -> English name (official romanisation).
ENGLISH: dict[str, str] = {
    "110000": "Beijing",
    "120000": "Tianjin",
    "130000": "Hebei",
    "140000": "Shanxi",
    "150000": "Inner Mongolia",
    "210000": "Liaoning",
    "220000": "Jilin",
    "230000": "Heilongjiang",
    "310000": "Shanghai",
    "320000": "Jiangsu",
    "330000": "Zhejiang",
    "340000": "Anhui",
    "350000": "Fujian",
    "360000": "Jiangxi",
    "370000": "Shandong",
    "410000": "Henan",
    "420000": "Hubei",
    "430000": "Hunan",
    "440000": "Guangdong",
    "450000": "Guangxi",
    "460000": "Hainan",
    "500000": "Chongqing",
    "510000": "Sichuan",
    "520000": "Guizhou",
    "530000": "Yunnan",
    "540000": "Tibet",
    "610000": "Shaanxi",
    "620000": "Gansu",
    "630000": "Qinghai",
    "640000": "Ningxia",
    "650000": "Xinjiang",
}

#: (code, zh-CN, en, lat, lon) of divisions GB/T 2260 lists without subdivisions.
OUTSIDE_TABLE: tuple[tuple[str, str, str, float, float], ...] = (
    ("710000", "台湾省", "Taiwan", 25.03, 121.56),
    ("810000", "香港特别行政区", "Hong Kong", 22.32, 114.17),
    ("820000", "澳门特别行政区", "Macao", 22.19, 113.54),
)
