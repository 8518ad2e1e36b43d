"""`gongwen users deactivate LOGIN`: an admin's signed identity event; the user keeps their history
and is refused every write (user_inactive) until reactivated; verify folds the events, compares
the users table and flags every event a deactivated user signed."""

from __future__ import annotations

import pytest
from helpers import fire, plan_values, sql
from test_attachments import PDF, as_json, unchanged

from workflow.audit import verify as audit_verify
from workflow.engine import accounts
from workflow.engine.void import void


@pytest.fixture
def key(engine):
    return engine.create("zhangwei", "plan", values=plan_values()).key


def test_an_admin_deactivates_with_a_signed_event(workspace, gw):
    result = gw("--json", "--as", "admin", "users", "deactivate", "zhangwei", "-m", "调离")
    assert result.exit_code == 0, result.output
    assert as_json(result)["active"] is False and as_json(result)["login"] == "zhangwei"
    [(event_id, stream, actor, data, signature)] = sql(
        workspace, "SELECT id, item_key, actor, data, signature FROM events WHERE transition = 'user_deactivate'")
    assert (stream, actor, signature is not None) == ("@users", "admin", True)
    assert '"login":"zhangwei"' in data and '"reason":"调离"' in data
    assert sql(workspace, "SELECT deactivated_event FROM users WHERE login = 'zhangwei'") == [(event_id,)]
    listed = as_json(gw("--json", "--as", "admin", "users", "list"))["users"]
    assert [u.get("active", True) for u in listed if u["login"] == "zhangwei"] == [False]
    assert all(u.get("active", True) for u in listed if u["login"] != "zhangwei")
    report = audit_verify.verify(workspace.db)
    assert report.ok, report.problems


def test_a_deactivated_user_is_refused_every_write_and_still_reads(workspace, engine, gw, key, tmp_path):
    fire(engine, "zhangwei", key, "submit")
    draft = engine.create("zhangwei", "plan", values=plan_values()).key
    accounts.deactivate(workspace, "admin", "zhangwei", "调离")
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(PDF)
    for args in (["new", "plan", "--set", "title=新的", "--set", "year=2025"], ["do", key, "withdraw"],
                 ["do", draft, "submit"], ["attach", draft, str(pdf)], ["void", draft, "-m", "作废"],
                 ["users", "delegate", "zhangwei", "xuming", "--until", "2025-04-01", "-m", "休假"]):
        before = unchanged(workspace)
        result = gw("--json", "--as", "zhangwei", *args)
        assert result.exit_code == 1, (args, result.output)
        assert as_json(result)["error"]["reason"] == "user_inactive", args
        assert unchanged(workspace) == before
    # their history stays, readable by them and by others
    for login in ("zhangwei", "lina"):
        history = gw("--json", "--as", login, "history", key)
        assert history.exit_code == 0 and [e["actor"] for e in as_json(history)["history"]] == ["zhangwei"] * 2
    assert gw("--as", "zhangwei", "show", key).exit_code == 0
    assert gw("--as", "lina", "do", key, "forward").exit_code == 0  # others act on their items as before


@pytest.mark.parametrize("admin, login, code, reason", [
    ("lina", "zhangwei", 1, "role_missing"), ("admin", "admin", 1, "self_deactivation"),
    ("admin", "nobody", 4, "not_found"), ("admin", "system", 4, "not_found")])
def test_who_may_deactivate_whom(workspace, gw, admin, login, code, reason):
    before = unchanged(workspace)
    result = gw("--json", "--as", admin, "users", "deactivate", login)
    assert result.exit_code == code, result.output
    assert as_json(result)["error"]["reason"] == reason
    assert unchanged(workspace) == before


def test_deactivating_twice_is_refused_and_reactivation_restores(workspace, engine, gw, key):
    accounts.deactivate(workspace, "admin", "zhangwei")
    before = unchanged(workspace)
    result = gw("--json", "--as", "admin", "users", "deactivate", "zhangwei")
    assert result.exit_code == 1 and as_json(result)["error"]["reason"] == "already_inactive"
    assert unchanged(workspace) == before
    result = gw("--json", "--as", "admin", "users", "reactivate", "zhangwei", "-m", "返岗")
    assert result.exit_code == 0 and "active" not in as_json(result)
    assert sql(workspace, "SELECT deactivated_event FROM users WHERE login = 'zhangwei'") == [(None,)]
    assert void(engine, "zhangwei", key, "作废").state == "voided"  # acts again
    report = audit_verify.verify(workspace.db)
    assert report.ok, report.problems


def test_verify_flags_a_deactivation_undone_in_the_table_and_what_the_user_did_after(workspace, engine, key):
    accounts.deactivate(workspace, "admin", "zhangwei", "调离")
    sql(workspace, "UPDATE users SET deactivated_event = NULL WHERE login = 'zhangwei'")  # behind gongwen's back
    fire(engine, "zhangwei", key, "submit")  # the engine reads the table: it lets them act
    problems = audit_verify.verify(workspace.db).problems
    assert [(p.kind, p.item, p.seq) for p in problems] == [("user_active_altered", "zhangwei", None),
                                                           ("user_inactive", key, 2)]


def test_a_deactivated_admin_manages_no_users(workspace, gw):
    accounts.deactivate(workspace, "admin", "zhangwei")
    gw("--as", "admin", "users", "grant", "lina", "admin")
    accounts.deactivate(workspace, "lina", "admin", "退休")
    before = unchanged(workspace)
    result = gw("--json", "--as", "admin", "users", "reactivate", "zhangwei")
    assert result.exit_code == 1 and as_json(result)["error"]["reason"] == "user_inactive"
    assert unchanged(workspace) == before
