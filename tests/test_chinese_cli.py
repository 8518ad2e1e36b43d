"""Chinese at the command line (issue 17): the definitions' Chinese titles accepted wherever ids
are (workflows, states, transitions), item keys in any case, and messages, help and refusals in
Chinese under a zh_CN locale, English otherwise, with the same --json reasons in both. The real
command (CliRunner) on a real workspace (the frozen classic workflows, tests/data/classic)."""

from __future__ import annotations

import json

import pytest
from helpers import YEAR, plan_values, snapshot

ZH = {"LANGUAGE": "zh_CN", "LC_ALL": None, "LC_MESSAGES": None, "LANG": "zh_CN.UTF-8"}
EN = {"LANGUAGE": None, "LC_ALL": None, "LC_MESSAGES": None, "LANG": "en_US.UTF-8"}



@pytest.fixture
def db_url():
    """The workspace's SQLite file only: the command line's words do not depend on the database
    (this overrides the conftest fixture that runs each test on both)."""
    return None


def as_json(result) -> dict:
    assert "Traceback" not in result.output
    return json.loads(result.stdout)


def error_of(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def plan_file(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan_values(), ensure_ascii=False), encoding="utf-8")
    return path


def retitle(workspace, workflow: str, old: str, new: str) -> None:
    """Change a title in the workspace's definition file (before any item of it is created)."""
    path = workspace.root / "definitions" / f"{workflow}.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")


# -- names as input ------------------------------------------------------------------------------
def test_chinese_names_of_workflow_transition_and_state(gw, plan_file):
    created = as_json(gw("--json", "--as", "zhangwei", "new", "工作计划", "--from", plan_file))
    key = created["key"]
    assert created["workflow"] == "plan" and key == f"JH-{YEAR}-0001"
    done = as_json(gw("--json", "--as", "zhangwei", "do", key, "送核稿", "-m", "请核稿"))
    assert done["state"] == "review"
    assert [e["transition"] for e in as_json(gw("--json", "--as", "lina", "history", key))["history"]] == \
        ["create", "submit"]  # recorded under the transition's id
    listed = lambda *args: [i["key"] for i in as_json(gw("--json", "--as", "lina", "list", *args))["items"]]
    assert listed("--workflow", "工作计划", "--state", "核稿") == [key]
    assert listed("--state", "核稿") == [key]  # 核稿 is plan's review only
    assert listed("--workflow", "督导检查") == []
    assert listed("--state", "已印发") == []
    result = gw("--json", "--as", "lina", "list", "--state", "无此状态")
    assert result.exit_code == 4 and as_json(result)["error"]["reason"] == "not_found"
    assert "核稿（review）" in gw("--as", "lina", "list", "--state", "无此状态", env=ZH).stderr


def test_an_unknown_transition_name_is_refused_listing_the_exits(gw, workspace, plan_file):
    key = as_json(gw("--json", "--as", "zhangwei", "new", "plan", "--from", plan_file))["key"]
    before = snapshot(workspace)
    result = gw("--as", "zhangwei", "do", key, "盖章", env=EN)
    assert result.exit_code == 1
    line = error_of(result)
    assert "盖章" in line and "submit (送核稿)" in line and "edit (修改)" in line
    assert snapshot(workspace) == before


def test_an_ambiguous_transition_name_is_refused_and_nothing_changes(gw, workspace, plan_file):
    retitle(workspace, "plan", "title: 核稿通过，送会签", "title: 核稿通过，呈送签发")  # to_countersign = forward
    key = as_json(gw("--json", "--as", "zhangwei", "new", "plan", "--from", plan_file))["key"]
    gw("--as", "zhangwei", "do", key, "submit")
    before = snapshot(workspace)
    result = gw("--json", "--as", "lina", "do", key, "核稿通过，呈送签发")
    assert result.exit_code == 4
    error = as_json(result)["error"]
    assert error["reason"] == "ambiguous_name"
    assert error["candidates"] == ["forward (核稿通过，呈送签发)", "to_countersign (核稿通过，呈送签发)"]
    line = error_of(gw("--as", "lina", "do", key, "核稿通过，呈送签发", env=EN))
    assert "forward (核稿通过，呈送签发)" in line and "to_countersign (核稿通过，呈送签发)" in line
    assert snapshot(workspace) == before
    assert as_json(gw("--json", "--as", "lina", "do", key, "forward"))["state"] == "approve"  # the id still works


def test_an_ambiguous_state_name_is_refused_unless_the_workflow_is_given(gw, workspace, plan_file):
    retitle(workspace, "inspection", "approved:  {title: 已审定待下达}", "approved:  {title: 已印发}")
    result = gw("--json", "--as", "lina", "list", "--state", "已印发")
    assert result.exit_code == 4
    error = as_json(result)["error"]
    assert error["reason"] == "ambiguous_name"
    assert error["candidates"] == ["inspection.approved (已印发)", "plan.publish (已印发)"]
    assert gw("--json", "--as", "lina", "list", "--workflow", "工作计划", "--state", "已印发").exit_code == 0
    # one title in several workflows under one id that means nothing else: all of them
    key = as_json(gw("--json", "--as", "zhangwei", "new", "plan", "--from", plan_file))["key"]
    assert as_json(gw("--json", "--as", "lina", "list", "--state", "退回修改"))["items"] == []
    assert [i["key"] for i in as_json(gw("--json", "--as", "lina", "list", "--state", "起草"))["items"]] == [key]


def test_item_keys_in_any_case(gw, plan_file):
    key = as_json(gw("--json", "--as", "zhangwei", "new", "plan", "--from", plan_file))["key"]
    assert as_json(gw("--json", "--as", "zhangwei", "show", key.lower()))["key"] == key
    assert as_json(gw("--json", "--as", "zhangwei", "do", key.lower(), "送核稿"))["state"] == "review"
    assert as_json(gw("--json", "--as", "lina", "history", key.lower()))["key"] == key


# -- the user's language -------------------------------------------------------------------------
def test_zh_cn_says_it_in_chinese_en_us_in_english(gw, plan_file):
    key = as_json(gw("--json", "--as", "zhangwei", "new", "plan", "--from", plan_file))["key"]
    zh = gw("--as", "zhangwei", "do", key, "签发", env=ZH)  # not an exit of 起草
    en = gw("--as", "zhangwei", "do", key, "签发", env=EN)
    assert zh.exit_code == en.exit_code == 1
    assert error_of(zh) == ("错误：“签发（approve）”不是“起草（draft）”状态下可办理的操作；"
                            "可办理：修改（edit）、送核稿（submit）")
    assert error_of(en) == "error: approve (签发) is not an exit of draft (起草); exits: edit (修改), submit (送核稿)"
    reasons = [as_json(gw("--json", "--as", "zhangwei", "do", key, "签发", env=env))["error"] for env in (ZH, EN)]
    assert reasons[0] == reasons[1] and reasons[0]["reason"] == "not_an_exit"  # --json: the same, in English

    assert gw("--as", "zhangwei", "do", key, "送核稿", env=ZH).stdout.strip() == f"{key}：送核稿 → 核稿（review）"
    assert gw("--as", "zhangwei", "show", key, env=EN).stdout.count("state: review (核稿)") == 1
    shown = gw("--as", "zhangwei", "show", key, env=ZH).stdout
    assert "状态：核稿（review）" in shown and "办理记录：" in shown
    assert "共 1 件" in gw("--as", "zhangwei", "list", "--all", env=ZH).stdout
    assert "1 item" in gw("--as", "zhangwei", "list", "--all", env=EN).stdout


def test_refusals_of_the_engine_in_chinese(gw, plan_file):
    key = as_json(gw("--json", "--as", "zhangwei", "new", "plan", "--from", plan_file))["key"]
    line = error_of(gw("--as", "lina", "do", key, "送核稿", env=ZH))  # role_missing
    assert line.startswith("错误：送核稿（submit）：lina 没有相应角色")
    line = error_of(gw("--as", "nobody", "show", key, env=ZH))
    assert line == "错误：没有用户 'nobody'：请管理员运行 `gongwen users add nobody`"
    line = error_of(gw("--as", "zhangwei", "new", "plan", "--set", "year=明年", env=ZH))  # bad value
    assert line == "错误：year（年度）：'明年' 不是有效的整数"


def test_help_in_the_users_language(gw):
    # English, Chinese, English again: click makes some texts once (the --help option's), and
    # each run says every text from its English original
    for env, words in [(EN, ["Usage:", "Show this message and exit.", "Comment or reason"]),
                       (ZH, ["用法:", "显示本帮助并退出。", "意见或理由", "选项:"]),
                       (EN, ["Usage:", "Show this message and exit.", "Options:"])]:
        text = gw("do", "--help", env=env).stdout
        assert all(word in text for word in words), text
    assert "办理工作计划、督导检查和清廉学校认定" in gw("--help", env=ZH).stdout
    assert "Exit codes" in gw("--help", env=EN).stdout


def test_usage_errors_in_chinese(gw):
    result = gw("nope", env=ZH)
    assert result.exit_code == 2
    assert error_of(result).startswith("错误：没有命令 'nope'。（参见 `")


# -- workflows show ------------------------------------------------------------------------------
def test_workflows_show_lists_the_set_keys_with_sub_fields(gw):
    text = gw("workflows", "show", "工作计划", home=False, env=EN).stdout  # the shipped plan
    lines = {line.split()[0]: line for line in text.splitlines() if line.startswith("  sections")}
    assert "sections.N.lead_dept" in lines and "牵头科室" in lines["sections.N.lead_dept"]
    assert "date" in lines["sections.N.due"] and "list" in lines["sections.N"]
    assert "sections.N.heading" in lines and "(required)" in lines["sections.N.heading"]
    data = as_json(gw("--json", "workflows", "show", "inspection", home=False))
    findings = data["fields"]["findings"]
    assert findings["set"] == "findings.N" and findings["fields"]["status"]["set"] == "findings.N.status"
    assert "整数" in gw("workflows", "show", "plan", home=False, env=ZH).stdout


def test_init_says_what_it_made_in_chinese(gw, tmp_path):
    result = gw("--as", "root_admin", "init", tmp_path / "new", home=False, env=ZH)
    assert result.exit_code == 0, result.output
    assert f"已在 {tmp_path / 'new'} 新建 gongwen 工作区\n  数据库：" in result.stdout
    assert "管理员：root_admin，密钥 ssh-ed25519 " in result.stdout
