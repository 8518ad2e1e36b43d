"""The command line: in-process through click's CliRunner (help, usage errors, --json documents,
--from/--set input, bad values, users, finding the workspace, the acting user) and through
real subprocesses of the installed `gongwen` script."""

from __future__ import annotations

import getpass
import json

import pytest
from helpers import DEMO_END, YEAR, add_users, plan_values, run_cli, run_subprocess, snapshot

from workflow.identity.keyring import KeyRing


def as_json(result) -> dict:
    assert "Traceback" not in result.output
    return json.loads(result.stdout)  # exactly one JSON document, or this raises


def one_error_line(result) -> str:
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture
def plan_file(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text(
        f"title: 某某县教育局{YEAR}年工作要点\n"
        f"year: {YEAR}\n"
        "department: 办公室\n"
        f"issue_date: {YEAR}-03-01\n"
        "sections:\n"
        "  - heading: 推进学前教育普及普惠\n"
        "    content: 新建公办幼儿园。\n"
        f"    due: {YEAR}/12/31\n", encoding="utf-8")
    return path


@pytest.fixture
def key(gw, plan_file):
    return as_json(gw("--json", "--as", "zhangwei", "new", "plan", "--from", plan_file))["key"]


# -- help and usage ----------------------------------------------------------------------------
def test_bare_gongwen_prints_help():
    result = run_cli()
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: ")
    for command in ("new", "show", "do", "list", "worklist", "history", "users", "workflows", "demo"):
        assert f"  {command}" in result.stdout
    assert "Exit codes" in result.stdout


def test_help_of_a_command():
    result = run_cli("do", "--help")
    assert result.exit_code == 0
    assert "--expect-version" in result.stdout


@pytest.mark.parametrize("args, fragment", [
    (["--bogus"], "No such option"),
    (["frobnicate"], "No such command"),
    (["do"], "Missing argument"),
    (["workflows", "graph", "plan", "--format", "png"], "Invalid value"),
])
def test_usage_errors_exit_2_without_traceback(args, fragment):
    result = run_cli(*args)
    assert result.exit_code == 2
    assert fragment in result.stderr
    assert "Traceback" not in result.output


def test_usage_error_in_json_mode_is_an_error_document():
    result = run_cli("--json", "--bogus")
    assert result.exit_code == 2
    error = as_json(result)["error"]
    assert error["reason"] == "usage" and "--bogus" in error["message"]


def test_malformed_set_is_a_usage_error(gw, key):
    before = gw("--json", "--as", "zhangwei", "show", key).stdout
    result = gw("--as", "zhangwei", "do", key, "edit", "--set", "summary")
    assert result.exit_code == 2
    assert "--set needs KEY=VALUE" in result.stderr
    assert gw("--json", "--as", "zhangwei", "show", key).stdout == before


# -- --json documents --------------------------------------------------------------------------
def test_json_new_show_do_list_history(gw, key):
    shown = as_json(gw("--json", "--as", "zhangwei", "show", key))
    for name in ("id", "key", "workflow", "version", "state", "fields", "allowed", "history"):
        assert name in shown, name
    assert shown["key"] == key == f"JH-{YEAR}-0001"
    assert shown["workflow"] == "plan" and shown["state"] == "draft" and shown["version"] == 1
    assert shown["fields"]["issue_date"] == f"{YEAR}-03-01"
    assert shown["fields"]["sections"][0]["due"] == f"{YEAR}-12-31"
    assert {a["id"] for a in shown["allowed"]} == {"edit", "submit"}
    assert [e["transition"] for e in shown["history"]] == ["create"]

    done = as_json(gw("--json", "--as", "zhangwei", "do", key, "submit", "-m", "请核稿"))
    assert {"id", "key", "state"} <= set(done)
    assert done["key"] == key and done["state"] == "review" and done["version"] == 2

    listed = as_json(gw("--json", "--as", "zhaomin", "list"))
    assert [(i["key"], i["state"]) for i in listed["items"]] == [(key, "review")]
    assert as_json(gw("--json", "--as", "zhaomin", "list", "--state", "draft"))["items"] == []
    assert as_json(gw("--json", "--as", "lina", "list", "--mine"))["items"] == []
    assert len(as_json(gw("--json", "--as", "zhangwei", "list", "--mine", "--workflow", "plan"))["items"]) == 1

    history = as_json(gw("--json", "--as", "zhaomin", "history", key))
    assert history["key"] == key
    assert [(e["transition"], e["actor"], e["comment"]) for e in history["history"]] == [
        ("create", "zhangwei", ""), ("submit", "zhangwei", "请核稿")]
    assert all(len(e["hash"]) == 64 for e in history["history"])


def test_json_new_returns_id_key_state(gw):
    created = as_json(gw("--json", "--as", "liuyang", "new", "inspection", "--set", "school=某某县第二小学"))
    assert {"id", "key", "state"} <= set(created)
    assert created["key"] == f"DD-{YEAR}-0001" and created["state"] == "draft"
    assert created["title"] == "某某县第二小学综合督导"


def test_json_worklist_and_users_list(gw, key):
    gw("--as", "zhangwei", "do", key, "submit")
    worklists = as_json(gw("--json", "--as", "lina", "worklist"))
    assert worklists["login"] == "lina"
    found = {(wl["workflow"], wl["worklist"]): [i["key"] for i in wl["items"]] for wl in worklists["worklists"]}
    assert found == {("plan", "to_review"): [key]}
    assert as_json(gw("--json", "--as", "zhaomin", "worklist"))["worklists"] == []
    text = gw("--as", "zhaomin", "worklist")
    assert text.exit_code == 0 and "nothing waits for you" in text.stdout

    listed = as_json(gw("--json", "--as", "zhaomin", "users", "list"))["users"]
    by_login = {u["login"]: u for u in listed}
    assert by_login["lina"] == {"login": "lina", "name": "李娜", "title": "办公室副主任", "roles": ["reviewer"],
                                "key": KeyRing().signer("lina").fingerprint, "unit": ""}
    assert by_login["admin"]["roles"] == ["admin"]


def test_json_error_document(gw):
    result = gw("--json", "--as", "zhangwei", "show", "JH-1999-0001")
    assert result.exit_code == 4
    assert as_json(result) == {"error": {"reason": "not_found", "message": "no item 'JH-1999-0001'"}}


def test_human_output(gw, key):
    result = gw("--as", "zhangwei", "show", key)
    assert result.exit_code == 0
    assert key in result.stdout and "draft (起草)" in result.stdout and "you may: " in result.stdout
    result = gw("--as", "zhangwei", "do", key, "submit")
    assert result.stdout.strip() == f"{key}: submit → review (核稿)"
    assert "送核稿" in gw("--as", "zhangwei", "history", key).stdout
    assert key in gw("--as", "zhangwei", "list").stdout


# -- input: --from and --set -------------------------------------------------------------------
def test_new_from_json_file(gw, tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan_values(urgency="特急"), ensure_ascii=False), encoding="utf-8")
    created = as_json(gw("--json", "--as", "zhangwei", "new", "plan", "--from", path, "-m", "起草"))
    assert created["fields"]["urgency"] == "特急"
    assert created["fields"]["sections"][0]["heading"] == "推进学前教育普及普惠"
    assert created["fields"]["kind"] == "工作要点"  # default filled in
    shown = as_json(gw("--json", "--as", "zhangwei", "show", created["key"]))
    assert shown["history"][0]["comment"] == "起草"


def test_set_list_record_paths(gw, key):
    done = as_json(gw("--json", "--as", "zhangwei", "do", key, "edit",
                      "--set", "sections.1.target=新建公办幼儿园2所",
                      "--set", "sections.+={heading: 加强教育督导, content: 综合督导全覆盖}"))
    sections = done["fields"]["sections"]
    assert [s["heading"] for s in sections] == ["推进学前教育普及普惠", "加强教育督导"]
    assert sections[0]["target"] == "新建公办幼儿园2所"

    created = as_json(gw("--json", "--as", "liuyang", "new", "inspection", "--set", "school=某某县第一小学",
                         "--set", "team.+.name=刘洋", "--set", "team.1.role=组长", "--set", "team.+.name=孙丽"))
    assert [(m["name"], m["role"]) for m in created["fields"]["team"]] == [("刘洋", "组长"), ("孙丽", "成员")]


def test_a_record_may_be_built_by_several_sets_but_must_end_complete(gw, key):
    # heading first, the required content after it: fine once all --set are applied
    done = as_json(gw("--json", "--as", "zhangwei", "do", key, "edit",
                      "--set", "sections.+.heading=加强教育督导", "--set", "sections.2.content=综合督导全覆盖"))
    assert done["fields"]["sections"][1] == {**done["fields"]["sections"][1],
                                             "heading": "加强教育督导", "content": "综合督导全覆盖"}
    before = as_json(gw("--json", "--as", "zhangwei", "show", key))
    result = gw("--as", "zhangwei", "do", key, "edit", "--set", "sections.+.heading=只有标题")
    assert result.exit_code == 4 and "sections.3.content (任务内容) is required" in result.output
    after = as_json(gw("--json", "--as", "zhangwei", "show", key))
    assert after["version"] == before["version"] and len(after["fields"]["sections"]) == 2


def test_typed_values_are_normalised(gw):
    created = as_json(gw("--json", "--as", "zhangwei", "new", "plan", "--set", "issue_date=2025年3月1日",
                         "--set", "copies= 30", "--set", "year=2025"))
    assert created["fields"]["issue_date"] == "2025-03-01"
    assert created["fields"]["copies"] == 30 and created["fields"]["year"] == 2025
    assert created["fields"]["publicity"] == "主动公开"  # default


@pytest.mark.parametrize("args, fragment", [
    (["new", "plan", "--set", "issue_date=abc"], "'abc' is not a valid date"),
    (["new", "plan", "--set", "nosuch=1"], "unknown field 'nosuch'"),
    (["new", "nosuch"], "unknown workflow 'nosuch'"),
    (["new", "plan", "--set", "kind=通知"], "'通知' is not one of 工作要点、工作计划、实施方案"),
    (["new", "plan", "--set", "year=1999"], "below the minimum 2000"),
    (["new", "plan", "--set", "sections.3.heading=x"], "sections has 0 records"),
    (["new", "plan", "--from", "missing.yaml"], "cannot read"),
    (["new", "plan", "--set", "sections={heading: x"], "is not a valid list"),
    (["new", "plan", "--set", "sections=- {heading: a, heading: b}"], "is not a valid list"),
    (["new", "plan", "--set", "sections.+={heading: x"], "is not a valid record"),
])
def test_bad_values_exit_4_with_one_line(gw, workspace, args, fragment):
    before = snapshot(workspace)
    result = gw("--as", "zhangwei", *args)
    assert result.exit_code == 4
    assert fragment in one_error_line(result)
    assert snapshot(workspace) == before


def test_bad_value_on_a_transition_exit_4(gw, workspace, key):
    before = snapshot(workspace)
    result = gw("--json", "--as", "zhangwei", "do", key, "edit", "--set", "copies=many")
    assert result.exit_code == 4
    assert as_json(result)["error"]["reason"] == "bad_input"
    assert snapshot(workspace) == before


def test_from_file_with_bad_content(gw, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert "not valid json" in one_error_line(gw("--as", "zhangwei", "new", "plan", "--from", broken))
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n", encoding="utf-8")
    result = gw("--as", "zhangwei", "new", "plan", "--from", listed)
    assert result.exit_code == 4 and "mapping" in one_error_line(result)
    other = tmp_path / "plan.txt"
    other.write_text("title: x\n", encoding="utf-8")
    assert ".yaml or .json" in one_error_line(gw("--as", "zhangwei", "new", "plan", "--from", other))


# -- users ---------------------------------------------------------------------------------------
def test_admin_manages_users(gw, workspace):
    added = as_json(gw("--json", "--as", "admin", "users", "add", "sunli", "--name", "孙丽",
                       "--title", "兼职督学", "--role", "inspector"))
    assert added == {"login": "sunli", "name": "孙丽", "title": "兼职督学", "roles": ["inspector"], "key": None,
                     "unit": ""}
    granted = as_json(gw("--json", "--as", "admin", "users", "grant", "sunli", "reviewer", "admin"))
    assert sorted(granted["roles"]) == ["admin", "inspector", "reviewer"]
    revoked = as_json(gw("--json", "--as", "admin", "users", "revoke", "sunli", "admin"))
    assert revoked["roles"] == ["inspector", "reviewer"]
    listed = {u["login"]: u["roles"] for u in as_json(gw("--json", "--as", "sunli", "users", "list"))["users"]}
    assert listed["sunli"] == ["inspector", "reviewer"]
    assert "孙丽" in gw("--as", "sunli", "users", "list").stdout
    # sunli makes a key on her own account and the admin registers it: then she can act
    refused = gw("--json", "--as", "sunli", "new", "inspection", "--set", "school=某某县第一实验小学")
    assert refused.exit_code == 1 and json.loads(refused.stdout)["error"]["reason"] == "not_authenticated"
    line = as_json(gw("--json", "key", "new", "--login", "sunli"))["key"]
    registered = as_json(gw("--json", "--as", "admin", "users", "key", "sunli", line))
    assert registered["key"] == KeyRing().signer("sunli").fingerprint


@pytest.mark.parametrize("args", [
    ["users", "add", "intruder", "--role", "supervisor"],
    ["users", "grant", "zhangwei", "supervisor"],
    ["users", "revoke", "wangqiang", "supervisor"],
])
def test_non_admin_is_refused(gw, workspace, args):
    before = snapshot(workspace)
    result = gw("--json", "--as", "zhangwei", *args)
    assert result.exit_code == 1
    error = as_json(result)["error"]
    assert error["reason"] == "role_missing" and "not an admin" in error["message"]
    assert snapshot(workspace) == before


@pytest.mark.parametrize("args, fragment", [
    (["users", "add", "x", "--role", "emperor"], "unknown role 'emperor'"),
    (["users", "add", "lina"], "user 'lina' already exists"),
    (["users", "grant", "lina", "owner"], "owner is a dynamic role"),
    (["users", "grant", "ghost", "clerk"], "unknown user 'ghost'"),
    (["users", "revoke", "lina", "office"], "does not hold the role 'office'"),
])
def test_user_admin_bad_input(gw, workspace, args, fragment):
    before = snapshot(workspace)
    result = gw("--as", "admin", *args)
    assert result.exit_code == 4
    assert fragment in one_error_line(result)
    assert snapshot(workspace) == before


def test_revoked_role_takes_effect(gw, key):
    gw("--as", "zhangwei", "do", key, "submit")
    assert gw("--as", "admin", "users", "revoke", "lina", "reviewer").exit_code == 0
    result = gw("--json", "--as", "lina", "do", key, "forward")
    assert result.exit_code == 1 and as_json(result)["error"]["reason"] == "role_missing"
    assert gw("--as", "admin", "users", "grant", "lina", "reviewer").exit_code == 0
    assert as_json(gw("--json", "--as", "lina", "do", key, "forward"))["state"] == "approve"


# -- finding the workspace ---------------------------------------------------------------------
def test_workspace_found_from_a_subdirectory(workspace, key, monkeypatch):
    sub = workspace.root / "documents" / "deeper"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    result = run_cli("--json", "--as", "zhangwei", "show", key)
    assert result.exit_code == 0, result.output
    assert as_json(result)["key"] == key


def test_workspace_by_home_option_and_environment(workspace, key, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    by_option = run_cli("--json", "--home", workspace.root, "--as", "zhangwei", "show", key)
    assert as_json(by_option)["key"] == key
    by_env = run_cli("--json", "--as", "zhangwei", "show", key, env={"GONGWEN_HOME": str(workspace.root)})
    assert as_json(by_env)["key"] == key


def test_not_in_a_workspace_exits_4(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_cli("--as", "zhangwei", "list")
    assert result.exit_code == 4
    assert "not inside a gongwen workspace" in one_error_line(result)
    result = run_cli("--home", tmp_path, "list")
    assert result.exit_code == 4
    assert "is not a gongwen workspace" in one_error_line(result)


def test_init_through_the_cli(tmp_path):
    target = tmp_path / "new-ws"
    result = run_cli("--json", "--as", "root_admin", "init", target, "--issuer-code", "某教字")
    assert result.exit_code == 0, result.output
    assert as_json(result)["admin"] == "root_admin"
    assert (target / "gongwen.yaml").is_file() and (target / "definitions" / "plan.yaml").is_file()
    assert sorted(p.name for p in (target / "templates_docx").iterdir()) == ["clean_school", "inspection", "plan"]
    listed = as_json(run_cli("--json", "--home", target, "--as", "root_admin", "users", "list"))
    assert listed["users"][0]["roles"] == ["admin"]
    again = run_cli("init", target)
    assert again.exit_code == 4
    assert "already a gongwen workspace" in one_error_line(again)


def test_init_where_no_folder_can_be_made_exits_4(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    result = run_cli("--as", "admin", "init", blocker / "ws")
    assert result.exit_code == 4
    assert "cannot create the workspace folder" in one_error_line(result)


# -- the acting user -----------------------------------------------------------------------------
def test_acting_user_from_option_then_environment(gw, key):
    shown = as_json(gw("--json", "show", key, env={"GONGWEN_USER": "lina"}))
    assert {a["id"] for a in shown["allowed"]} == set()  # lina may do nothing on a draft
    gw("--as", "zhangwei", "do", key, "submit")
    by_env = as_json(gw("--json", "do", key, "forward", env={"GONGWEN_USER": "lina"}))
    assert by_env["updated_by"] == "lina"
    # --as wins over GONGWEN_USER
    by_option = as_json(gw("--json", "--as", "wangqiang", "do", key, "approve", env={"GONGWEN_USER": "lina"}))
    assert by_option["updated_by"] == "wangqiang"


def test_acting_user_defaults_to_the_os_login(gw, workspace):
    login = getpass.getuser()
    add_users(workspace, [(login, login, "", ["clerk"])])
    created = as_json(gw("--json", "new", "plan", "--title", "操作系统用户起草"))
    assert created["creator"] == login


def test_unknown_acting_user_is_refused(gw, workspace, key):
    before = snapshot(workspace)
    result = gw("--json", "do", key, "submit", env={"GONGWEN_USER": "stranger"})
    assert result.exit_code == 1
    assert as_json(result)["error"]["reason"] == "unknown_user"
    result = gw("--as", "stranger", "new", "plan")
    assert result.exit_code == 1
    assert "unknown user 'stranger'" in one_error_line(result)
    assert snapshot(workspace) == before


# -- real subprocesses -----------------------------------------------------------------------------
def test_subprocess_show_json_from_a_subdirectory(workspace, key):
    sub = workspace.root / "documents"
    proc = run_subprocess("--json", "show", key, cwd=sub, extra_env={"GONGWEN_USER": "zhaomin"})
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    assert shown["key"] == key and shown["state"] == "draft" and shown["workflow"] == "plan"
    assert [e["transition"] for e in shown["history"]] == ["create"]


def test_subprocess_refused_do(workspace, key):
    before = snapshot(workspace)
    proc = run_subprocess("--as", "lina", "do", key, "forward", cwd=workspace.root)
    assert proc.returncode == 1
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "not an exit of draft" in lines[0]
    assert "Traceback" not in proc.stderr
    assert snapshot(workspace) == before


def test_subprocess_bare_gongwen_prints_help(tmp_path):
    proc = run_subprocess(cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Usage: gongwen ")
    assert proc.stderr == ""


def test_subprocess_usage_error(tmp_path):
    proc = run_subprocess("--bogus", cwd=tmp_path)
    assert proc.returncode == 2
    assert "No such option" in proc.stderr and "Traceback" not in proc.stderr


def test_subprocess_demo(tmp_path):
    target = tmp_path / "demo"
    proc = run_subprocess("--json", "demo", target, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["workspace"] == str(target)
    assert sorted(i["workflow"] for i in result["items"]) == ["clean_school", "inspection", "plan"]
    assert {i["workflow"]: i["state"] for i in result["items"]} == DEMO_END
    numbers = {i["workflow"]: i["numbers"] for i in result["items"]}
    # one 发文字号 series for the county: the 推荐文件 of the clean_school (earlier in the story) took 1号
    assert numbers["plan"] == {"doc_number": f"某教发〔{YEAR}〕2号"}
    assert numbers["clean_school"]["recommend_number"] == f"某教发〔{YEAR}〕1号"
    assert any(step["transition"] == "return" for step in result["steps"])
    # the demo folder is a workspace; running the demo again over it is allowed
    shown = run_subprocess("--json", "--as", "zhaomin", "list", cwd=target)
    assert len(json.loads(shown.stdout)["items"]) == 3
    again = run_subprocess("--json", "demo", target, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
