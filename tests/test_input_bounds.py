"""Issue 13: every bad input ends in one clear line, exit 4, and nothing written. Each case runs the
real command line: in-process through CliRunner under a SIGALRM time limit, or, where a regression
would hang in C (a FIFO, /dev/zero, `9**(9**9)`, aliases expanded by the hash), as a subprocess
with a timeout. Cases: YAML aliases ("billion laughs") in --from values and in definitions; YAML
tags and keys that are not text; min/max against the field's type; a definition's id against its
file name; templates that loop, recurse or build huge values; input files that are FIFOs, devices,
folders or too large; control characters, lone surrogates and sizes of values; --set nesting;
item numbers beyond the database's integers.

One workspace (SQLite) per test process serves every test, as nothing here may change it: each
test compares every row of every table before and after."""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import docx
import helpers
import pytest
from click.testing import CliRunner
from helpers import NOW, REPO, USERS, add_users, db_path, gongwen_command, plan_values, use_classic

from workflow.engine.engine import Engine
from workflow.store.workspace import init

IN_PROCESS_SECONDS = 30  # a hang of an in-process case fails the test (SIGALRM)
SUBPROCESS_SECONDS = 30  # the same for the subprocess cases (cases that would hang in C code)
EDIT_TEMPLATE = "修改记录.docx"  # what plan's `edit` renders


# -- fixtures and helpers ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """A workspace with the admin and zhangwei (a clerk, with a key) and one plan item of zhangwei's."""
    root = tmp_path_factory.mktemp("bounds")
    account = root / "account"
    with pytest.MonkeyPatch.context() as env:
        for name in ("GONGWEN_HOME", "GONGWEN_USER", "GONGWEN_DB", "GONGWEN_PASSPHRASE"):
            env.delenv(name, raising=False)
        env.setenv("GONGWEN_NOW", NOW)
        env.setenv("GONGWEN_CONFIG_HOME", str(account))
        workspace = init(root / "ws")
        use_classic(workspace.root)
        add_users(workspace, [u for u in USERS if u[0] == "zhangwei"])
        key = Engine(workspace).create("zhangwei", "plan", values=plan_values()).key
    yield SimpleNamespace(workspace=workspace, root=workspace.root, account=account, key=key, tmp=root)
    workspace.close()


@pytest.fixture(autouse=True)
def time_limit():
    """An in-process case that hangs fails after IN_PROCESS_SECONDS."""
    yield from helpers.time_limit(IN_PROCESS_SECONDS)


def gw(ws, *args):
    """The CLI in-process, as zhangwei unless --as is given, on the module's workspace."""
    from cli import cli

    acting = [] if "--as" in args else ["--as", "zhangwei"]
    return CliRunner().invoke(cli, ["--home", str(ws.root), *acting, *[str(a) for a in args]],
                              env={"GONGWEN_CONFIG_HOME": str(ws.account), "GONGWEN_NOW": NOW},
                              catch_exceptions=False)


def gw_process(ws, *args, timeout=SUBPROCESS_SECONDS):
    """The installed command in a child process; a hang raises TimeoutExpired (the test fails)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGWEN_")}
    env.update(GONGWEN_NOW=NOW, GONGWEN_CONFIG_HOME=str(ws.account))
    if gongwen_command()[0] == sys.executable:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    acting = [] if "--as" in args else ["--as", "zhangwei"]
    return subprocess.run([*gongwen_command(), "--home", str(ws.root), *acting, *[str(a) for a in args]],
                          cwd=ws.tmp, env=env, capture_output=True, text=True, encoding="utf-8",
                          errors="replace", timeout=timeout)


def refused(result, fragment: str, code: int = 4) -> str:
    """Exit `code`, exactly one line of output (an `error:` line holding `fragment`), no traceback."""
    if isinstance(result, subprocess.CompletedProcess):
        exit_code, output = result.returncode, result.stdout + result.stderr
    else:
        exit_code, output = result.exit_code, result.output
    assert exit_code == code, output
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("error: "), lines[0]
    assert fragment in lines[0], lines[0]
    return lines[0]


def rows(ws) -> dict:
    """Every row of every table, read with sqlite3 (helpers.snapshot without the SQLAlchemy
    reflection, which costs a tenth of a second a time)."""
    connection = sqlite3.connect(db_path(ws.workspace))
    try:
        tables = [name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {name: sorted(map(repr, connection.execute(f'SELECT * FROM "{name}"'))) for name in sorted(tables)}
    finally:
        connection.close()


@pytest.fixture
def unchanged(ws):
    """The whole database is the same after the test as before."""
    before = rows(ws)
    assert before["items"] and before["events"]
    yield
    assert rows(ws) == before


def line_of(text: str, marker: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if marker in line)


LAUGHS = "".join([
    "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    *(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]\n" for prev, name in zip("abcdefgh", "bcdefghi")),
])  # *i is 9**9 = 387,420,489 lols


def alias_line(message: str, path: Path) -> int:
    """The line a refused alias was named at: one of the lines that use aliases."""
    line = int(re.search(re.escape(str(path)) + r":(\d+): ", message).group(1))
    assert "*" in path.read_text(encoding="utf-8").splitlines()[line - 1]
    return line


# -- YAML aliases, tags and keys in --from values ---------------------------------------------
def test_new_from_yaml_with_nested_aliases_is_refused(ws, unchanged):
    path = ws.tmp / "laughs.yaml"
    path.write_text(LAUGHS + "title: *i\nyear: 2025\n", encoding="utf-8")
    message = refused(gw_process(ws, "new", "plan", "--from", path), "aliases expand to more than")
    alias_line(message, path)


def test_a_few_aliases_in_values_are_fine(ws):
    path = ws.tmp / "aliased.yaml"
    path.write_text("department: &d 办公室\ntitle: 工作要点\nyear: 2025\n"
                    "sections:\n  - {heading: *d, content: 新建}\n", encoding="utf-8")
    result = gw(ws, "--json", "new", "plan", "--from", path)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["fields"]["sections"][0]["heading"] == "办公室"


@pytest.mark.parametrize("text, marker, fragment", [
    ("title: !!binary aGVsbG8=\n", "title", "the YAML tag !!binary is not allowed"),
    ("title: !!set {a, b}\n", "title", "the YAML tag !!set is not allowed"),
    ("title: !!python/object:os.system x\n", "title", "the YAML tag !!python/object:os.system is not allowed"),
    ("title: x\n1: y\n", "1: y", "keys must be text, not int '1'"),
    ("title: x\n? [a]\n: y\n", "? [a]", "keys must be text, not a list or mapping"),
    ("title: &t [*t]\n", "title", "a recursive alias"),
], ids=["binary", "set", "python", "int_key", "list_key", "recursive"])
def test_new_from_yaml_refuses_tags_and_keys_with_file_and_line(ws, unchanged, text, marker, fragment):
    path = ws.tmp / "tagged.yaml"
    path.write_text(text, encoding="utf-8")
    refused(gw(ws, "new", "plan", "--from", path), f"{path}:{line_of(text, marker)}: {fragment}")


# -- input files: only regular files of a bounded size ------------------------------------------
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_new_from_a_fifo_is_refused_without_waiting(ws, unchanged):
    fifo = ws.tmp / "pipe.yaml"
    if not fifo.exists():
        os.mkfifo(fifo)
    refused(gw_process(ws, "new", "plan", "--from", fifo), f"{fifo}: cannot read: it is a FIFO (named pipe)")
    refused(gw_process(ws, "workflows", "validate", fifo), f"{fifo}:1: cannot read: it is a FIFO")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_new_from_dev_zero_is_refused_before_reading(ws, unchanged):
    refused(gw_process(ws, "new", "plan", "--from", "/dev/zero"), "/dev/zero: --from takes a .yaml or .json file")
    link = ws.tmp / "zero.yaml"  # the symlink is followed: what counts is what it points to
    if not link.is_symlink():
        link.symlink_to("/dev/zero")
    refused(gw_process(ws, "new", "plan", "--from", link), f"{link}: cannot read: it is a character device")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_ingest_of_a_fifo_is_refused_without_waiting(ws, unchanged):
    fifo = ws.tmp / "form.docx"
    if not fifo.exists():
        os.mkfifo(fifo)
    result = gw_process(ws, "ingest", fifo, timeout=2)
    assert result.returncode == 4 and "FIFO" in result.stdout + result.stderr


def test_new_from_a_folder_a_big_file_or_bytes_that_are_not_utf8(ws, unchanged):
    folder = ws.tmp / "values.yaml"
    folder.mkdir(exist_ok=True)
    refused(gw(ws, "new", "plan", "--from", folder), f"{folder}: cannot read: it is a folder, not a regular file")
    big = ws.tmp / "big.json"
    with big.open("wb") as out:
        out.truncate(16 * 1024 * 1024 + 1)
    refused(gw(ws, "new", "plan", "--from", big), f"{big}: too large (16.0 MB; the limit is 16.0 MB)")
    latin = ws.tmp / "latin.yaml"
    latin.write_bytes("title: caf\xe9\n".encode("latin-1"))
    refused(gw(ws, "new", "plan", "--from", latin), f"{latin}: not UTF-8 text")
    refused(gw(ws, "new", "plan", "--from", ws.tmp / "absent.yaml"), "absent.yaml: cannot read: No such file")


# -- values: control characters, surrogates, sizes, nesting -----------------------------------
@pytest.mark.parametrize("args, fragment", [
    (["--set", "title=a\x0bb"], "title (标题): the control character U+000B at position 2 is not allowed"),
    (["--set", "summary=a\x00b"], "summary (总体要求): the control character U+0000 at position 2"),
    (["--set", "cc=\x85"], "cc (抄送): the control character U+0085 at position 1"),
    (["--set", "title=a\udcffb"], "title (标题): a lone surrogate U+DCFF at position 2"),
    (["--set", "sections.+.heading=x\x1fy"], "sections.1.heading (一级标题): the control character U+001F"),
    (["--title", "第一行\n第二行"], "--title: a line break or tab (U+000A) at position 4 is not allowed"),
    (["--title", "x", "-m", "意见\x07"], "comment: the control character U+0007 at position 3"),
], ids=["vt_title", "nul", "c1", "surrogate", "record", "title_newline", "comment_bell"])
def test_control_characters_are_refused_when_given(ws, unchanged, args, fragment):
    refused(gw(ws, "new", "plan", "--set", "year=2025", *args), fragment)


def test_control_characters_in_a_transition_and_a_title_without_a_title_field(ws, unchanged):
    refused(gw(ws, "do", ws.key, "edit", "--set", "cc=a\x0cb"), "cc (抄送): the control character U+000C")
    refused(gw(ws, "--as", "zhangwei", "new", "inspection", "--title", "督导\x00"),
            "--title: the control character U+0000 at position 3")


def test_tabs_and_line_breaks_stay_allowed_in_text(ws):
    result = gw(ws, "--json", "new", "plan", "--set", "title=要点", "--set", "year=2025",
                "--set", "summary=第一段\n\t第二段\r\n第三段")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["fields"]["summary"] == "第一段\n\t第二段\r\n第三段"


def test_from_json_with_a_lone_surrogate_or_a_control_character(ws, unchanged):
    path = ws.tmp / "surrogate.json"
    path.write_text('{"title": "\\ud800", "year": 2025}', encoding="utf-8")
    refused(gw(ws, "new", "plan", "--from", path), "title (标题): a lone surrogate U+D800 at position 1")
    path.write_text('{"title": "a", "sections": [{"heading": "x\\u000b", "content": "y"}]}', encoding="utf-8")
    refused(gw(ws, "new", "plan", "--from", path), "sections.1.heading (一级标题): the control character U+000B")


def test_a_text_over_one_megabyte_and_an_item_over_four_are_refused(ws, unchanged):
    path = ws.tmp / "long.json"
    path.write_text(json.dumps({"title": "长" * 400_000, "year": 2025}, ensure_ascii=False), encoding="utf-8")
    refused(gw(ws, "new", "plan", "--from", path), "title (标题): too long (1.1 MB; the limit is 1.0 MB)")
    text = "x" * 900_000  # each field under the limit, all of them over the item's
    path.write_text(json.dumps({name: text for name in ("title", "department", "drafter_phone", "main_to", "cc")}),
                    encoding="utf-8")
    refused(gw(ws, "new", "plan", "--from", path),
            "the item's fields are too large (4.3 MB as JSON; the limit is 4 MB)")


def test_deep_nesting_is_refused(ws, unchanged):
    refused(gw(ws, "new", "plan", "--set", "sections=" + "[" * 60_000),
            "--set sections: nested more than 32 levels deep")
    refused(gw(ws, "do", ws.key, "edit", "--set", "sections.+=" + "{a: " * 60_000),
            "--set sections.+: nested more than 32 levels deep")
    path = ws.tmp / "deep.json"
    path.write_text('{"sections": ' + "[" * 60_000 + "]" * 60_000 + "}", encoding="utf-8")
    refused(gw(ws, "new", "plan", "--from", path), f"{path}: nested more than 32 levels deep")


# -- item keys ------------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [["show"], ["history"], ["docs"], ["do", "{key}", "edit"]],
                         ids=["show", "history", "docs", "do"])
@pytest.mark.parametrize("key", ["99999999999999999999", "9223372036854775808", "²"])
def test_an_item_number_out_of_range_is_not_found(ws, unchanged, args, key):
    argv = [a.replace("{key}", key) for a in args] if "{key}" in args else [*args, key]
    refused(gw(ws, *argv), f"no item {key!r}")


# -- templates: bounded in work, size and recursion -------------------------------------------
def template_with(text: str) -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    blob = io.BytesIO()
    document.save(blob)
    return blob.getvalue()


@pytest.fixture
def edit_template(ws):
    """Put a template in place of plan's 修改记录.docx for the test, and back afterwards."""
    path = ws.root / "templates_docx" / "plan" / EDIT_TEMPLATE
    original = path.read_bytes()

    def put(text: str) -> None:
        path.write_bytes(template_with(text))

    yield put
    path.write_bytes(original)


@pytest.mark.parametrize("source, fragment", [
    ("{% for i in range(100000) %}{% for j in range(100000) %}…{% endfor %}{% endfor %}",
     "the template does too much work"),
    ("{{ 9**(9**9) }}", "a number of more than 8,192 bits"),  # hung in jinja's constant folding
], ids=["nested_loops", "power_folded_at_compile_time"])
def test_a_template_that_would_hang_is_refused(ws, unchanged, edit_template, source, fragment):
    edit_template(source)
    message = refused(gw_process(ws, "do", ws.key, "edit"), f"plan/{EDIT_TEMPLATE}: body: ")
    assert fragment in message


@pytest.mark.parametrize("source, fragment", [
    ("{{ 'a' * 10**9 }}", "a value of 1 × 1,000,000,000"),
    ("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", "calls nest more than 40 deep"),
    ("{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}", "calls nest more than 40 deep"),
    ("{% set a = '0123456789' %}{% set b = a~a~a~a~a~a~a~a~a~a %}{% set c = b~b~b~b~b~b~b~b~b~b %}"
     "{% set d = c~c~c~c~c~c~c~c~c~c %}{% set e = d~d~d~d~d~d~d~d~d~d %}{% set f = e~e~e~e~e~e~e~e~e~e %}"
     "{% set g = f~f~f~f~f~f~f~f~f~f %}{% set h = g~g~g~g~g~g~g~g~g~g %}{{ h }}",
     "builds a value of 10,000,000 characters"),
    ("{{ 'a'.ljust(1000000000) }}", "a width of 1,000,000,000"),
    ("{{ 'a'|center(1000000000) }}", "a width of 1,000,000,000"),
    ("{{ '%0999999999d' % 1 }}", "a width of 999,999,999"),
    ("{{ '{:>999999999}'.format(1) }}", "a width of 999,999,999"),
    ("{% set s = 'x' * 1000000 %}{% for i in range(100) %}{{ s }}{% endfor %}", "over 32,000,000 characters"),
], ids=["repeat", "recursive_macro", "recursive_loop", "concat", "ljust", "center", "percent", "format", "output"])
def test_a_template_that_builds_too_much_is_refused_naming_it(ws, unchanged, edit_template, source, fragment):
    edit_template(source)
    message = refused(gw(ws, "do", ws.key, "edit"), f"plan/{EDIT_TEMPLATE}: body: ")
    assert fragment in message


# -- definitions ------------------------------------------------------------------------------------
MINI = """\
id: {id}
title: 小流程
key_prefix: MN
initial: draft
roles:
  clerk: 拟稿人
fields:
  title: {{type: text, label: 标题}}
  count: {{type: integer, label: 数量}}
states:
  draft: {{title: 起草}}
  done: {{title: 完成, final: true}}
transitions:
  finish: {{title: 完成, from: [draft], to: done, roles: [clerk]}}
"""


def definition(folder: Path, name: str, extra: str = "", replace: tuple[str, str] = ("", ""), id_: str = "") -> Path:
    text = MINI.format(id=id_ or name)
    if replace[0]:
        assert replace[0] in text
        text = text.replace(*replace)
    path = folder / f"{name}.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(text + extra, encoding="utf-8")
    return path


@pytest.mark.parametrize("extra, replace, marker, fragment", [
    ("description: !!binary aGVsbG8=\n", None, "description", "the YAML tag !!binary is not allowed"),
    ("params: !!set {a, b}\n", None, "params", "the YAML tag !!set is not allowed"),
    ("params: !secret x\n", None, "params", "the YAML tag !secret is not allowed"),
    ("params:\n  1: a\n", None, "1: a", "keys must be text, not int '1'"),
    ("params:\n  ? [a]\n  : b\n", None, "? [a]", "keys must be text, not a list or mapping"),
    ("params: &p {x: *p}\n", None, "params", "a recursive alias"),
    ("", ("label: 数量}", "label: 数量, min: abc}"), "count:", "min of 'count' must be an integer, not 'abc'"),
    ("", ("label: 数量}", "label: 数量, max: 1.5}"), "count:", "max of 'count' must be an integer, not 1.5"),
    ("", ("label: 数量}", "label: 数量, min: 5, max: 1}"), "count:", "max 1 of 'count' is below its min 5"),
    ("", ("label: 标题}", "label: 标题, min: 1}"), "title: {type",
     "min applies to integer and decimal fields, not to 'title' (text)"),
], ids=["binary", "set", "custom_tag", "int_key", "list_key", "recursive_alias", "min_abc", "max_not_integer",
        "min_over_max", "min_on_text"])
def test_workflows_validate_refuses_with_file_and_line(ws, unchanged, tmp_path, extra, replace, marker, fragment):
    path = definition(tmp_path / "definitions", "mini", extra, replace or ("", ""))
    line = line_of(path.read_text(encoding="utf-8"), marker)
    refused(gw(ws, "workflows", "validate", path), f"{path}:{line}: {fragment}")


def test_workflows_validate_applies_the_file_name_rule_of_loading(ws, unchanged, tmp_path):
    path = definition(tmp_path / "definitions", "other", id_="mini")
    refused(gw(ws, "workflows", "validate", path),
            f"{path}:1: id 'mini' does not match the file name other.yaml")
    right = definition(tmp_path / "definitions", "mini")
    result = gw(ws, "workflows", "validate", right)
    assert result.exit_code == 0, result.output


def test_a_definition_with_a_few_aliases_and_a_merge_is_fine(ws, tmp_path):
    extra = "params:\n  base: &base {a: 1, b: [x, y]}\n  more: {<<: *base, c: 2}\n  again: *base\n"
    path = definition(tmp_path / "definitions", "mini", extra)
    result = gw(ws, "workflows", "validate", path)
    assert result.exit_code == 0, result.output


@pytest.fixture
def bomb(ws):
    """definitions/bomb.yaml in the workspace for the test: params built from nested aliases."""
    params = "params:\n" + "".join(f"  {line}\n" for line in LAUGHS.splitlines())
    path = definition(ws.root / "definitions", "bomb", params)
    yield path
    path.unlink()


@pytest.mark.parametrize("args", [["workflows", "list"], ["workflows", "validate"], ["new", "bomb"]],
                         ids=["list", "validate", "new"])
def test_definition_params_with_nested_aliases_are_refused(ws, unchanged, bomb, args):
    message = refused(gw_process(ws, *args), "aliases expand to more than 100,000 nodes and characters")
    alias_line(message, bomb)


# -- below the command line: what the bounds keep working -----------------------------------
def test_a_value_stored_before_the_checks_renders_with_a_replacement_character():
    """Items stored with a control character before values were checked still render: U+FFFD
    stands where the character was, instead of a part that is not well-formed XML."""
    from workflow.documents.renderer import render

    blob = render(template_with("值：{{ value }}"), {"value": "a\x0bb\x00c"}, name="legacy.docx")
    assert [p.text for p in docx.Document(io.BytesIO(blob)).paragraphs] == ["值：a\ufffdb\ufffdc"]


def test_a_guard_expression_that_would_hang_is_false_with_a_reason():
    from workflow.definition.expressions import evaluate

    ok, error = evaluate("9 ** (9 ** 9) > 1", {})
    assert not ok and "more than 8,192 bits" in error
    assert evaluate("fields.n * 2 == 4 and 'ab' ~ 'c' == 'abc'", {"fields": {"n": 2}}) == (True, None)


# -- gongwen.yaml: checked like a definition; the size limits it may set ---------------------------
@pytest.fixture
def config(ws):
    """gongwen.yaml, put back as it was after the test."""
    path = ws.root / "gongwen.yaml"
    saved = path.read_bytes()
    yield path
    path.write_bytes(saved)


def test_a_config_with_an_alias_bomb_or_a_tag_is_refused_quickly(ws, unchanged, config):
    original = config.read_text(encoding="utf-8")
    bomb = 'a: &a ["x","x","x","x","x","x","x","x","x","x"]\n' + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8))
    config.write_text(original + bomb, encoding="utf-8")
    refused(gw_process(ws, "list"), "gongwen.yaml:")
    config.write_text(original + "issuer_name: !!binary aGVsbG8=\n", encoding="utf-8")
    refused(gw(ws, "list"), "gongwen.yaml:")


def test_the_text_limit_is_set_in_the_config(ws, unchanged, config):
    original = config.read_text(encoding="utf-8")
    config.write_text(original + "limits: {text_bytes: 2048}\n", encoding="utf-8")
    refused(gw(ws, "new", "plan", "--title", "标" * 1000), "2048")  # 3,000 bytes of UTF-8
    for bad in ("limits: {text_bytes: 10}\n", "limits: {text_bytes: abc}\n", "limits: {pages: 3}\n", "limits: 5\n"):
        config.write_text(original + bad, encoding="utf-8")
        refused(gw(ws, "list"), "limit")
    config.write_text(original, encoding="utf-8")  # without it, the default again: 1 MB
    assert gw(ws, "--json", "list").exit_code == 0


# -- the database grows with the data, not with it times the steps ------------------------------
def test_a_long_text_is_stored_once_however_many_steps_render_it(workspace, engine):
    """A 300 KB 总体要求 through ten steps (returns included): the database grows by less than 20
    times the text (its render contexts name it; it is stored once), replay re-renders every
    document byte for byte from the packed contexts, and verify names a long text that is gone."""
    from helpers import sql

    from workflow.audit.replay import replay
    from workflow.audit.verify import verify

    if not workspace.db.is_sqlite:
        print("skipped on PostgreSQL: the file size is SQLite's measure")
        pytest.skip("measured on the SQLite file")
    database = db_path(workspace)

    def size() -> int:
        connection = sqlite3.connect(database)
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
        return database.stat().st_size

    text = ("全面贯彻党的教育方针，落实立德树人根本任务，" * 8000)[:100_000]  # 300,000 bytes of UTF-8
    before = size()
    key = engine.create("zhangwei", "plan", values=plan_values(summary=text)).key
    for login, transition in (("zhangwei", "submit"), ("lina", "return"), ("zhangwei", "submit"), ("lina", "forward"),
                              ("wangqiang", "return"), ("zhangwei", "submit"), ("lina", "forward"),
                              ("wangqiang", "approve")):
        engine.fire(login, key, transition, "请修改。" if transition == "return" else "")
    grown = size() - before
    print(f"a text of {len(text.encode()):,} bytes through 9 events grew the database by {grown:,} bytes "
          f"({grown / len(text.encode()):.1f}x)")
    assert grown < 20 * len(text.encode())
    [(digest,)] = sql(workspace, "SELECT sha256 FROM blobs WHERE kind = 'text'")
    assert len(sql(workspace, "SELECT sha256 FROM blobs WHERE kind = 'context'")) >= 8
    replayed = replay(workspace, rerender=True)
    assert replayed.ok and replayed.rerendered == replayed.documents > 5, replayed.anomalies
    sql(workspace, "DELETE FROM blobs WHERE sha256 = :d", d=digest)
    problems = verify(workspace.db).problems
    assert [(p.kind, digest[:16] in p.message) for p in problems] == [("document_missing", True)]
