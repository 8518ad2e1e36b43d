"""密级 (issue 17): an item a definition's `confidential:` block marks is shown only to its creator,
the roles the block names and auditors: others do not find it in `list` (nor a search or a bulk
selection), `worklist` or the ledger, and `show`, `history` and `docs` refuse it without its
title (exit 1, `confidential`). On both databases, with the frozen plan given a 密级 field."""

from __future__ import annotations

import json

import pytest
from helpers import fire, plan_values

from workflow.engine import reads
from workflow.errors import DefinitionError, Refused

CONFIDENTIAL = """
confidential:
  field: secrecy
  levels: [秘密, 机密]
  roles: [supervisor]
"""


def with_secrecy(workspace, block: str = CONFIDENTIAL) -> None:
    """The workspace's plan with a 密级 field and a confidential block."""
    path = workspace.root / "definitions" / "plan.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("fields:\n", "fields:\n  secrecy:       {type: choice, label: 密级, choices: [无, 秘密, 机密], "
                                     "default: 无}\n", 1)
    path.write_text(text + block, encoding="utf-8")


@pytest.fixture
def marked(workspace, engine):
    with_secrecy(workspace)
    secret = engine.create("zhangwei", "plan", values=plan_values(title="关于某专项调查的请示", secrecy="秘密")).key
    open_ = engine.create("zhangwei", "plan", values=plan_values(title="关于做好春季开学工作的通知")).key
    for key in (secret, open_):
        fire(engine, "zhangwei", key, "submit")
        fire(engine, "lina", key, "forward")
    return secret, open_


def keys_listed(workspace, login: str) -> list[str]:
    return [s.key for s in reads.list_items(workspace, login)[0]]


def test_only_the_allowed_see_a_marked_item(workspace, engine, marked):
    secret, open_ = marked
    # the creator, a supervisor (the block's role) and an auditor see it
    for login in ("zhangwei", "wangqiang", "zhaomin"):
        assert secret in keys_listed(workspace, login), login
        assert engine.show(login, secret).key == secret
    # the others: not in list, not on a worklist, and show/history/docs refuse it
    for login in ("lina", "chenjing"):
        assert keys_listed(workspace, login) == [open_], login
        for call in (engine.show, engine.history, engine.documents):
            with pytest.raises(Refused) as refused:
                call(login, secret)
            assert refused.value.reason == "confidential" and "专项调查" not in refused.value.message
    on_lists = {i.key for wl in reads.worklist(workspace, "wangqiang", engine.now()) for i in wl.items}
    assert {secret, open_} <= on_lists  # the supervisor's 待签发 holds both


def test_a_delegate_of_the_role_sees_it(workspace, engine, marked):
    from workflow.engine import delegation

    secret, _ = marked
    with pytest.raises(Refused):
        engine.show("chenjing", secret)
    delegation.delegate(workspace, "wangqiang", "wangqiang", "chenjing", ["supervisor"], "2099-12-31", None, "出差")
    assert engine.show("chenjing", secret).key == secret
    assert secret in {i.key for wl in reads.worklist(workspace, "chenjing", engine.now()) for i in wl.items}


def test_the_command_line_and_the_ledger_leave_it_out(gw, workspace, marked, tmp_path):
    import openpyxl

    secret, open_ = marked
    shown = json.loads(gw("--json", "--as", "lina", "list").stdout)
    assert [i["key"] for i in shown["items"]] == [open_] and shown["total"] == 1
    refused = gw("--as", "lina", "show", secret)
    assert refused.exit_code == 1 and "密级" in refused.output and "专项调查" not in refused.output
    for login, expected in (("lina", 1), ("zhaomin", 2)):
        out = tmp_path / f"{login}.xlsx"
        assert gw("--as", login, "export", "ledger", "plan", "-o", out).exit_code == 0
        rows = list(openpyxl.load_workbook(out).active.iter_rows(min_row=2, values_only=True))
        assert len([r for r in rows if any(r)]) == expected, (login, rows)


@pytest.mark.parametrize("block", [
    "\nconfidential:\n  field: title\n  levels: [秘密]\n",          # not a choice field
    "\nconfidential:\n  field: secrecy\n  levels: [绝密]\n",        # not one of its choices
    "\nconfidential:\n  field: secrecy\n",                          # no levels
    "\nconfidential:\n  field: secrecy\n  levels: [秘密]\n  roles: [nobody]\n",  # an unknown role
    "\nconfidential:\n  field: secrecy\n  levels: [秘密]\n  colour: red\n"])
def test_a_bad_block_is_a_definition_problem(workspace, engine, block):
    with_secrecy(workspace, block)
    with pytest.raises(DefinitionError) as problem:
        engine.create("zhangwei", "plan", values=plan_values())
    assert "plan.yaml:" in str(problem.value)
