"""作废 (void): `gongwen void ITEM -m REASON` by the creator or an admin, from the initial state or a
returned one, to the engine-level state `voided` (已作废) through a signed event; the item leaves
every worklist and stays in the list and the history; anything further along is refused, nothing
fires from `voided`, and verify and replay accept the event."""

from __future__ import annotations

import pytest
from helpers import REPO, YEAR, fire, plan_values, sql
from test_attachments import as_json, unchanged

from workflow.audit import replay as audit_replay
from workflow.audit import verify as audit_verify
from workflow.audit.attachments import replay_check
from workflow.definition.model import VOIDED
from workflow.engine import registry
from workflow.engine.void import void, voidable_states


@pytest.fixture
def key(engine):
    return engine.create("zhangwei", "plan", values=plan_values()).key


def on_worklists(engine, login: str) -> set[str]:
    return {item.key for wl in engine.worklist(login) for item in wl.items}


def test_the_creator_voids_a_draft_it_leaves_the_worklists_and_stays_in_list_and_history(workspace, engine, gw, key):
    assert key in on_worklists(engine, "zhangwei")
    result = gw("--json", "--as", "zhangwei", "void", key.lower(), "-m", "重复起草，以JH另件为准")  # keys: any case
    assert result.exit_code == 0, result.output
    shown = as_json(result)
    assert (shown["state"], shown["state_title"], shown["allowed"]) == (VOIDED, "已作废", [])
    [(transition, from_state, to_state, actor, comment, signature)] = sql(
        workspace, "SELECT transition, from_state, to_state, actor, comment, signature FROM events "
                   "WHERE item_key = :k AND seq = 2", k=key)
    assert (transition, from_state, to_state, actor, comment) == ("void", "draft", VOIDED, "zhangwei",
                                                                  "重复起草，以JH另件为准")
    assert signature
    assert key not in on_worklists(engine, "zhangwei")
    listed = as_json(gw("--json", "--as", "lina", "list"))
    assert [(i["state"], i["state_title"]) for i in listed["items"] if i["key"] == key] == [(VOIDED, "已作废")]
    history = as_json(gw("--json", "--as", "lina", "history", key))["history"]
    assert [e["transition"] for e in history] == ["create", "void"]
    assert audit_verify.verify(workspace.db).ok
    report = audit_replay.replay(workspace)
    assert report.ok, report.anomalies


def test_an_admin_voids_a_returned_item(workspace, engine, key):
    fire(engine, "zhangwei", key, "submit")
    fire(engine, "lina", key, "return", "请补充重点任务")
    assert void(engine, "admin", key, "不再发文").state == VOIDED
    assert sql(workspace, "SELECT from_state, actor FROM events WHERE transition = 'void'") == [("returned", "admin")]
    assert audit_replay.replay(workspace).ok


def test_a_published_item_is_refused_and_nothing_changes(workspace, engine, gw, key):
    fire(engine, "zhangwei", key, "submit")
    fire(engine, "lina", key, "forward")
    fire(engine, "wangqiang", key, "approve")
    engine.fire("chenjing", key, "publish", sets=[("issue_date", f"{YEAR}-03-10"), ("copies", "30")])
    for login in ("zhangwei", "admin"):
        before = unchanged(workspace)
        result = gw("--json", "--as", login, "void", key, "-m", "发错了")
        assert result.exit_code == 1, result.output
        error = as_json(result)["error"]
        assert error["reason"] == "not_voidable" and "publish (已印发)" in error["message"]
        assert unchanged(workspace) == before


def test_an_item_under_way_is_refused_with_its_way_back(workspace, engine, gw, key):
    fire(engine, "zhangwei", key, "submit")
    before = unchanged(workspace)
    result = gw("--as", "zhangwei", "void", key, "-m", "不发了")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {key} is in review (核稿): only an item in draft (起草)、returned (退回修改) can be voided; undo "
        f"it through its workflow: gongwen do {key} withdraw (撤回)"]
    assert unchanged(workspace) == before


def test_only_the_creator_or_an_admin_voids(workspace, gw, key):
    before = unchanged(workspace)
    result = gw("--json", "--as", "lina", "void", key, "-m", "x")
    assert result.exit_code == 1 and as_json(result)["error"]["reason"] == "role_missing"
    assert unchanged(workspace) == before


@pytest.mark.parametrize("args, code", [(["-m", "  "], 4), (["-m", ""], 4), ([], 2)])
def test_a_reason_is_required(workspace, gw, key, args, code):
    before = unchanged(workspace)
    result = gw("--as", "zhangwei", "void", key, *args)
    assert result.exit_code == code, result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert unchanged(workspace) == before


def test_nothing_fires_from_voided_and_it_cannot_be_voided_twice(workspace, engine, gw, key):
    void(engine, "zhangwei", key, "作废")
    for args, reason in ((["do", key, "submit"], "not_an_exit"), (["do", key, "edit"], "not_an_exit"),
                         (["void", key, "-m", "again"], "item_closed")):
        before = unchanged(workspace)
        result = gw("--json", "--as", "zhangwei", *args)
        assert result.exit_code == 1, result.output
        assert as_json(result)["error"]["reason"] == reason
        assert unchanged(workspace) == before


def test_every_shipped_definition_titles_voided_and_voids_from_draft_and_returned():
    for definition in registry.load_all(REPO / "definitions", None).values():
        assert definition.state_title(VOIDED) == "已作废"
        assert voidable_states(definition) == {"draft", "returned"}, definition.id


def test_replay_names_a_void_the_engine_would_refuse():
    plan = registry.load_all(REPO / "definitions", None)["plan"]
    assert replay_check(plan, "draft", "void", "draft", VOIDED, "zhangwei", ["clerk", "owner"]) is None
    assert replay_check(plan, "review", "void", "review", VOIDED, "zhangwei", ["owner"]) == (
        "voided in 'review': only an item in its initial or a returned state can be voided")
    assert "neither its creator nor an admin" in replay_check(plan, "draft", "void", "draft", VOIDED, "lina",
                                                              ["reviewer"])
    assert "leads to 'draft'" in replay_check(plan, "draft", "void", "draft", "draft", "zhangwei", ["owner"])


def test_replay_names_a_void_event_edited_in_the_database(workspace, engine, key):
    void(engine, "zhangwei", key, "作废")
    sql(workspace, "UPDATE events SET from_state = 'review' WHERE transition = 'void'")
    anomalies = audit_replay.replay(workspace).anomalies
    assert [(a.item, a.seq, a.transition) for a in anomalies] == [(key, 2, "void")]
    assert "starts from 'review' but the item was in 'draft'" in anomalies[0].problem
    assert "event_altered" in {p.kind for p in audit_verify.verify(workspace.db).problems}
