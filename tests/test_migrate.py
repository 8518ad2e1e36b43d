"""Explicit migration (`gongwen migrate`): running items move to another definition version only
when an admin says so, each move an event in the chain that replay follows and verify checks; a
state the new version lacks needs a mapping, else nothing changes."""

from __future__ import annotations

import json
import re

import pytest
from helpers import fire, plan_values, snapshot

from workflow.audit.replay import replay
from workflow.audit.verify import verify


@pytest.fixture
def running(engine):
    """A plan item in 核稿 (review) and one already published (finished: it keeps its version)."""
    key = engine.create("zhangwei", "plan", values=plan_values()).key
    fire(engine, "zhangwei", key, "submit")
    done = engine.create("zhangwei", "plan", values=plan_values()).key
    for login, transition, sets in (("zhangwei", "submit", {}), ("lina", "forward", {}), ("wangqiang", "approve", {}),
                                    ("chenjing", "publish", {"issue_date": "2025-03-10", "copies": "30"})):
        fire(engine, login, done, transition, **sets)
    return key, done


def rename_review(workspace) -> None:
    """A new version of plan: the state review is called checking now."""
    path = workspace.definitions_dir / "plan.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"\breview\b", "checking", text), encoding="utf-8")


def migrate(gw, *args):
    result = gw("--as", "admin", "--json", "migrate", "plan", *args)
    return result.exit_code, json.loads(result.output)


def test_a_renamed_state_needs_a_mapping_and_nothing_changes_without_one(gw, workspace, running):
    key, _ = running
    rename_review(workspace)
    before = snapshot(workspace)
    code, said = migrate(gw)
    assert code == 1 and said["error"]["reason"] == "state_unmapped", said
    assert "--map review=STATE" in said["error"]["message"] and key in said["error"]["message"]
    assert snapshot(workspace) == before


def test_migration_moves_the_item_records_the_event_and_replays_clean(gw, engine, workspace, running):
    key, done = running
    old_version = engine.show("zhaomin", key).definition_version
    rename_review(workspace)
    before = snapshot(workspace)
    code, dry = migrate(gw, "--map", "review=checking", "--dry-run")
    assert code == 0 and [m["key"] for m in dry["moved"]] == [key] and snapshot(workspace) == before
    code, said = migrate(gw, "--map", "review=checking")
    assert code == 0, said
    [moved] = said["moved"]
    assert (moved["key"], moved["from"], moved["to"], moved["from_version"]) == (key, "review", "checking",
                                                                                   old_version)
    item = engine.show("zhaomin", key)
    assert item.state == "checking" and item.definition_version == moved["to_version"] != old_version
    assert engine.show("zhaomin", done).definition_version == old_version  # finished: keeps its version
    event = engine.history("zhaomin", key).history[-1]
    assert (event.transition, event.transition_title, event.actor) == ("migrate", "迁移定义版本", "admin")
    assert event.data["migration"] == {"from": old_version, "to": moved["to_version"], "map": {"review": "checking"}}
    fire(engine, "lina", key, "forward")  # the item goes on under the new version
    assert engine.show("zhaomin", key).state == "approve"
    replayed = replay(workspace)
    assert replayed.ok, replayed.anomalies
    verified = verify(workspace.db)
    assert verified.ok, verified.problems
    history = gw("--as", "zhaomin", "history", key).output
    assert "迁移定义版本" in history


def test_bad_migrations_are_one_line_and_change_nothing(gw, workspace, running):
    before = snapshot(workspace)
    for args, code, reason in ((["--to", "deadbeefdeadbeef"], 4, "not_found"),
                               (["--map", "review"], 4, "bad_value"),
                               (["--map", "review=nowhere"], 4, "bad_value"),
                               (["--items", "JH-2099-0001"], 4, "not_found")):
        found, said = migrate(gw, *args)
        assert (found, said["error"]["reason"]) == (code, reason), (args, said)
    result = gw("--as", "zhangwei", "--json", "migrate", "plan")
    assert result.exit_code == 1 and json.loads(result.output)["error"]["reason"] == "role_missing"
    assert snapshot(workspace) == before


def test_a_forged_migration_is_named_by_replay(gw, engine, workspace, running):
    """A migration event that does not start from the item's version is an anomaly."""
    key, _ = running
    rename_review(workspace)
    assert migrate(gw, "--map", "review=checking")[0] == 0
    from helpers import sql

    sql(workspace, "UPDATE events SET actor_roles = '[\"clerk\"]' WHERE transition = 'migrate'")
    anomalies = replay(workspace).anomalies
    assert [(a.item, a.transition) for a in anomalies] == [(key, "migrate")], anomalies
