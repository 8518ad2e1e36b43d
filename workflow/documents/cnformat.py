"""Chinese formatting filters for templates: GB/T 9704 dates and 发文字号, 万元, 抄送 lists."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

_DIGITS = "〇一二三四五六七八九"


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    from workflow.definition.fields import Field

    return dt.date.fromisoformat(Field("date", "date", "日期").parse(value))


def cn_date(value: Any) -> str:
    """2024-03-01 → 2024年3月1日 (GB/T 9704 成文日期: Arabic numerals, no padding)."""
    if value in (None, ""):
        return ""
    day = _as_date(value)
    return f"{day.year}年{day.month}月{day.day}日"


def _cn_number(n: int) -> str:
    """1..31 in Chinese numerals: 10 十, 12 十二, 20 二十, 31 三十一."""
    tens, units = divmod(n, 10)
    text = ("" if tens == 0 else ("十" if tens == 1 else _DIGITS[tens] + "十"))
    return text + (_DIGITS[units] if units or not text else "")


def cn_date_upper(value: Any) -> str:
    """2024-03-01 → 二〇二四年三月一日 (certificates and seals)."""
    if value in (None, ""):
        return ""
    day = _as_date(value)
    year = "".join(_DIGITS[int(d)] for d in str(day.year))
    return f"{year}年{_cn_number(day.month)}月{_cn_number(day.day)}日"


def doc_number(seq: Any, code: str, year: Any) -> str:
    """12 → 某教发〔2024〕12号: 六角括号, full year, no padding (不编虚位)."""
    return f"{code}〔{int(year)}〕{int(seq)}号"


def wan_yuan(value: Any, unit: str = "元", places: int = 2) -> str:
    """An amount in 元 (or already in 万元 with unit='万元') → '12.5万元', trailing zeros dropped."""
    if value in (None, ""):
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"wan_yuan: {value!r} is not an amount") from None
    if unit == "元":
        amount = amount / Decimal(10000)
    text = f"{amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):f}"  # 四舍五入
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}万元"


def cn_list(value: Any, end: str = "。") -> str:
    """['A', 'B', 'C'] or 'A,B，C' → 'A，B，C。' (抄送 lines)."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        items = [p.strip() for p in value.replace(",", "，").replace("、", "，").split("，")]
    else:
        items = [str(v).strip() for v in value]
    items = [i.rstrip("。") for i in items if i]
    return "，".join(items) + (end if items else "")


FILTERS = {"cn_date": cn_date, "cn_date_upper": cn_date_upper, "doc_number": doc_number,
           "wan_yuan": wan_yuan, "cn_list": cn_list}
