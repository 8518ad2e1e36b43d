"""The Excel 台账 (issue 17): `gongwen export ledger` writes the ledger of each shipped workflow (and
of any definition), `gongwen import` creates items from such a sheet, every row checked first, bad
files and bad rows refused in one line naming sheet!cell with nothing created, nothing imported
twice, and the round trip demo → xlsx → an empty workspace gives the same items."""

from __future__ import annotations

import datetime as dt
import json
import os
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from helpers import NOW, run_cli, shipped_users, snapshot, workspace_copy

from workflow.definition.loader import load_file
from workflow.errors import DefinitionError
from workflow.ledger import xlsx_checks
from workflow.ledger.columns import display_width

HEADERS = {
    "plan": ("发文登记簿", ["编号", "文号", "标题", "文种", "年度", "主办科室", "拟稿人", "签发人", "签发日期",
                           "印发日期", "份数", "紧急程度", "公开属性", "主送机关", "抄送", "分送情况", "档号", "状态"]),
    "inspection": ("整改台账", ["编号", "学校", "督导类型", "整改通知文号", "问题类别", "问题等级", "问题", "整改要求",
                               "责任单位", "责任人", "整改期限", "整改状态", "复查日期", "复查结论", "销号日期",
                               "办理状态"]),
    "clean_school": ("认定名册", ["编号", "学校", "学段", "申报类型", "认定级别", "批次（年度）", "联系人及电话",
                                 "申报日期", "推荐文号", "命名文号", "证书编号", "命名日期", "有效期至", "评估得分",
                                 "状态"]),
}
IMPORTER = {"plan": "zhangwei", "inspection": "liuyang", "clean_school": "zhangwei"}  # each may create


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """`gongwen demo` once for the module (read only): an item of each workflow, published."""
    from workflow.demo.run import run_demo

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GONGWEN_NOW", NOW)
        made = run_demo(str(tmp_path_factory.mktemp("ledger") / "demo"))
    return Path(made["workspace"])


@pytest.fixture
def fresh(request, tmp_path, db_url):
    """An empty workspace with the shipped workflows and every demo user (SQLite and PostgreSQL)."""
    ws = workspace_copy(request, tmp_path, db_url, "shipped", shipped_users, name="fresh")
    yield ws
    ws.close()


def gw(root, login, *args):
    return run_cli("--home", root, "--as", login, *args)


def one_error_line(result) -> str:
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def export(root, workflow, path, *more, login="zhaomin"):
    result = gw(root, login, "export", "ledger", workflow, "-o", path, *more)
    assert result.exit_code == 0, result.output
    return openpyxl.load_workbook(path)


def items_of(ws, workflow):
    from workflow.engine.engine import Engine

    engine = Engine(ws)
    return [engine.show("admin", s.key) for s in engine.list_items("admin", workflow)]


def write_xlsx(path, rows, title="发文登记簿", merge=None):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    if merge:
        sheet.merge_cells(merge)
    workbook.save(path)
    return path


# -- export ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("workflow", list(HEADERS))
def test_export_of_each_shipped_workflow_opens_with_its_headers_and_rows(demo, tmp_path, workflow):
    sheet_name, headers = HEADERS[workflow]
    workbook = export(demo, workflow, tmp_path / f"{workflow}.xlsx")
    assert workbook.sheetnames == [sheet_name]
    sheet = workbook[sheet_name]
    assert [c.value for c in sheet[1]] == headers
    assert sheet.freeze_panes == "A2"
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert rows and all(r[0].startswith({"plan": "JH-", "inspection": "DD-", "clean_school": "QL-"}[workflow])
                        for r in rows)
    if workflow == "inspection":  # a row per finding: the demo's inspection has two
        assert len(rows) == 2
        assert {r[6] for r in rows} == {"教学楼二楼灭火器过期未更换", "课后服务收费标准未在学校网站同步公示"}
    else:
        assert len(rows) == 1
    # dates are date cells, shown as yyyy-mm-dd; Chinese text gets a column wide enough
    date_column = {"plan": 10, "inspection": 11, "clean_school": 8}[workflow]
    cell = sheet.cell(row=2, column=date_column)
    assert isinstance(cell.value, dt.datetime) and cell.number_format == "yyyy-mm-dd"
    title_column = sheet.column_dimensions["C" if workflow == "plan" else "B"]
    assert title_column.width >= display_width(str(sheet.cell(row=2, column=3 if workflow == "plan" else 2).value))
    state = sheet.cell(row=2, column=len(headers)).value
    assert state in {"已归档", "已通报办结", "已命名"}


def test_export_filters_by_year_and_state_and_refuses_an_unknown_state(demo, tmp_path):
    assert export(demo, "plan", tmp_path / "a.xlsx", "--year", "2025").active.max_row == 2
    assert export(demo, "plan", tmp_path / "b.xlsx", "--year", "2019").active.max_row == 1  # headers only
    assert export(demo, "工作计划", tmp_path / "c.xlsx", "--state", "已归档").active.max_row == 2  # Chinese names
    bad = gw(demo, "zhaomin", "export", "ledger", "plan", "-o", tmp_path / "d.xlsx", "--state", "nowhere")
    assert bad.exit_code == 4 and "no state 'nowhere'" in one_error_line(bad)
    assert not (tmp_path / "d.xlsx").exists()
    stranger = gw(demo, "nobody", "export", "ledger", "plan", "-o", tmp_path / "e.xlsx")
    assert stranger.exit_code != 0 and not (tmp_path / "e.xlsx").exists()


def test_overdue_findings_are_highlighted_and_voided_items_still_listed(fresh, tmp_path):
    from helpers import sql

    from workflow.engine.engine import Engine

    findings = [  # today is 2025-03-10
        {"description": "灭火器过期", "deadline": "2025-03-01", "status": "已报整改"},  # overdue
        {"description": "台账缺失", "deadline": "2025-03-01", "status": "已销号", "closed_on": "2025-03-02"},
        {"description": "食堂公示", "deadline": "2025-04-01"},  # not yet due
    ]
    view = Engine(fresh).create("liuyang", "inspection", values={"school": "某某县实验小学", "findings": findings})
    Engine(fresh).create("liuyang", "inspection", values={"school": "某某县第二小学"})  # no finding: one row
    sql(fresh, "UPDATE items SET state = 'voided' WHERE key = :key", key=view.key)  # as 作废 leaves it
    result = gw(fresh.root, "zhaomin", "--json", "export", "ledger", "inspection", "-o", tmp_path / "z.xlsx")
    assert json.loads(result.stdout)["overdue"] == 1
    sheet = openpyxl.load_workbook(tmp_path / "z.xlsx").active
    fills = {sheet.cell(row=r, column=7).value: sheet.cell(row=r, column=1).fill.fgColor.rgb for r in range(2, 6)}
    assert fills["灭火器过期"].endswith("FFC7CE")
    assert not fills["台账缺失"].endswith("FFC7CE") and not fills["食堂公示"].endswith("FFC7CE")
    assert [sheet.cell(row=r, column=16).value for r in range(2, 6)] == ["已作废"] * 3 + ["督导准备"]


def test_a_definition_without_ledger_block_gets_the_generic_ledger_and_round_trips(fresh, tmp_path):
    (fresh.definitions_dir / "leave.yaml").write_text(
        "id: leave\ntitle: 请假审批\nkey_prefix: QJ\ninitial: draft\n"
        "fields:\n  title: {type: text, label: 事由}\n  days: {type: integer, label: 天数, min: 1}\n"
        "  start: {type: date, label: 开始日期}\n  paid: {type: boolean, label: 带薪}\n"
        "states:\n  draft: {title: 拟稿}\n  done: {title: 已批准, final: true}\n"
        "transitions:\n  approve: {title: 批准, from: draft, to: done, assign: [leave_no]}\n"
        "numbers:\n  leave_no: {title: 假条编号, format: '假{year}-{seq}'}\n", encoding="utf-8")
    result = gw(fresh.root, "zhangwei", "new", "leave", "--set", "title=探亲", "--set", "days=3",
                "--set", "start=2025-03-12", "--set", "paid=是")
    assert result.exit_code == 0, result.output
    sheet = export(fresh.root, "leave", tmp_path / "leave.xlsx").active
    assert sheet.title == "请假审批台账"
    assert [c.value for c in sheet[1]] == ["编号", "标题", "状态", "创建人", "创建日期", "更新日期", "天数", "开始日期",
                                          "带薪", "假条编号"]
    assert [c.value for c in sheet[2]][:3] == ["QJ-2025-0001", "探亲", "拟稿"]
    rows = [["标题", "days", "开始日期", "带薪"], ["年假", 2, dt.date(2025, 4, 1), "否"]]  # a header by --set key too
    done = gw(fresh.root, "zhangwei", "--json", "import", "leave", write_xlsx(tmp_path / "in.xlsx", rows, "x"))
    assert done.exit_code == 0, done.output
    made = json.loads(done.stdout)["created"]
    item = next(i for i in items_of(fresh, "leave") if i.key == made[0]["key"])
    assert (item.title, item.fields["days"], item.fields["start"], item.fields["paid"]) == ("年假", 2, "2025-04-01",
                                                                                          False)


@pytest.mark.parametrize("block, problem", [
    ("ledger:\n  title: 台账\n  columns: [nothing]\n", "unknown column source 'nothing'"),
    ("ledger:\n  title: 台账\n  rows: year\n  columns: [key]\n", "rows: 'year' is not a list field"),
    ("ledger:\n  title: 台账\n  columns: [sections.heading]\n", "needs rows: sections"),
    ("ledger:\n  title: 台账\n  columns: [key, {title: 编号}]\n", "two columns headed '编号'"),
    ("ledger:\n  title: 'a/b'\n  columns: [key]\n", "ledger title 'a/b'"),
    ("ledger:\n  title: 台账\n  columns: [key]\n  overdue: {date: kind}\n", "is not a date field"),
])
def test_a_bad_ledger_block_is_refused_with_its_line(tmp_path, block, problem):
    source = (Path(__file__).parents[1] / "definitions" / "plan.yaml").read_text(encoding="utf-8")
    source = source.split("\nledger:\n")[0] + "\n" + block
    path = tmp_path / "plan.yaml"
    path.write_text(source, encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_file(path)
    line = len(source.splitlines()) - block.count("\n")
    assert any(problem in p and p.startswith(f"{path}:") and int(p.split(":")[1]) > line
               for p in caught.value.problems), caught.value.problems


# -- the round trip ----------------------------------------------------------------------------------
def test_round_trip_demo_to_an_empty_workspace_gives_the_same_items(demo, fresh, tmp_path):
    """Export the demo's three ledgers, import each into an empty workspace: the same items result,
    compared on what the ledger carries and import can set (the title and the field columns; for
    the 整改台账, every finding's columns). An import creates drafts: the new items are in the
    workflow's initial state, with their own keys, and without the numbers the workflow assigned."""
    from workflow.engine.engine import Engine
    from workflow.store.workspace import Workspace

    source = Workspace(demo)
    try:
        for workflow in HEADERS:
            path = tmp_path / f"{workflow}.xlsx"
            export(demo, workflow, path)
            before = items_of(source, workflow)
            result = gw(fresh.root, IMPORTER[workflow], "--json", "import", workflow, path)
            assert result.exit_code == 0, result.output
            assert len(json.loads(result.stdout)["created"]) == len(before)
            after = items_of(fresh, workflow)
            definition = load_file(fresh.definitions_dir / f"{workflow}.yaml")
            assert len(after) == len(before)
            for old, new in zip(before, after):
                assert (new.workflow, new.title, new.state) == (old.workflow, old.title, definition.initial)
                ledger = definition.ledger
                for column in ledger.columns:
                    name, _, sub = column.source.partition(".")
                    if name not in definition.fields:
                        continue
                    if sub:
                        assert [f.get(sub) for f in new.fields[name]] == [f.get(sub) for f in old.fields[name]]
                    elif definition.fields[name].type == "decimal":
                        assert Decimal(new.fields[name]) == Decimal(old.fields[name])
                    else:
                        assert new.fields.get(name) == old.fields.get(name), column
            # the same file again creates nothing
            again = gw(fresh.root, IMPORTER[workflow], "--json", "import", workflow, path)
            assert again.exit_code == 0 and json.loads(again.stdout)["created"] == []
            assert len(items_of(fresh, workflow)) == len(before)
        assert Engine(fresh).list_items("admin").total == 3
    finally:
        source.close()


def test_dry_run_checks_and_creates_nothing_and_rows_without_key_use_the_file_hash(fresh, tmp_path):
    rows = [["标题", "年度", "主办科室", "印发日期"], ["甲方案", 2025, "办公室", "2025-03-01"],
            ["乙方案", 2025, "人事股", dt.date(2025, 3, 2)]]
    path = write_xlsx(tmp_path / "plans.xlsx", rows)
    before = snapshot(fresh)
    dry = gw(fresh.root, "zhangwei", "import", "plan", path, "--dry-run")
    assert dry.exit_code == 0 and "would create 甲方案" in dry.stdout and snapshot(fresh) == before
    done = gw(fresh.root, "zhangwei", "--json", "import", "plan", path)
    assert [c["row"] for c in json.loads(done.stdout)["created"]] == [2, 3]
    from helpers import sql

    comments = [r[0] for r in sql(fresh, "SELECT comment FROM events WHERE transition = 'create' ORDER BY id")]
    import hashlib

    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert comments[-2:] == [f"台账导入：plans.xlsx sha256:{digest} 第{row}行" for row in (2, 3)]
    after = snapshot(fresh)
    again = gw(fresh.root, "zhangwei", "--json", "import", "plan", path)
    assert [s["row"] for s in json.loads(again.stdout)["skipped"]] == [2, 3] and snapshot(fresh) == after


# -- bad rows and bad files ---------------------------------------------------------------------------
def test_a_bad_row_is_named_by_sheet_row_and_column_and_nothing_is_created(fresh, tmp_path):
    rows = [["标题", "年度", "主办科室", "印发日期"], ["甲方案", 2025, "办公室", "2025-03-01"],
            ["乙方案", 2025, "人事股", "2025/13/01"], ["丙方案", "明年", "人事股", None]]
    path = write_xlsx(tmp_path / "bad.xlsx", rows)
    before = snapshot(fresh)
    result = gw(fresh.root, "zhangwei", "import", "plan", path)
    assert result.exit_code == 4
    assert one_error_line(result) == ('error: 发文登记簿!D3: 印发日期 "2025/13/01" is not a date '
                                      "(and 1 more problem)")
    as_json = gw(fresh.root, "zhangwei", "--json", "import", "plan", path)
    error = json.loads(as_json.stdout)["error"]
    assert error["reason"] == "bad_row" and error["problems"][1] == '发文登记簿!B4: 年度 "明年" is not a whole number'
    assert snapshot(fresh) == before


def test_an_import_the_actor_may_not_make_is_refused_before_anything(fresh, tmp_path):
    path = write_xlsx(tmp_path / "p.xlsx", [["标题", "年度"], ["甲方案", 2025]])
    before = snapshot(fresh)
    result = gw(fresh.root, "liuyang", "import", "plan", path)  # an inspector drafts no plan
    assert result.exit_code == 1 and "may not create a plan" in one_error_line(result)
    unknown = gw(fresh.root, "ghost", "import", "plan", path)
    assert unknown.exit_code != 0
    assert snapshot(fresh) == before


def _zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _formula(path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "发文登记簿"
    sheet.append(["标题", "年度"])
    sheet.append(["甲方案", "=2024+1"])
    workbook.save(path)
    return path


BAD_FILES = {
    "text renamed": (lambda p: (p.write_text("编号,标题\n1,甲\n", encoding="utf-8"), p)[1],
                     "not an .xlsx workbook (not a zip container)"),
    "docx": (lambda p: _zip(p, {"word/document.xml": "<w:document/>", "[Content_Types].xml": "<Types/>"}),
             "a Word document (.docx), not an .xlsx workbook"),
    "encrypted": (lambda p: (p.write_bytes(xlsx_checks.CFB_MAGIC + bytes(600)), p)[1],
                  "an encrypted workbook or an old .xls"),
    "merged header": (lambda p: write_xlsx(p, [["标题", None, "年度"], ["甲", None, 2025]], merge="A1:B1"),
                      "发文登记簿!A1:B1: merged cells in the header"),
    "formula": (_formula, "发文登记簿!B2: a formula (=2024+1) where a value is due"),
    "empty sheet": (lambda p: write_xlsx(p, []), "发文登记簿: the sheet is empty"),
    "header only": (lambda p: write_xlsx(p, [["标题", "年度"]]), "发文登记簿: no rows under the header"),
    "unknown column": (lambda p: write_xlsx(p, [["标题", "备注"], ["甲", "x"]]),
                       "发文登记簿!B1: unknown column '备注'"),
    "too large": (lambda p: write_xlsx(p, [["标题"], [os.urandom(8000).hex()]]), "too large"),
    "zip bomb": (lambda p: _zip(p, {"xl/workbook.xml": "<workbook/>", "xl/big.xml": "0" * 3_000_000}),
                 "too large unpacked"),
    "too many rows": (lambda p: write_xlsx(p, [["标题"]] + [[f"方案{i}"] for i in range(12)]),
                      "发文登记簿!12: more than 10 rows under the header"),
}


@pytest.mark.parametrize("db_url", [None], ids=["sqlite"])  # the file is refused before the database is read
@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_file_is_refused_in_one_line_and_nothing_is_created(fresh, tmp_path, monkeypatch, case):
    monkeypatch.setattr(xlsx_checks, "MAX_FILE_BYTES", 8_000)  # small limits, so the cases stay small
    monkeypatch.setattr(xlsx_checks, "MAX_UNCOMPRESSED", 2_000_000)
    monkeypatch.setattr(xlsx_checks, "MAX_ROWS", 10)
    make, expected = BAD_FILES[case]
    path = make(tmp_path / "in.xlsx")
    before = snapshot(fresh)
    result = gw(fresh.root, "zhangwei", "import", "plan", path)
    assert result.exit_code == 4, result.output
    assert expected in one_error_line(result)
    assert snapshot(fresh) == before


def test_rows_of_one_key_make_one_item_and_must_agree(fresh, tmp_path):
    header = ["编号", "学校", "问题", "findings.deadline", "整改状态"]
    rows = [header, ["A-1", "某某县实验小学", "灭火器过期", "2025-04-01", "未整改"],
            ["A-1", None, "台账缺失", dt.date(2025, 4, 2), None],  # the item's columns may stay blank
            ["A-2", "某某县第二小学", "食堂公示", None, None]]
    path = write_xlsx(tmp_path / "a.xlsx", rows, "整改台账")
    done = gw(fresh.root, "liuyang", "--json", "import", "inspection", path)
    assert done.exit_code == 0, done.output
    made = {i.fields["school"]: i.fields["findings"] for i in items_of(fresh, "inspection")}
    assert [(f["description"], f["deadline"], f["status"]) for f in made["某某县实验小学"]] == [
        ("灭火器过期", "2025-04-01", "未整改"), ("台账缺失", "2025-04-02", "未整改")]  # the default status
    assert [f["description"] for f in made["某某县第二小学"]] == ["食堂公示"]
    rows[2][1] = "某某县第三小学"  # the same 编号 naming another school
    before = snapshot(fresh)
    bad = gw(fresh.root, "liuyang", "import", "inspection", write_xlsx(tmp_path / "b.xlsx", rows, "整改台账"))
    assert bad.exit_code == 4
    assert one_error_line(bad) == "error: 整改台账!B3: 被督导学校 differs from row 2 of 编号 A-1"
    assert snapshot(fresh) == before


def test_a_create_failing_midway_creates_nothing(fresh, tmp_path, monkeypatch):
    """An import creates its items in one transaction (Engine.create_many): a failure at the
    second item leaves nothing created, and the same import again creates them all."""
    from workflow.engine import creating
    from workflow.errors import EnvironmentFault

    path = write_xlsx(tmp_path / "p.xlsx", [["标题", "年度"], ["甲方案", 2025], ["乙方案", 2025], ["丙方案", 2025]])
    real, calls = creating.create_one, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise EnvironmentFault("the disk is full", reason="disk_full")
        return real(*args, **kwargs)

    before = snapshot(fresh)
    monkeypatch.setattr(creating, "create_one", failing)
    cut = gw(fresh.root, "zhangwei", "import", "plan", path)
    assert cut.exit_code == 4 and one_error_line(cut) == "error: the disk is full"
    assert snapshot(fresh) == before and items_of(fresh, "plan") == []
    monkeypatch.setattr(creating, "create_one", real)
    rest = gw(fresh.root, "zhangwei", "--json", "import", "plan", path)
    assert [c["row"] for c in json.loads(rest.stdout)["created"]] == [2, 3, 4]
    assert sorted(i.title for i in items_of(fresh, "plan")) == ["丙方案", "乙方案", "甲方案"]
