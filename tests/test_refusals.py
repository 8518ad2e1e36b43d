"""One test per refusal reason, through the engine and the CLI; after every refusal the whole
database (item row, events with their hashes, counters, numbers, users) is exactly unchanged."""

from __future__ import annotations

import json

import pytest
from helpers import clean_school_values, fire, inspection_values, item_row, plan_values, snapshot

from workflow.errors import Conflict, Refused


def refused(workspace, key, call, reason, exc_type=Refused):
    """Run `call`, expect a refusal of `reason`, and check that nothing in the database moved."""
    before_db, before_item = snapshot(workspace), item_row(workspace, key) if key else None
    with pytest.raises(exc_type) as info:
        call()
    assert info.value.reason == reason, info.value.message
    if key:
        assert item_row(workspace, key) == before_item
    assert snapshot(workspace) == before_db
    return info.value


@pytest.fixture
def plan_in_review(engine):
    key = engine.create("zhangwei", "plan", values=plan_values()).key
    fire(engine, "zhangwei", key, "submit")
    return key


@pytest.fixture
def published_plan(engine, plan_in_review):
    """A published plan, so that the counters table holds a drawn number (发文字号 1)."""
    key = plan_in_review
    fire(engine, "lina", key, "forward")
    fire(engine, "wangqiang", key, "approve")
    fire(engine, "chenjing", key, "publish")
    return key


# -- not_an_exit -------------------------------------------------------------------------------
def test_not_an_exit_transition_of_another_state(workspace, engine, plan_in_review, published_plan):
    key = engine.create("zhangwei", "plan", values=plan_values()).key
    exc = refused(workspace, key, lambda: fire(engine, "lina", key, "forward"), "not_an_exit")
    assert "not an exit of draft" in exc.message and "submit (送核稿)" in exc.message
    assert item_row(workspace, key)["state"] == "draft"


def test_not_an_exit_unknown_transition(workspace, engine, plan_in_review):
    exc = refused(workspace, plan_in_review, lambda: fire(engine, "lina", plan_in_review, "fly"), "not_an_exit")
    assert "no transition 'fly'" in exc.message and "forward" in exc.message


def test_not_an_exit_from_a_final_state(workspace, engine, published_plan):
    exc = refused(workspace, published_plan, lambda: fire(engine, "zhangwei", published_plan, "submit"),
                  "not_an_exit")
    assert "exits: none" in exc.message


# -- role_missing ------------------------------------------------------------------------------
@pytest.mark.parametrize("login", ["zhaomin", "zhangwei", "chenjing"])
def test_role_missing(workspace, engine, plan_in_review, login):
    exc = refused(workspace, plan_in_review, lambda: fire(engine, login, plan_in_review, "forward"),
                  "role_missing")
    assert f"{login} lacks the role" in exc.message and "reviewer（核稿人）" in exc.message


def test_role_missing_owner_only_transition(workspace, engine, plan_in_review):
    refused(workspace, plan_in_review, lambda: fire(engine, "lina", plan_in_review, "withdraw"), "role_missing")


# -- separation_of_duties ----------------------------------------------------------------------
def test_separation_of_duties_creator_holding_supervisor_may_not_approve(workspace, engine):
    key = engine.create("boss", "plan", values=plan_values()).key
    fire(engine, "boss", key, "submit")
    exc = refused(workspace, key, lambda: fire(engine, "boss", key, "forward"), "separation_of_duties")
    assert "boss created" in exc.message
    fire(engine, "lina", key, "forward")
    exc = refused(workspace, key, lambda: fire(engine, "boss", key, "approve", "同意。"), "separation_of_duties")
    assert "separation of duties" in exc.message
    fire(engine, "wangqiang", key, "approve")
    refused(workspace, key, lambda: fire(engine, "boss", key, "publish"), "separation_of_duties")
    assert fire(engine, "chenjing", key, "publish").state == "publish"


# -- field_missing -----------------------------------------------------------------------------
def test_field_missing_required_field(workspace, engine):
    values = plan_values()
    del values["sections"]
    key = engine.create("zhangwei", "plan", values=values).key
    exc = refused(workspace, key, lambda: fire(engine, "zhangwei", key, "submit"), "field_missing")
    assert exc.details["fields"] == ["sections"]
    assert "重点任务" in exc.message


def test_field_missing_when_the_call_clears_a_required_field(workspace, engine):
    key = engine.create("zhangwei", "plan", values=plan_values()).key
    exc = refused(workspace, key, lambda: fire(engine, "zhangwei", key, "submit", department=""), "field_missing")
    assert exc.details["fields"] == ["department"]
    assert item_row(workspace, key)["fields"]["department"] == "办公室"


def test_field_missing_required_comment_on_return(workspace, engine, plan_in_review):
    exc = refused(workspace, plan_in_review, lambda: fire(engine, "lina", plan_in_review, "return", "   "),
                  "field_missing")
    assert exc.details["fields"] == ["comment"]
    assert "-m" in exc.message


# -- expression_false --------------------------------------------------------------------------
def test_expression_false_publicity_not_over(workspace, engine):
    key = engine.create("zhangwei", "clean_school", values=clean_school_values()).key
    fire(engine, "zhangwei", key, "submit")
    fire(engine, "lina", key, "forward", county_opinion="同意推荐。")
    fire(engine, "wangqiang", key, "approve", city_score="95", publicity_start="2025-03-05",
         publicity_end="2025-03-12")  # today is 2025-03-10
    exc = refused(workspace, key, lambda: fire(engine, "chenjing", key, "publish"), "expression_false")
    assert "公示期未满" in exc.message
    assert item_row(workspace, key)["numbers"] == {}


def test_expression_false_score_below_band(workspace, engine):
    key = engine.create("zhangwei", "clean_school", values=clean_school_values(tier="示范校")).key
    fire(engine, "zhangwei", key, "submit")
    fire(engine, "lina", key, "forward", county_opinion="同意推荐。")
    exc = refused(workspace, key, lambda: fire(engine, "wangqiang", key, "approve", city_score="85",
                                               publicity_start="2025-02-01", publicity_end="2025-02-08"),
                  "expression_false")
    assert "认定分数线" in exc.message
    assert item_row(workspace, key)["fields"].get("city_score") is None


def test_expression_false_veto_item_hit(workspace, engine):
    values = clean_school_values(veto_items=[{"item": "发生重大安全责任事故", "hit": True}])
    key = engine.create("zhangwei", "clean_school", values=values).key
    exc = refused(workspace, key, lambda: fire(engine, "zhangwei", key, "submit"), "expression_false")
    assert "一票否决" in exc.message


def test_expression_false_open_finding_blocks_completion(workspace, engine, published_plan):
    values = inspection_values(self_score="90", self_report="自评", conclusion="不通过", overall="问题较多",
                               findings=[{"description": "消防通道堵塞", "deadline": "2025-04-01"}])
    key = engine.create("liuyang", "inspection", values=values).key
    for login, transition in (("liuyang", "notify"), ("liuyang", "start_visit"), ("liuyang", "submit"),
                              ("lina", "forward"), ("wangqiang", "approve"), ("chenjing", "publish")):
        fire(engine, login, key, transition)
    exc = refused(workspace, key, lambda: fire(engine, "liuyang", key, "complete"), "expression_false")
    assert "尚有问题未销号" in exc.message
    # marking a finding 已销号 without date and verifier is refused too
    refused(workspace, key, lambda: fire(engine, "liuyang", key, "close_finding", findings__1__status="已销号"),
            "expression_false")


# -- field_locked ------------------------------------------------------------------------------
def test_field_locked_outside_editable_states(workspace, engine, plan_in_review):
    exc = refused(workspace, plan_in_review,
                  lambda: fire(engine, "lina", plan_in_review, "forward", title="改过的标题"), "field_locked")
    assert exc.details["fields"] == ["title"]
    assert item_row(workspace, plan_in_review)["title"] != "改过的标题"


def test_field_locked_by_state_editable_list(workspace, engine):
    key = engine.create("liuyang", "inspection", values=inspection_values()).key
    fire(engine, "liuyang", key, "notify")
    refused(workspace, key, lambda: fire(engine, "liuyang", key, "edit", school="另一所学校"), "field_locked")
    assert fire(engine, "liuyang", key, "edit", self_score="88").fields["self_score"] == "88"


# -- unknown_user ------------------------------------------------------------------------------
def test_unknown_user_fire(workspace, engine, plan_in_review):
    exc = refused(workspace, plan_in_review, lambda: fire(engine, "nobody", plan_in_review, "forward"),
                  "unknown_user")
    assert "gongwen users add nobody" in exc.message


def test_unknown_user_create_leaves_no_item(workspace, engine, published_plan):
    exc = refused(workspace, None, lambda: engine.create("nobody", "plan", values=plan_values()), "unknown_user")
    assert exc.exit_code == 1


def test_unknown_user_cannot_read(workspace, engine, plan_in_review):
    with pytest.raises(Refused) as info:
        engine.show("nobody", plan_in_review)
    assert info.value.reason == "unknown_user"


# -- stale (optimistic lock) -------------------------------------------------------------------
def test_stale_expected_version(workspace, engine, plan_in_review):
    version = item_row(workspace, plan_in_review)["version"]
    exc = refused(workspace, plan_in_review,
                  lambda: engine.fire("lina", plan_in_review, "forward", expected_version=version - 1),
                  "stale", Conflict)
    assert exc.exit_code == 3
    assert f"changed by zhangwei at {item_row(workspace, plan_in_review)['updated_at']}" in exc.message


# -- the same refusals through the CLI ---------------------------------------------------------
CLI_CASES = [  # (login, transition, extra args, reason)
    ("lina", "submit", [], "not_an_exit"),
    ("zhaomin", "forward", [], "role_missing"),
    ("lina", "return", [], "field_missing"),
    ("lina", "forward", ["--set", "title=新标题"], "field_locked"),
    ("nobody", "forward", [], "unknown_user"),
]


@pytest.mark.parametrize("login, transition, extra, reason", CLI_CASES, ids=[c[3] for c in CLI_CASES])
def test_cli_refusal_json(gw, workspace, plan_in_review, login, transition, extra, reason):
    before = snapshot(workspace)
    result = gw("--json", "--as", login, "do", plan_in_review, transition, *extra)
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error["reason"] == reason and error["message"]
    assert snapshot(workspace) == before


def test_cli_refusal_text_is_one_line(gw, workspace, plan_in_review):
    before = snapshot(workspace)
    result = gw("--as", "zhangwei", "do", plan_in_review, "forward")
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: forward (核稿通过，呈送签发): zhangwei lacks the role")
    assert snapshot(workspace) == before


def test_cli_separation_of_duties_and_expression_false(gw, workspace, engine):
    key = engine.create("boss", "plan", values=plan_values()).key
    fire(engine, "boss", key, "submit")
    before = snapshot(workspace)
    result = gw("--json", "--as", "boss", "do", key, "forward")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["reason"] == "separation_of_duties"
    assert snapshot(workspace) == before
    values = clean_school_values(veto_items=[{"item": "发生重大师德失范事件", "hit": "是"}])
    other = engine.create("zhangwei", "clean_school", values=values).key
    before = snapshot(workspace)
    result = gw("--json", "--as", "zhangwei", "do", other, "submit")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["reason"] == "expression_false"
    assert snapshot(workspace) == before
