"""Bulk work (issue 17): `gongwen do TRANSITION --all-from FILE | --where …` fires on many items,
each in its own transaction, and reports per item which moved and which were refused (with the
reason); the exit code is the worst one; a refused item is left exactly as it was. The progress
bar is drawn on a terminal (a real pseudo-terminal here) and never under --json or in a pipe; on
a terminal, tables are drawn by rich too."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys

import pytest
from helpers import NOW, USERS, add_users, gongwen_command, item_row, plan_values, snapshot, use_classic

from workflow.store.workspace import init


@pytest.fixture
def drafts(engine):
    """Three drafts of zhangwei's and one of xuming's."""
    mine = [engine.create("zhangwei", "plan", values=plan_values(title=f"关于第{n}项工作的通知")).key
            for n in range(3)]
    return mine, engine.create("xuming", "plan", values=plan_values()).key


def test_all_from_reports_each_item_and_exits_with_the_worst(gw, workspace, engine, drafts, tmp_path):
    mine, theirs = drafts
    listed = tmp_path / "keys.txt"
    listed.write_text(f"# 本周送核稿\n{mine[0].lower()}\n{mine[1]}, 第二项\n\n{theirs}\nJH-1999-0001\n{mine[2]}\n"
                      f"{mine[0]}\n", encoding="utf-8")
    before = item_row(workspace, theirs)
    result = gw("--json", "--as", "zhangwei", "do", "submit", "--all-from", listed)
    shown = json.loads(result.stdout)
    by_key = {i["key"]: i for i in shown["items"]}
    assert list(by_key) == [mine[0], mine[1], theirs, "JH-1999-0001", mine[2]]  # in order, once each
    assert all(by_key[k]["moved"] and by_key[k]["state"] == "review" for k in mine)
    assert by_key[theirs]["moved"] is False and by_key[theirs]["exit_code"] == 1 and by_key[theirs]["reason"]
    assert by_key["JH-1999-0001"]["reason"] == "not_found" and by_key["JH-1999-0001"]["exit_code"] == 4
    assert (shown["moved"], shown["refused"]) == (3, 2)
    assert result.exit_code == 4  # the worst: an unknown item (bad input) over a refusal
    assert item_row(workspace, theirs) == before
    assert {engine.show("zhaomin", k).state for k in mine} == {"review"}


def test_where_fires_on_the_items_matching(gw, engine, drafts):
    mine, theirs = drafts
    result = gw("--as", "zhangwei", "do", "送核稿", "--where", "workflow=plan", "--where", "state=draft",
                "--where", "mine=yes")
    assert result.exit_code == 0, result.output
    assert "3 moved, 0 refused, of 3" in result.stdout
    assert engine.show("zhaomin", theirs).state == "draft"
    result = gw("--as", "zhangwei", "do", "submit", "--where", "workflow=plan", "--where", "state=draft")
    assert result.exit_code == 1 and "0 moved, 1 refused, of 1" in result.stdout  # xuming's: not theirs


@pytest.mark.parametrize("args", [
    ["submit", "--where", "colour=red"], ["submit", "--where", "state"], ["submit", "--where", "from=2025-13-01"],
    ["submit", "--all-from", "missing.txt"], ["submit", "--all-from", "empty.txt"],
    ["submit", "--all-from", "binary.txt"], ["submit", "--all-from", "bad_key.txt"],
    ["submit", "--all-from", "keys.txt", "--where", "state=draft"], ["JH-2025-0001", "submit", "--where", "mine=yes"],
    ["submit", "--all-from", "keys.txt", "--expect-version", "1"]])
@pytest.mark.parametrize("db_url", [None], ids=["sqlite"])  # refused before any item is read or written
def test_bad_bulk_input_is_one_line_and_changes_nothing(gw, workspace, drafts, tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.txt").write_text("# nothing\n\n", encoding="utf-8")
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfe\x00JH\x00")
    (tmp_path / "bad_key.txt").write_text("JH-2025-0001\n../../etc/passwd\n", encoding="utf-8")
    (tmp_path / "keys.txt").write_text("\n".join(drafts[0]), encoding="utf-8")
    before = snapshot(workspace)
    result = gw("--as", "zhangwei", "do", *args)
    assert result.exit_code in (2, 4), result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert snapshot(workspace) == before


# -- the progress bar, through a pseudo-terminal ------------------------------------------------------
@pytest.fixture
def sqlite_workspace(tmp_path):
    ws = init(tmp_path / "ws")
    use_classic(ws.root)
    add_users(ws, USERS)
    yield ws
    ws.close()


def on_a_terminal(args: list[str], cwd) -> tuple[int, str]:
    """Run gongwen with stdout and stderr on a pseudo-terminal; (exit code, all it wrote)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGWEN_")}
    env.update(GONGWEN_NOW=NOW, GONGWEN_CONFIG_HOME=os.environ["GONGWEN_CONFIG_HOME"], COLUMNS="100", TERM="xterm")
    if gongwen_command()[0] == sys.executable:
        env["PYTHONPATH"] = str(cwd)
    master, slave = pty.openpty()
    child = subprocess.Popen(gongwen_command() + args, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                             stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    out = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            child.kill()
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return child.wait(timeout=60), out.decode("utf-8", "replace")


def test_progress_bar_on_a_terminal_and_never_under_json(sqlite_workspace, tmp_path):
    from workflow.engine.engine import Engine

    engine = Engine(sqlite_workspace)
    keys = [engine.create("zhangwei", "plan", values=plan_values()).key for _ in range(3)]
    (tmp_path / "keys.txt").write_text("\n".join(keys), encoding="utf-8")
    code, shown = on_a_terminal(["--as", "zhangwei", "do", "submit", "--all-from", str(tmp_path / "keys.txt")],
                                sqlite_workspace.root)
    assert code == 0, shown
    assert "━" in shown and "3/3" in shown  # rich's bar and its count, drawn on the terminal
    assert "3 moved, 0 refused, of 3" in shown
    code, shown = on_a_terminal(["--json", "--as", "zhangwei", "do", "return", "-m", "请修改。", "--all-from",
                                 str(tmp_path / "keys.txt")], sqlite_workspace.root)
    assert "━" not in shown and "\x1b[" not in shown  # no bar, no escape sequence: JSON alone
    assert code == 1 and json.loads(shown)["refused"] == 3  # zhangwei may not return: refused, reported
    piped = subprocess.run(gongwen_command() + ["--as", "lina", "do", "return", "-m", "请修改。", "--all-from",
                                                str(tmp_path / "keys.txt")], cwd=sqlite_workspace.root,
                           capture_output=True, text=True, env={**os.environ, "GONGWEN_NOW": NOW})
    assert piped.returncode == 0 and "━" not in piped.stdout + piped.stderr and "3 moved" in piped.stdout


def test_tables_on_a_terminal_are_rich_and_plain_in_a_pipe(sqlite_workspace):
    from workflow.engine.engine import Engine

    key = Engine(sqlite_workspace).create("zhangwei", "plan", values=plan_values(title="关于[重要]事项的通知")).key
    code, shown = on_a_terminal(["--as", "zhaomin", "list"], sqlite_workspace.root)
    assert code == 0 and "\x1b[1m" in shown  # the header in bold
    assert key in shown and "关于[重要]事项的通知" in shown  # a cell is text, never rich markup
    piped = subprocess.run(gongwen_command() + ["--as", "zhaomin", "list"], cwd=sqlite_workspace.root,
                           capture_output=True, text=True, env={**os.environ, "GONGWEN_NOW": NOW})
    assert piped.returncode == 0 and "\x1b[" not in piped.stdout and "关于[重要]事项的通知" in piped.stdout
    code, shown = on_a_terminal(["--as", "zhaomin", "show", "JH-1999-0001"], sqlite_workspace.root)
    assert code == 4 and "\x1b[31m" in shown and "JH-1999-0001" in shown  # an error in red on a terminal
    piped = subprocess.run(gongwen_command() + ["--as", "zhaomin", "show", "JH-1999-0001"],
                           cwd=sqlite_workspace.root, capture_output=True, text=True,
                           env={**os.environ, "GONGWEN_NOW": NOW})
    assert piped.returncode == 4 and piped.stderr.startswith("error: ") and "\x1b[" not in piped.stderr

