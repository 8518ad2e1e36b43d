"""The optimistic lock: two sessions (two Workspace objects, two SQLAlchemy engines) on one
SQLite file; the second writer of a stale version gets a Conflict naming who changed it, when."""

from __future__ import annotations

import json

import pytest
from helpers import NOW, item_row, plan_values, snapshot
from sqlalchemy.orm.exc import StaleDataError

from workflow.engine.engine import Engine
from workflow.errors import Conflict
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
