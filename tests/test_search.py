"""`gongwen list` search (issue 17): words in the title or any text of the form (`--grep`), a
number drawn (`--number`), the dates an item was created (`--from`/`--to`), a school
(`--school`) and the order (`--sort`), on both databases, in-process and through the command.

Fields are stored as JSON with Chinese escaped: SQL finds the candidates in that form, the values
are then checked exactly, so a word matching only a field's name is no match."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from helpers import clean_school_values, fire, inspection_values, plan_values

from workflow.engine import reads
from workflow.engine.listing import Search
from workflow.errors import BadInput


@pytest.fixture
def items(engine, monkeypatch):
    """Three plans (one published with its 发文字号), an inspection and a clean-school application,
    created on three days."""
    keys = {}
    monkeypatch.setenv("GONGWEN_NOW", "2025-03-03T09:00:00")
    keys["spring"] = engine.create("zhangwei", "plan", values=plan_values(title="关于做好春季学期开学工作的通知")).key
    keys["safety"] = engine.create("zhangwei", "plan", values=plan_values(
        title="关于开展校园安全检查的通知",
        sections=[{"heading": "食堂食品安全", "content": "排查校园周边隐患。", "due": "2025-06-30"}])).key
    monkeypatch.setenv("GONGWEN_NOW", "2025-03-05T09:00:00")
    keys["points"] = engine.create("zhangwei", "plan", values=plan_values(title="某某县教育局2025年工作要点")).key
    for login, transition in [("zhangwei", "submit"), ("lina", "forward"), ("wangqiang", "approve")]:
        fire(engine, login, keys["points"], transition)
    fire(engine, "chenjing", keys["points"], "publish", issue_date="2025-03-05", copies=30)
    monkeypatch.setenv("GONGWEN_NOW", "2025-03-10T09:00:00")
    keys["inspection"] = engine.create("liuyang", "inspection", values=inspection_values(school="某某县城关中学")).key
    keys["clean"] = engine.create("zhangwei", "clean_school", values=clean_school_values(school="某某县第二小学")).key
    return keys


def found(workspace, **search) -> list[str]:
    summaries, total = reads.list_items(workspace, "zhaomin", search=Search(**search))
    assert total == len(summaries)
    return [s.key for s in summaries]


def test_grep_finds_words_in_the_title_and_the_form(workspace, items):
    assert found(workspace, grep="春季学期") == [items["spring"]]
    assert found(workspace, grep="校园") == [items["safety"]]  # in the title and in a section
    assert found(workspace, grep="食堂食品") == [items["safety"]]  # only in a section's heading
    assert found(workspace, grep="小微权力") == [items["clean"]]  # in the application's report
    assert found(workspace, grep="heading") == []  # a field's name is not its text
    assert found(workspace, grep="100%") == [] and found(workspace, grep="_") == []  # LIKE's wildcards are text
    assert set(found(workspace, grep="通知")) == {items["spring"], items["safety"]}


def test_number_dates_school_and_order(workspace, engine, items):
    number = engine.show("zhaomin", items["points"]).numbers
    assert number, "the published plan has its 发文字号"
    text = next(iter(number.values()))
    assert found(workspace, number=text) == [items["points"]]
    assert found(workspace, number=text[-4:]) == [items["points"]]  # part of it: 〔2025〕1号
    assert found(workspace, number="〔1999〕") == []
    assert found(workspace, since=dt.date(2025, 3, 5)) == [items["points"], items["inspection"], items["clean"]]
    assert found(workspace, until=dt.date(2025, 3, 3)) == [items["spring"], items["safety"]]
    assert found(workspace, since=dt.date(2025, 3, 4), until=dt.date(2025, 3, 9)) == [items["points"]]
    assert found(workspace, school="城关中学") == [items["inspection"]]
    assert found(workspace, school="第二小学") == [items["clean"]]
    assert found(workspace, school="某某县") == [items["inspection"], items["clean"]]  # plans have no school
    assert found(workspace, sort="-id") == list(reversed(found(workspace)))
    titles = [s.title for s in reads.list_items(workspace, "zhaomin", search=Search(sort="title"))[0]]
    assert titles == sorted(titles)


def test_a_search_pages_with_its_total(workspace, items):
    page, total = reads.list_items(workspace, "zhaomin", limit=1, offset=1, search=Search(grep="通知"))
    assert total == 2 and [s.key for s in page] == [items["safety"]]
    page, total = reads.list_items(workspace, "zhaomin", workflow="plan", limit=2, search=Search(sort="-created"))
    assert total == 3 and [s.key for s in page] == [items["points"], items["safety"]]


@pytest.mark.parametrize("bad", [{"grep": ""}, {"grep": "  "}, {"grep": "x" * 201}, {"number": "a\nb"},
                                 {"sort": "colour"}, {"since": dt.date(2025, 3, 9), "until": dt.date(2025, 3, 1)}])
def test_a_bad_search_is_refused(bad):
    with pytest.raises(BadInput):
        Search(**bad)


def test_list_command_searches(gw, items):
    def keys(*args):
        result = gw("--json", "--as", "zhaomin", "list", *args)
        assert result.exit_code == 0, result.output
        shown = json.loads(result.stdout)
        return [i["key"] for i in shown["items"]], shown["total"]

    assert keys("--grep", "食堂") == ([items["safety"]], 1)
    assert keys("--school", "城关中学") == ([items["inspection"]], 1)
    assert keys("--from", "2025-03-04", "--to", "2025-03-09") == ([items["points"]], 1)
    assert keys("--workflow", "plan", "--sort", "-id", "--limit", "1") == ([items["points"]], 3)
    number = json.loads(gw("--json", "--as", "zhaomin", "show", items["points"]).stdout)["numbers"]
    assert keys("--number", next(iter(number.values()))) == ([items["points"]], 1)
    for bad in (["--from", "2025-13-01"], ["--sort", "colour"], ["--grep", ""],
                ["--from", "2025-03-09", "--to", "2025-03-01"]):
        result = gw("--as", "zhaomin", "list", *bad)
        assert result.exit_code in (2, 4) and result.output.strip(), (bad, result.output)
