"""Definition errors (each kind, with its exact file:line), the shipped definitions, and the
`workflows` commands (list, show, validate, graph)."""

from __future__ import annotations

import json
import shutil

import pytest
from helpers import REPO, run_cli

from workflow.definition.loader import load_file
from workflow.errors import DefinitionError

# A small valid definition; the cases below break it at a known line.
VALID = """\
id: mini
title: 小流程
key_prefix: MN
initial: draft
roles:
  clerk: 拟稿人
fields:
  title: {type: text, label: 标题}
states:
  draft: {title: 起草}
  done: {title: 完成, final: true}
transitions:
  finish:
    title: 完成
    from: [draft]
    to: done
    roles: [clerk]
    when: "fields.title"
    templates: [稿纸.docx]
"""


def replace_line(text: str, number: int, new: str) -> str:
    lines = text.splitlines()
    lines[number - 1] = new
    return "\n".join(lines) + "\n"


def insert_after(text: str, number: int, new: str) -> str:
    lines = text.splitlines()
    lines.insert(number, new)
    return "\n".join(lines) + "\n"


# (kind, broken text, expected line, fragment of the message)
CASES = [
    ("bad_yaml", replace_line(VALID, 11, "   done: {title: 完成, final: true}"), 11, "bad YAML"),
    ("unknown_state", replace_line(VALID, 16, "    to: finished"), 16, "unknown state 'finished'"),
    ("unknown_state_from", replace_line(VALID, 15, "    from: [draft, limbo]"), 15, "unknown state 'limbo'"),
    ("unreachable_state", insert_after(VALID, 11, "  orphan: {title: 孤立, final: true}"), 12,
     "unreachable state 'orphan'"),
    ("duplicate_id", insert_after(VALID, 11, "  draft: {title: 又一个起草}"), 12, "duplicate id 'draft'"),
    ("unknown_role", replace_line(VALID, 17, "    roles: [boss]"), 17, "unknown role 'boss'"),
    ("bad_guard_syntax", replace_line(VALID, 18, '    when: "fields.title =="'), 18, "bad guard expression"),
    ("bad_guard_name", replace_line(VALID, 18, '    when: "secret.value > 1"'), 18, "unknown name 'secret'"),
    ("missing_template", replace_line(VALID, 19, "    templates: [缺失.docx]"), 19,
     "missing template file mini/缺失.docx"),
    ("field_type_unknown", replace_line(VALID, 8, "  title: {type: txt, label: 标题}"), 8, "field type unknown: 'txt'"),
    ("bad_key_prefix", replace_line(VALID, 3, "key_prefix: ../MN"), 3, "bad key_prefix '../MN'"),
    ("bad_template_name", replace_line(VALID, 19, "    templates: [../稿纸.docx]"), 19,
     "bad template name '../稿纸.docx'"),
]


@pytest.fixture
def defs(tmp_path):
    """tmp/definitions/ for the YAML and tmp/templates_docx/mini/稿纸.docx (the one the valid file names)."""
    (tmp_path / "definitions").mkdir()
    (tmp_path / "templates_docx" / "mini").mkdir(parents=True)
    (tmp_path / "templates_docx" / "mini" / "稿纸.docx").write_bytes(b"PK not really a docx")
    return tmp_path


def write(defs, text: str):
    path = defs / "definitions" / "mini.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_base_definition_is_valid(defs):
    definition = load_file(write(defs, VALID), defs / "templates_docx")
    assert definition.id == "mini"
    assert set(definition.states) == {"draft", "done"}
    assert definition.transitions["finish"].target == "done"


@pytest.mark.parametrize("kind, text, line, message", CASES, ids=[c[0] for c in CASES])
def test_each_definition_error_names_file_and_line(defs, kind, text, line, message):
    path = write(defs, text)
    with pytest.raises(DefinitionError) as info:
        load_file(path, defs / "templates_docx")
    matching = [p for p in info.value.problems if message in p]
    assert len(matching) == 1, info.value.problems
    assert matching[0].startswith(f"{path}:{line}: "), matching
    assert info.value.exit_code == 4


@pytest.mark.parametrize("kind, text, line, message", CASES, ids=[c[0] for c in CASES])
def test_cli_validate_reports_file_line_and_exits_4(defs, kind, text, line, message):
    path = write(defs, text)
    result = run_cli("workflows", "validate", path)
    assert result.exit_code == 4
    assert "Traceback" not in result.output
    assert result.stderr.startswith("error: ")
    assert f"{path}:{line}: " in result.stderr
    assert message in result.stderr


def test_cli_validate_json_error_lists_problems(defs):
    path = write(defs, replace_line(VALID, 17, "    roles: [boss]"))
    result = run_cli("--json", "workflows", "validate", path)
    assert result.exit_code == 4
    error = json.loads(result.stdout)["error"]
    assert error["reason"] == "bad_definition"
    assert error["problems"] == [f"{path}:17: unknown role 'boss' (declare it under roles:)"]


def test_all_problems_of_a_file_are_reported_together(defs):
    text = replace_line(replace_line(VALID, 8, "  title: {type: txt}"), 17, "    roles: [boss]")
    with pytest.raises(DefinitionError) as info:
        load_file(write(defs, text), defs / "templates_docx")
    lines = sorted(int(p.split(":")[1]) for p in info.value.problems)
    assert lines == [8, 17]


@pytest.mark.parametrize("fmt", ["{seq.real.x}", "{seq[0]}", "{nope}{seq}", "{seq:q}"])
def test_bad_number_format_is_a_definition_error(defs, fmt):
    text = VALID.replace("    templates: [稿纸.docx]\n", "    templates: [稿纸.docx]\n    assign: [n]\n"
                         f"numbers:\n  n: {{title: 号, format: \"{fmt}\"}}\n")
    path = write(defs, text)
    result = run_cli("workflows", "validate", path)
    assert result.exit_code == 4, result.output
    assert f"{path}:22: bad number format" in one_line(result)


def one_line(result) -> str:
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_templates_are_not_checked_without_a_templates_dir(defs):
    text = replace_line(VALID, 19, "    templates: [缺失.docx]")
    assert load_file(write(defs, text)).transitions["finish"].templates == ["缺失.docx"]


def test_unreadable_file_is_a_definition_error(tmp_path):
    with pytest.raises(DefinitionError) as info:
        load_file(tmp_path / "absent.yaml")
    assert info.value.problems[0].startswith(f"{tmp_path / 'absent.yaml'}:1: cannot read")


# -- the shipped definitions ---------------------------------------------------------------------
SHIPPED = ["clean_school", "inspection", "plan"]


def test_shipped_definitions_validate(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # outside any workspace: the shipped files are checked
    result = run_cli("workflows", "validate")
    assert result.exit_code == 0, result.output
    for name in SHIPPED:
        assert f"ok  {REPO / 'definitions' / (name + '.yaml')}" in result.stdout


def test_shipped_definitions_validate_by_file_name():
    files = [REPO / "definitions" / f"{name}.yaml" for name in SHIPPED]
    result = run_cli("--json", "workflows", "validate", *files)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"valid": [str(f) for f in files]}


def test_workspace_definitions_validate(gw, workspace):
    result = gw("--json", "workflows", "validate")
    assert result.exit_code == 0, result.output
    assert sorted(json.loads(result.stdout)["valid"]) == sorted(
        str(workspace.definitions_dir / f"{n}.yaml") for n in SHIPPED)


def test_broken_workspace_definition_stops_item_commands(gw, workspace):
    path = workspace.definitions_dir / "plan.yaml"
    text = path.read_text(encoding="utf-8").replace("    to: signed\n", "    to: sigend\n")
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index("    to: sigend") + 1
    result = gw("--as", "zhangwei", "new", "plan", "--title", "x")
    assert result.exit_code == 4
    assert f"{path}:{line}: unknown state 'sigend'" in result.stderr
    assert "Traceback" not in result.output


def test_workflows_list_shows_chinese_titles(gw):
    result = gw("workflows", "list")
    assert result.exit_code == 0, result.output
    for title in ("工作计划", "督导检查", "清廉学校认定"):
        assert title in result.stdout
    data = json.loads(gw("--json", "workflows", "list").stdout)
    assert {w["id"]: w["title"] for w in data["workflows"]} == {
        "clean_school": "清廉学校认定", "inspection": "督导检查", "plan": "工作计划"}
    assert all(len(w["version"]) == 64 for w in data["workflows"])


def test_workflows_show_text_and_json(gw):
    result = gw("workflows", "show", "plan")
    assert result.exit_code == 0, result.output
    for text in ("工作计划", "起草", "核稿", "签发", "已印发", "发文字号", "not by whoever did create"):
        assert text in result.stdout
    data = json.loads(gw("--json", "workflows", "show", "inspection").stdout)
    assert data["title"] == "督导检查"
    assert data["states"]["publish"]["title"] == "已下达（整改中）"
    assert data["transitions"]["complete"]["to"] == "closed"


def test_workflows_show_unknown_id_exits_4(gw):
    result = gw("workflows", "show", "nosuch")
    assert result.exit_code == 4
    assert "unknown workflow 'nosuch'" in result.stderr


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_graph_text_formats_name_every_state(gw, fmt):
    result = gw("workflows", "graph", "plan", "--format", fmt)
    assert result.exit_code == 0, result.output
    for state in ("draft", "review", "approve", "signed", "publish", "returned", "rejected"):
        assert state in result.stdout
    if fmt == "dot":
        assert "digraph" in result.stdout
    else:
        assert "stateDiagram" in result.stdout


def test_graph_to_file(gw, tmp_path):
    out = tmp_path / "plan.mmd"
    result = gw("workflows", "graph", "clean_school", "-o", out)
    assert result.exit_code == 0, result.output
    assert "publicity" in out.read_text(encoding="utf-8")


def test_graph_to_an_impossible_file_exits_4(gw, tmp_path):
    result = gw("workflows", "graph", "plan", "-o", tmp_path / "no" / "such" / "dir" / "plan.mmd")
    assert result.exit_code == 4
    assert "cannot write" in one_line(result)


def test_graph_svg_needs_graphviz(gw):
    result = gw("workflows", "graph", "plan", "--format", "svg")
    if shutil.which("dot"):
        print("Graphviz `dot` is installed: the missing-Graphviz branch (exit 4) is not exercised")
        assert result.exit_code == 0, result.output
        assert "<svg" in result.stdout
    else:
        print("Graphviz `dot` is not installed: the svg-rendering branch is not exercised")
        assert result.exit_code == 4
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ")
        assert "Graphviz" in lines[0]
        assert "Traceback" not in result.output
