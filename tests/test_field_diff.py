"""An event's changes field by field (workflow/definition/diff.py): a plain field, the records of a
list (added, removed, a sub-field changed), choices, nothing, long text, a field the definition no
longer knows; and the same lines in `gongwen history` and in the audit report's HTML."""

from __future__ import annotations

import html
import json

from helpers import CLASSIC, inspection_values

from workflow.definition.diff import ADDED, CHANGED, EMPTY, REMOVED, Change, display, field_changes
from workflow.definition.fields import Field
from workflow.definition.loader import load_file

FIELDS = load_file(CLASSIC / "definitions" / "inspection.yaml").fields


def finding(description: str, **extra) -> dict:
    return {"category": "校舍", "description": description, "location": None, "severity": "一般",
            "requirement": None, "status": "未整改", **extra}


def texts(changes: dict) -> list[str]:
    return [c.text for c in field_changes(FIELDS, changes)]


def test_a_plain_field_changed():
    [change] = field_changes(FIELDS, {"conclusion": ["通过", "不通过"]})
    assert change == Change("conclusion", None, None, ("督导结论",), "通过", "不通过", CHANGED)
    assert change.text == "督导结论：通过 → 不通过" and change.path == "conclusion"
    assert texts({"students": [None, 320], "self_score": ["85.5", None]}) == [
        "在校学生数：（空） → 320", "自评得分：85.5 → （空）"]


def test_a_sub_field_of_a_record_changed():
    before = [finding("教室门窗损坏"), finding("校舍屋面渗水")]
    after = [finding("教室门窗损坏"), finding("校舍屋面渗漏（二楼）")]
    [change] = field_changes(FIELDS, {"findings": [before, after]})
    assert (change.field, change.row, change.sub, change.kind) == ("findings", 2, "description", CHANGED)
    assert change.path == "findings.2.description"
    assert change.labels == ("存在问题及整改要求", "第2项", "问题描述")
    assert change.text == "存在问题及整改要求 第2项 问题描述：校舍屋面渗水 → 校舍屋面渗漏（二楼）"


def test_records_added_and_removed():
    one, two, three = finding("教室门窗损坏"), finding("校舍屋面渗水"), finding("消防通道堵塞", category="消防")
    [added] = field_changes(FIELDS, {"findings": [[one, two], [one, two, three]]})
    assert (added.row, added.sub, added.kind, added.before) == (3, None, ADDED, EMPTY)
    assert added.text == ("存在问题及整改要求 第3项（新增）：类别：消防；问题描述：消防通道堵塞；等级：一般；"
                          "状态：未整改")
    [removed] = field_changes(FIELDS, {"findings": [[one, two, three], [two, three]]})
    assert (removed.row, removed.kind, removed.after) == (1, REMOVED, EMPTY)
    assert removed.text.startswith("存在问题及整改要求 第1项（删除）：类别：校舍；问题描述：教室门窗损坏")
    # the first list of an item: every record added; all removed: every record removed
    assert [c.kind for c in field_changes(FIELDS, {"findings": [None, [one, two]]})] == [ADDED, ADDED]
    assert [c.row for c in field_changes(FIELDS, {"findings": [[one, two], None]})] == [1, 2]


def test_a_record_removed_before_one_edited_names_both_positions():
    one, two = finding("教室门窗损坏"), finding("校舍屋面渗水")
    assert texts({"findings": [[one, two], [{**two, "status": "整改中"}]]}) == [
        "存在问题及整改要求 第1项（删除）：类别：校舍；问题描述：教室门窗损坏；等级：一般；状态：未整改",
        "存在问题及整改要求 第2项（现第1项） 状态：未整改 → 整改中"]


def test_choices_booleans_and_nothing():
    assert display(["办公室", "财务股"]) == "办公室、财务股"
    assert display(True) == "是" and display(False) == "否"
    assert display(None) == display("") == display([]) == EMPTY
    offices = Field("offices", "choices", "会签股室", choices=["办公室", "财务股", "人事股"])
    assert [c.text for c in field_changes({"offices": offices}, {"offices": [["办公室"], ["办公室", "财务股"]]})] == [
        "会签股室：办公室 → 办公室、财务股"]
    assert texts({"cosign": [None, ["财务股"]]}) == ["cosign：（空） → 财务股"]  # also without its definition
    assert texts({"topic": [None, ""]}) == []  # nothing either way: not a change to show


def test_long_text_is_cut_to_one_line():
    long = "整改" * 50 + "\n第二行"
    [change] = field_changes(FIELDS, {"overall": ["良好", long]})
    assert change.after == "整改" * 30 + "…" and len(change.after) == 61
    assert display("第一行\n第二行") == "第一行 第二行"


def test_unknown_fields_keep_their_names_after_the_known_ones_in_order():
    changes = {"zeta": [1, 2], "findings": [[finding("甲")], [finding("乙", extra="x")]],
               "conclusion": [None, "通过"], "alpha": [None, True], "school": ["一小", "二小"]}
    found = field_changes(FIELDS, changes)
    assert [c.path for c in found] == ["school", "conclusion", "findings.1.description", "findings.1.extra",
                                       "alpha", "zeta"]
    assert found[3].text == "存在问题及整改要求 第1项 extra：（空） → x"
    assert found[4].text == "alpha：（空） → 是"
    assert [c.text for c in field_changes(None, {"findings": [[], [{"description": "甲"}]]})] == [
        "findings 第1项（新增）：description：甲"]
    assert field_changes(FIELDS, "not a dict") == [] and field_changes(FIELDS, {}) == []


def test_history_and_report_show_the_change_field_by_field(engine, gw, tmp_path):
    values = inspection_values(findings=[{"description": "教室门窗损坏"}, {"description": "校舍屋面渗水"}])
    key = engine.create("liuyang", "inspection", values=values).key
    edited = gw("--as", "liuyang", "do", key, "edit", "--set", "findings.2.description=校舍屋面渗漏（二楼）<b>",
                "--set", "conclusion=通过")
    assert edited.exit_code == 0, edited.output
    line = "存在问题及整改要求 第2项 问题描述：校舍屋面渗水 → 校舍屋面渗漏（二楼）<b>"

    text = gw("--as", "liuyang", "history", key)
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    conclusion = "       督导结论：（空） → 通过"
    assert conclusion in lines and f"       {line}" in lines
    assert lines.index(conclusion) < lines.index(f"       {line}")  # the definition's order
    assert "第1项（新增）" not in text.stdout  # the create event keeps its display
    history = json.loads(gw("--json", "--as", "liuyang", "history", key).stdout)
    assert history["history"][1]["changes"]["conclusion"] == [None, "通过"]  # the JSON as stored

    report = tmp_path / "report.html"
    result = gw("--as", "zhaomin", "audit", "export", "-o", report)
    assert result.exit_code == 0, result.output
    page = report.read_text(encoding="utf-8")
    assert f"<div>{html.escape(line)}</div>" in page and "<div>督导结论：（空） → 通过</div>" in page
    assert "<b>" not in page.replace("<b class=red>", "")
