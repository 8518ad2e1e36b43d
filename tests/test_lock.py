"""The optimistic lock: two sessions (two Workspace objects, two SQLAlchemy engines) on one
SQLite file; the second writer of a stale version gets a Conflict naming who changed it, when."""

from __future__ import annotations

import json

import pytest
from helpers import NOW, item_row, plan_values, snapshot
from sqlalchemy.orm.exc import StaleDataError

from workflow.audit.verify import verify
from workflow.engine.engine import Engine
from workflow.errors import Conflict, Refused
from workflow.store.orm import Item
from workflow.store.workspace import Workspace


@pytest.fixture
def two_sessions(workspace):
    first, second = Workspace(workspace.root), Workspace(workspace.root)
    assert first.db.engine is not second.db.engine
    yield Engine(first), Engine(second)
    first.close()
    second.close()


@pytest.fixture
def key(engine):
    key = engine.create("zhangwei", "plan", values=plan_values()).key
    engine.fire("zhangwei", key, "submit")
    return key


def test_second_writer_of_the_same_version_gets_a_conflict(workspace, two_sessions, key, monkeypatch):
    alice, bob = two_sessions
    version = alice.show("lina", key).version
    assert bob.show("wangqiang", key).version == version

    monkeypatch.setenv("GONGWEN_NOW", "2025-03-10T10:15:00")
    done = alice.fire("lina", key, "forward", "同意呈送。", expected_version=version)
    assert done.state == "approve" and done.version == version + 1

    before = snapshot(workspace)
    monkeypatch.setenv("GONGWEN_NOW", "2025-03-10T10:16:00")
    with pytest.raises(Conflict) as info:
        bob.fire("lina", key, "return", "请修改。", expected_version=version)
    conflict = info.value
    assert conflict.reason == "stale" and conflict.exit_code == 3
    assert "changed by lina at 2025-03-10T10:15:00+08:00" in conflict.message
    assert conflict.details["changed_by"] == "lina"
    assert conflict.details["version"] == version + 1
    assert snapshot(workspace) == before
    assert item_row(workspace, key)["state"] == "approve"

    # having reloaded, bob decides again on the current version
    again = bob.fire("wangqiang", key, "return", "请修改。", expected_version=bob.show("wangqiang", key).version)
    assert again.state == "returned" and again.version == version + 2


def test_both_sessions_see_each_others_writes(two_sessions, key):
    alice, bob = two_sessions
    alice.fire("lina", key, "forward")
    assert bob.show("wangqiang", key).state == "approve"
    bob.fire("wangqiang", key, "approve")
    history = alice.history("zhaomin", key).history
    assert [e.transition for e in history] == ["create", "submit", "forward", "approve"]
    assert [e.actor for e in history[-2:]] == ["lina", "wangqiang"]


def test_version_counter_guards_the_row_itself(workspace, two_sessions, key):
    """Below the engine: an ORM session that loaded version N cannot write over N+1."""
    alice, bob = two_sessions
    with bob.db.read() as session:
        stale_item = session.query(Item).filter_by(key=key).one()
    alice.fire("lina", key, "forward")
    before = snapshot(workspace)
    with pytest.raises(StaleDataError):
        with bob.db.write() as session:
            merged = session.merge(stale_item, load=False)
            merged.state = "draft"
    assert snapshot(workspace) == before


def test_cli_expect_version_stale_exits_3(gw, workspace, key, engine):
    version = engine.show("lina", key).version
    engine.fire("lina", key, "forward")
    before = snapshot(workspace)
    result = gw("--as", "wangqiang", "do", key, "approve", "--expect-version", version)
    assert result.exit_code == 3
    assert f"changed by lina at {NOW}+08:00" in result.stderr
    assert result.stderr.startswith("error: ")
    result = gw("--json", "--as", "wangqiang", "do", key, "approve", "--expect-version", version)
    assert result.exit_code == 3
    error = json.loads(result.stdout)["error"]
    assert error["reason"] == "stale" and error["changed_by"] == "lina" and "changed by lina" in error["message"]
    assert snapshot(workspace) == before
    result = gw("--json", "--as", "wangqiang", "do", key, "approve", "--expect-version", version + 1)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["state"] == "signed"


# -- SQLite's optimistic write: read and decide from one snapshot, take the lock only to write -------
def _another_writer_commits_during(alice_engine, monkeypatch, action):
    """Run `action` (another connection's write) once, while alice's first attempt is deciding:
    after her snapshot began, before her first write. Returns her attempts (Engine._fire calls)."""
    from workflow.engine import guards

    attempts, acted, real_check, real_fire = [], [], guards.check, alice_engine._fire

    def check(*args, **kwargs):
        if not acted:  # once (the action's own checks pass through)
            acted.append(True)
            action()
        return real_check(*args, **kwargs)

    def fire(*args, **kwargs):
        attempts.append(kwargs.get("optimistic", False))
        return real_fire(*args, **kwargs)

    monkeypatch.setattr(guards, "check", check)
    monkeypatch.setattr(alice_engine, "_fire", fire)
    return attempts


def test_a_write_whose_snapshot_moved_is_linked_after_or_runs_again(workspace, two_sessions, engine, monkeypatch):
    """Bob commits on another item while alice decides. On SQLite her first write is refused
    (SQLITE_BUSY_SNAPSHOT), nothing of hers written, and she runs again under the lock; on
    PostgreSQL her event is linked after bob's, hashed and signed again. Either way both events
    are in one unbroken chain."""
    alice, bob = two_sessions
    mine = engine.create("zhangwei", "plan", values=plan_values()).key
    other = engine.create("zhangwei", "plan", values=plan_values()).key
    attempts = _another_writer_commits_during(alice, monkeypatch, lambda: bob.fire("zhangwei", other, "submit"))
    done = alice.fire("zhangwei", mine, "submit")
    assert attempts == ([True, False] if workspace.db.is_sqlite else [True])
    assert done.state == "review" and item_row(workspace, other)["state"] == "review"
    assert [e.transition for e in engine.history("zhangwei", mine).history] == ["create", "submit"]
    report = verify(workspace.db)
    assert report.ok, report.problems


def test_a_number_drawn_after_others_wrote_is_linked_after_them(workspace, two_sessions, engine, monkeypatch):
    """Publishing draws the 发文字号 before its event is appended, taking the lock then: bob's
    event, committed meanwhile on another item, comes first in the chain, and the number is 1."""
    alice, bob = two_sessions
    key = engine.create("zhangwei", "plan", values=plan_values()).key
    for login, step in [("zhangwei", "submit"), ("lina", "forward"), ("wangqiang", "approve")]:
        engine.fire(login, key, step)
    other = engine.create("zhangwei", "plan", values=plan_values()).key
    attempts = _another_writer_commits_during(alice, monkeypatch, lambda: bob.fire("zhangwei", other, "submit"))
    done = alice.fire("chenjing", key, "publish")
    assert attempts == ([True, False] if workspace.db.is_sqlite else [True])
    assert done.state == "publish" and len(done.numbers) == 1, done.numbers
    report = verify(workspace.db)
    assert report.ok, report.problems


def test_a_write_whose_item_moved_meanwhile_is_refused_not_lost(workspace, two_sessions, engine, monkeypatch):
    """Bob submits the same draft while alice decides to submit it: her second attempt, under the
    lock, finds it in review and refuses; bob's submit stands alone (no lost update)."""
    alice, bob = two_sessions
    key = engine.create("zhangwei", "plan", values=plan_values()).key
    attempts = _another_writer_commits_during(alice, monkeypatch, lambda: bob.fire("zhangwei", key, "submit"))
    before = snapshot(workspace)
    with pytest.raises(Refused) as info:
        alice.fire("zhangwei", key, "submit")
    assert info.value.reason == "not_an_exit" and attempts == [True, False]
    assert [e.transition for e in engine.history("zhangwei", key).history] == ["create", "submit"]
    assert item_row(workspace, key)["version"] == 2 and snapshot(workspace) != before  # bob's, not hers


def test_a_write_that_a_deactivation_overtook_runs_again(workspace, two_sessions, engine, monkeypatch):
    """The admin deactivates lina while she forwards a plan: on both databases her forward runs
    again under the lock and is refused (the users' stream moved), and the item stays in review."""
    alice, bob = two_sessions
    key = engine.create("zhangwei", "plan", values=plan_values()).key
    engine.fire("zhangwei", key, "submit")
    from workflow.engine.accounts import deactivate

    attempts = _another_writer_commits_during(alice, monkeypatch, lambda: deactivate(bob.ws, "admin", "lina"))
    with pytest.raises(Refused) as info:
        alice.fire("lina", key, "forward")
    assert info.value.reason == "user_inactive" and attempts == [True, False]
    assert item_row(workspace, key)["state"] == "review"
    assert verify(workspace.db).ok


def test_the_write_lock_is_held_only_to_write(engine, workspace):
    """On SQLite the lock is taken by the first write statement: a transition that reads, checks
    and signs first holds it for its few writes and the commit, and Database.lock_holds says so."""
    key = engine.create("zhangwei", "plan", values=plan_values()).key
    statements: list[str] = []
    from sqlalchemy import event

    def seen(_conn, _cursor, statement, *_rest):
        statements.append(statement.split()[0])

    event.listen(workspace.db.engine, "before_cursor_execute", seen)
    try:
        workspace.db.lock_holds.clear()
        engine.fire("zhangwei", key, "submit")
    finally:
        event.remove(workspace.db.engine, "before_cursor_execute", seen)
    assert len(workspace.db.lock_holds) == 1
    if workspace.db.is_sqlite:  # every read comes before the first write
        first_write = next(i for i, s in enumerate(statements) if s not in ("BEGIN", "SELECT"))
        assert set(statements[first_write:]) <= {"INSERT", "UPDATE"}, statements
