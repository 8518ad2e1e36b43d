"""Chinese formatting filters (workflow/cnformat.py): GB/T 9704 dates and 发文字号, 万元, 抄送 lists."""

from __future__ import annotations

import datetime as dt

import pytest

from workflow.documents.cnformat import FILTERS, cn_date, cn_date_upper, cn_list, doc_number, wan_yuan
from workflow.errors import BAD_INPUT, BadInput


@pytest.mark.parametrize("value, expected", [
    ("2024-03-01", "2024年3月1日"),  # no padding (GB/T 9704 成文日期)
    ("2024-12-31", "2024年12月31日"),
    (dt.date(2025, 10, 10), "2025年10月10日"),
    (dt.datetime(2025, 1, 9, 23, 59), "2025年1月9日"),
    (None, ""), ("", ""),
])
def test_cn_date(value, expected):
    assert cn_date(value) == expected


@pytest.mark.parametrize("value, expected", [
    ("2024-03-01", "二〇二四年三月一日"),
    ("2020-10-10", "二〇二〇年十月十日"),
    ("2019-11-20", "二〇一九年十一月二十日"),
    ("2024-12-31", "二〇二四年十二月三十一日"),
    (dt.date(2000, 2, 29), "二〇〇〇年二月二十九日"),
    (None, ""),
])
def test_cn_date_upper(value, expected):
    assert cn_date_upper(value) == expected


@pytest.mark.parametrize("value", ["三月一日", "2024-02-30", 42])
@pytest.mark.parametrize("fmt", [cn_date, cn_date_upper], ids=["cn_date", "cn_date_upper"])
def test_cn_date_rejects_what_is_not_a_date(fmt, value):
    with pytest.raises(BadInput, match="is not a valid date") as info:
        fmt(value)
    assert info.value.exit_code == BAD_INPUT


@pytest.mark.parametrize("args, expected", [
    ((12, "X教发", 2024), "X教发〔2024〕12号"),  # 六角括号, no padding (不编虚位)
    ((1, "某教办", "2025"), "某教办〔2025〕1号"),
    (("007", "某教发", 2025), "某教发〔2025〕7号"),
])
def test_doc_number(args, expected):
    assert doc_number(*args) == expected


@pytest.mark.parametrize("value, kwargs, expected", [
    (125000, {}, "12.5万元"),
    (10000, {}, "1万元"),
    ("1234567.89", {}, "123.46万元"),
    (60, {}, "0.01万元"),
    (50, {}, "0.01万元"),  # 四舍五入: a half rounds up
    (250, {}, "0.03万元"),
    (3.5, {"unit": "万元"}, "3.5万元"),
    (12345, {"places": 4}, "1.2345万元"),
    (None, {}, ""),
])
def test_wan_yuan(value, kwargs, expected):
    assert wan_yuan(value, **kwargs) == expected


def test_wan_yuan_refuses_what_is_not_an_amount():
    with pytest.raises(ValueError, match="not an amount"):
        wan_yuan("很多")


@pytest.mark.parametrize("value, kwargs, expected", [
    (["A", "B", "C"], {}, "A，B，C。"),
    ("A,B，C", {}, "A，B，C。"),
    ("市政府办公室、市财政局。", {}, "市政府办公室，市财政局。"),
    ([" 甲 ", "", "乙。"], {}, "甲，乙。"),
    (["A"], {"end": ""}, "A"),
    ([], {}, ""), (None, {}, ""),
])
def test_cn_list(value, kwargs, expected):
    assert cn_list(value, **kwargs) == expected


def test_filters_registered_for_templates():
    assert set(FILTERS) == {"cn_date", "cn_date_upper", "doc_number", "wan_yuan", "cn_list", "cn_time", "title_lines"}
