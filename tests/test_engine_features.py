"""Engine features the shipped definitions do not use but DCWorkflow import, countersigning and
timers will: permission maps per state, automatic transitions (with a cycle bound), definition
versions (a changed file never changes a running item), and the SQLite settings."""

from __future__ import annotations

import sqlite3

import pytest
from helpers import snapshot

from workflow.engine import admin
from workflow.engine.engine import Engine
from workflow.errors import BadInput, Refused

# A DCWorkflow-like definition: `hide` needs the permission "Modify" that the current state's
# permission map grants (plone_workflow's S5 scenario); `auto_archive` fires by itself.
CUSTOM = """\
id: memo
title: 内部便函
key_prefix: BH
initial: visible
roles:
  member: 成员
  reviewer: 审核人
fields:
  title: {type: text, label: 标题}
  archive: {type: boolean, label: 直接归档, default: false}
states:
  visible:
    title: 可见
    editable: all
    permissions: {Modify: [owner, reviewer]}
  pending:
    title: 待审
    permissions: {Modify: [reviewer]}
  private: {title: 私有, final: true}
  published: {title: 已发布}
  archived: {title: 已归档, final: true}
transitions:
  submit: {title: 提交, from: visible, to: pending, roles: [owner]}
  hide:   {title: 隐藏, from: [visible, pending], to: private, permissions: [Modify]}
  publish: {title: 发布, from: pending, to: published, roles: [reviewer]}
  auto_archive:
    title: 自动归档
    from: published
    to: archived
    trigger: automatic
    when: "fields.archive"
  unpublish: {title: 撤下, from: published, to: pending, roles: [reviewer]}
"""


@pytest.fixture
def memo_engine(workspace):
    (workspace.definitions_dir / "memo.yaml").write_text(CUSTOM, encoding="utf-8")
    for login in ("zhangwei", "lina"):
        admin.manage_users(workspace, "admin", "grant", login, ["member"])
    return Engine(workspace)


def test_permission_guard_follows_the_current_states_map(memo_engine):
    key = memo_engine.create("zhangwei", "memo", title="关于会议安排的便函").key
    memo_engine.fire("zhangwei", key, "submit")
    # In pending only the reviewer holds Modify: the owner may no longer hide it (S5).
    with pytest.raises(Refused) as refused:
        memo_engine.fire("zhangwei", key, "hide")
    assert refused.value.reason == "role_missing" and "Modify" in refused.value.message
    assert memo_engine.fire("lina", key, "hide").state == "private"


def test_automatic_transition_fires_when_its_guard_passes(memo_engine):
    plain = memo_engine.create("zhangwei", "memo", title="不归档").key
    archived = memo_engine.create("zhangwei", "memo", title="直接归档", values={"archive": True}).key
    for key in (plain, archived):
        memo_engine.fire("zhangwei", key, "submit")
        memo_engine.fire("lina", key, "publish")
    assert memo_engine.show("lina", plain).state == "published"
    view = memo_engine.show("lina", archived)
    assert view.state == "archived"
    assert [e.transition for e in view.history][-2:] == ["publish", "auto_archive"]
    assert view.history[-1].actor == "lina"
    # automatic transitions are never offered for firing by hand
    assert "auto_archive" not in [a.id for a in memo_engine.show("lina", plain).allowed]
    with pytest.raises(Refused) as refused:
        memo_engine.fire("lina", plain, "auto_archive")
    assert refused.value.reason == "not_an_exit"


def test_automatic_cycle_is_bounded_and_changes_nothing(workspace, memo_engine):
    looping = CUSTOM.replace("  unpublish: {title: 撤下, from: published, to: pending, roles: [reviewer]}",
                             "  unpublish: {title: 撤下, from: published, to: pending, trigger: automatic}\n"
                             "  republish: {title: 重新发布, from: pending, to: published, trigger: automatic, "
                             "when: \"fields.archive == false\"}")
    (workspace.definitions_dir / "memo.yaml").write_text(looping, encoding="utf-8")
    key = memo_engine.create("zhangwei", "memo", title="循环").key
    before = snapshot(workspace)
    with pytest.raises(BadInput) as error:
        memo_engine.fire("zhangwei", key, "submit")
    assert "cycle" in error.value.message
    assert snapshot(workspace) == before


def test_a_changed_definition_does_not_change_running_items(workspace, memo_engine):
    old = memo_engine.create("zhangwei", "memo", title="旧版本")
    changed = CUSTOM.replace("publish: {title: 发布, from: pending, to: published, roles: [reviewer]}",
                             "publish: {title: 发布, from: pending, to: published, roles: [member]}")
    (workspace.definitions_dir / "memo.yaml").write_text(changed, encoding="utf-8")
    new = memo_engine.create("zhangwei", "memo", title="新版本")
    assert old.definition_version != new.definition_version
    for view in (old, new):
        memo_engine.fire("zhangwei", view.key, "submit")
    # zhangwei (member, not reviewer) may publish under the new version only
    with pytest.raises(Refused) as refused:
        memo_engine.fire("zhangwei", old.key, "publish")
    assert refused.value.reason == "role_missing"
    assert memo_engine.fire("lina", new.key, "publish").state == "published"


@pytest.mark.sqlite_only("checks SQLite's own pragmas")
def test_sqlite_runs_in_wal_mode_with_foreign_keys(workspace, engine):
    engine.create("zhangwei", "plan", title="测试")
    with workspace.db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    raw = sqlite3.connect(workspace.root / "gongwen.db")
    try:
        with pytest.raises(sqlite3.IntegrityError):
            raw.execute("PRAGMA foreign_keys=ON")
            raw.execute("INSERT INTO user_roles (login, role) VALUES ('ghost', 'clerk')")
    finally:
        raw.close()
