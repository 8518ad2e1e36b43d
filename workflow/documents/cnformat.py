"""Chinese formatting filters for templates: GB/T 9704 dates and 发文字号, 万元, 抄送 lists, times of day,
title lines."""

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


def cn_time(value: Any) -> str:
    """2024-03-01T09:05:33+08:00 (an event's time) or 09:05 → 9时5分, the time of day as recorded;
    never the raw ISO text in a document."""
    if value in (None, ""):
        return ""
    moment: dt.datetime | dt.time
    if isinstance(value, (dt.datetime, dt.time)):
        moment = value
    else:
        text = str(value).strip()
        text = text[:-1] + "+00:00" if text.endswith("Z") else text
        try:
            moment = dt.datetime.fromisoformat(text) if len(text) > 10 else dt.time.fromisoformat(text)
        except ValueError:
            raise ValueError(f"cn_time: {value!r} is not a time") from None
    return f"{moment.hour}时{moment.minute}分"


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


def title_line_list(value: Any) -> list[str]:
    """The lines of a 红头 title, broken by rule (workflow/documents/titles.py). A value that is
    already markup (the body of a `{% filter title_lines %}` block, escaped) is read as its text."""
    if value in (None, ""):
        return []
    from workflow.documents.titles import split_title

    if hasattr(value, "__html__"):
        from markupsafe import Markup

        value = Markup(value.__html__()).striptags()
    return split_title(str(value))


def title_lines(value: Any) -> str:
    """A title's lines joined by newlines (in a Word part the renderer makes each a line break,
    w:br, in the title paragraph): `{% filter title_lines %}关于{{ school }}…的通知{% endfilter %}`
    or `{{ title|title_lines }}`."""
    lines = title_line_list(value)
    if hasattr(value, "__html__"):  # a filter block's output is not escaped again: escape here
        from markupsafe import Markup

        return Markup("\n").join(lines)
    return "\n".join(lines)


FILTERS = {"cn_date": cn_date, "cn_date_upper": cn_date_upper, "doc_number": doc_number,
           "wan_yuan": wan_yuan, "cn_list": cn_list, "cn_time": cn_time, "title_lines": title_lines}
