"""Every transition of the three shipped workflows, fired through the engine on a real SQLite
workspace; numbers (发文字号, 整改通知书编号, 证书编号), worklists, the event hash chain."""

from __future__ import annotations

import hashlib

import docx
import pytest
from helpers import USERS, YEAR, clean_school_values, fire, inspection_values, plan_values, snapshot

from workflow.engine import countersign, registry, timers
from workflow.engine.tick import tick
from workflow.store import chain


def walk(engine, key, steps):
    """Fire (login, transition, comment, sets, expected state) steps; check each resulting state."""
    view = None
    for login, transition, comment, sets, expected in steps:
        before = engine.show(login, key)
        view = fire(engine, login, key, transition, comment, **sets)
        assert view.state == expected, (transition, view.state)
        events = len(engine.show(login, key).history) - len(before.history)
        assert events >= 1 and view.version == before.version + events  # one revision per event (会签完毕 too)
    return view


def fired_transitions(engine, keys) -> set:
    fired = set()
    for key in keys:
        fired |= {e.transition for e in engine.history("zhaomin", key).history}
    return fired - {"create"}


def check_history_follows_definition(engine, workspace, keys, workflow_id):
    definition = registry.current(workspace, workflow_id)
    for key in keys:
        events = engine.history("zhaomin", key).history
        assert events[0].transition == "create" and events[0].to_state == definition.initial
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        for previous, event in zip(events, events[1:]):
            assert event.from_state == previous.to_state
            if event.transition == "countersign":  # a 会签 opinion: stays in the 会签 state
                assert event.to_state == event.from_state and definition.states[event.from_state].countersign
                continue
            tr = definition.transitions[event.transition]
            assert event.from_state in tr.sources
            assert event.to_state == tr.target_from(event.from_state)
            # every transition renders its declared templates into .docx files python-docx opens (and,
            # opening a 会签, one 会签单 per countersigner)
            produced = event.data["documents"]
            cosign = definition.states[event.to_state].countersign if event.to_state != event.from_state else None
            forms = [cosign.form] * len(event.data["countersign"]["parties"]) if cosign else []
            assert [d["template"] for d in produced] == tr.templates + forms
            assert produced or not tr.templates
            for doc in produced:
                path = workspace.root / "documents" / key / doc["file"]
                assert hashlib.sha256(path.read_bytes()).hexdigest() == doc["sha256"]
                assert docx.Document(str(path)).paragraphs, doc["file"]


def test_plan_every_transition(engine, workspace):
    a = engine.create("zhangwei", "plan", values=plan_values()).key
    assert a == f"JH-{YEAR}-0001"
    walk(engine, a, [
        ("zhangwei", "edit", "", {"summary": "坚持立德树人。"}, "draft"),
        ("zhangwei", "submit", "", {}, "review"),
        ("zhangwei", "withdraw", "还需修改。", {}, "draft"),
        ("zhangwei", "submit", "", {}, "review"),
        ("lina", "return", "请补充量化目标。", {}, "returned"),
        ("zhangwei", "edit", "", {"sections__1__target": "新建公办幼儿园2所"}, "returned"),
        ("zhangwei", "submit", "已补充。", {}, "review"),
        ("lina", "forward", "同意呈送签发。", {}, "approve"),
        ("wangqiang", "return", "请再斟酌。", {}, "returned"),
        ("zhangwei", "submit", "", {}, "review"),
        ("lina", "forward", "", {}, "approve"),
        ("wangqiang", "approve", "同意印发。", {}, "signed"),
        ("chenjing", "recheck", "文中引用文号有误，请签发人复核。", {}, "approve"),
        ("wangqiang", "approve", "已复核，同意。", {}, "signed"),
    ])
    view = fire(engine, "chenjing", a, "publish", issue_date=f"{YEAR}-03-10", copies=30)
    assert view.state == "publish"
    assert view.numbers == {"doc_number": f"某教发〔{YEAR}〕1号"}
    assert view.fields["sections"][0]["target"] == "新建公办幼儿园2所"
    assert view.fields["copies"] == 30 and view.fields["issue_date"] == f"{YEAR}-03-10"
    assert view.allowed == ()

    b = engine.create("boss", "plan", values=plan_values(title="第二份文件")).key
    walk(engine, b, [
        ("boss", "submit", "", {}, "review"),
        ("lina", "forward", "", {}, "approve"),
        ("wangqiang", "approve", "", {}, "signed"),
    ])
    assert fire(engine, "chenjing", b, "publish").numbers == {"doc_number": f"某教发〔{YEAR}〕2号"}

    c = engine.create("zhangwei", "plan", values=plan_values(title="第三份文件")).key
    walk(engine, c, [
        ("zhangwei", "submit", "", {}, "review"),
        ("lina", "forward", "", {}, "approve"),
        ("wangqiang", "reject", "不符合年度工作安排，不予签发。", {}, "rejected"),
    ])
    assert engine.show("zhangwei", c).numbers == {}

    d = engine.create("zhangwei", "plan", values=plan_values(title="第四份文件", cosign_offices="计划财务股")).key
    walk(engine, d, [
        ("zhangwei", "submit", "", {}, "review"),
        ("lina", "to_countersign", "", {}, "countersign"),
    ])
    assert countersign.record(engine, "sunhua", d, "不同意", "经费来源不明。").state == "returned"
    fire(engine, "zhangwei", d, "submit", "已说明经费来源。")
    fire(engine, "lina", d, "to_countersign")
    assert countersign.record(engine, "sunhua", d, "同意").state == "approve"

    definition = registry.current(workspace, "plan")
    assert fired_transitions(engine, [a, b, c, d]) - {"countersign"} == set(definition.transitions)
    check_history_follows_definition(engine, workspace, [a, b, c, d], "plan")
    history = engine.history("zhaomin", a).history
    assert history[-1].data["numbers"] == {"doc_number": f"某教发〔{YEAR}〕1号"}
    assert history[5].comment == "请补充量化目标。" and history[5].actor == "lina"
    assert history[6].changes["sections"][1][0]["target"] == "新建公办幼儿园2所"


def test_inspection_every_transition_and_overdue_worklist(engine, workspace):
    a = engine.create("liuyang", "inspection", values=inspection_values()).key
    assert a == f"DD-{YEAR}-0001"
    findings = (
        '[{"category": "消防", "description": "灭火器过期未更换", "deadline": "2025-02-01"},'
        ' {"category": "办学行为", "description": "收费公示不完整", "deadline": "2025-03-01"}]')
    walk(engine, a, [
        ("liuyang", "edit", "", {"topic": "办学行为和校园安全"}, "draft"),
        ("liuyang", "notify", "", {}, "self_eval"),
        ("liuyang", "edit", "", {"self_report": "学校自评总体优秀。"}, "self_eval"),
        ("liuyang", "start_visit", "", {"self_score": "91.5"}, "onsite"),
        ("liuyang", "edit", "", {"findings": findings, "lessons": 8, "conclusion": "通过",
                                 "overall": "办学规范，存在个别问题。"}, "onsite"),
        ("liuyang", "submit", "", {}, "review"),
        ("liuyang", "withdraw", "补充听课记录。", {}, "onsite"),
        ("liuyang", "submit", "", {}, "review"),
        ("lina", "return", "请补充整改要求。", {}, "returned"),
        ("liuyang", "edit", "", {"findings__1__requirement": "立即更换"}, "returned"),
        ("liuyang", "submit", "", {}, "review"),
        ("lina", "forward", "", {}, "approve"),
        ("wangqiang", "approve", "同意出具督导意见书。", {}, "approved"),
    ])
    view = fire(engine, "chenjing", a, "publish", notice_issued="2025-03-10", report_due="2025-04-10")
    assert view.state == "publish"
    assert view.numbers == {"notice_number": f"某教督〔{YEAR}〕1号"}

    def overdue(login):
        return [i.key for wl in engine.worklist(login) if wl.worklist == "overdue" for i in wl.items]

    assert overdue("liuyang") == [a] and overdue("zhaomin") == [a]
    assert overdue("zhangwei") == []  # a clerk has no such worklist
    # `show` names the worklists the item is on, so the overdue findings are visible on the item too
    assert "overdue" in [w.id for w in engine.show("zhangwei", a).worklists]
    walk(engine, a, [
        ("liuyang", "close_finding", "已更换灭火器。",
         {"findings__1__status": "已销号", "findings__1__closed_on": "2025-03-09", "findings__1__verifier": "刘洋"},
         "publish"),
    ])
    assert overdue("liuyang") == [a]  # the second finding is still open and past its deadline
    walk(engine, a, [
        ("liuyang", "close_finding", "",
         {"findings__2__status": "已销号", "findings__2__closed_on": "2025-03-10", "findings__2__verifier": "刘洋",
          "report_received": "2025-03-08"},
         "publish"),
    ])
    assert overdue("liuyang") == []
    assert "overdue" not in [w.id for w in engine.show("liuyang", a).worklists]
    view = walk(engine, a, [("liuyang", "complete", "全部销号。", {"recheck_date": "2025-03-10"}, "closed")])
    assert [f["status"] for f in view.fields["findings"]] == ["已销号", "已销号"]

    b = engine.create("liuyang", "inspection",
                      values=inspection_values(self_score="80", self_report="自评", conclusion="通过",
                                               overall="总体良好")).key
    walk(engine, b, [
        ("liuyang", "notify", "", {}, "self_eval"),
        ("liuyang", "start_visit", "", {}, "onsite"),
        ("liuyang", "submit", "", {}, "review"),
        ("lina", "forward", "", {}, "approve"),
        ("wangqiang", "return", "评估依据不足。", {}, "returned"),
        ("liuyang", "submit", "", {}, "review"),
        ("lina", "forward", "", {}, "approve"),
        ("wangqiang", "reject", "督导程序不规范，不予审定。", {}, "rejected"),
    ])

    definition = registry.current(workspace, "inspection")
    assert fired_transitions(engine, [a, b]) == set(definition.transitions)
    check_history_follows_definition(engine, workspace, [a, b], "inspection")


def test_clean_school_every_transition(engine, workspace):
    a = engine.create("zhangwei", "clean_school", values=clean_school_values())
    assert a.title == f"某某县城关中学清廉学校认定申报（{YEAR}年度）"
    a = a.key
    assert a == f"QL-{YEAR}-0001"
    walk(engine, a, [
        ("zhangwei", "edit", "", {"contact": "校办 王老师"}, "draft"),
        ("zhangwei", "submit", "", {}, "review"),
        ("zhangwei", "withdraw", "", {}, "draft"),
        ("zhangwei", "submit", "", {}, "review"),
        ("lina", "return", "佐证材料不全。", {}, "returned"),
        ("zhangwei", "edit", "", {"evidence": "自评报告；台账"}, "returned"),
        ("zhangwei", "submit", "", {}, "review"),
        ("lina", "forward", "同意推荐。", {"county_opinion": "材料齐全，同意推荐。", "county_rank": 1}, "approve"),
        ("wangqiang", "approve", "评估通过，进入公示。",
         {"city_score": "92", "publicity_start": "2025-02-20", "publicity_end": "2025-03-01"}, "publicity"),
        ("lina", "dismiss_objection", "经核查，反映问题不属实。", {"objection": "匿名反映收费问题"}, "publicity"),
        ("wangqiang", "object", "经核查，反映问题属实，重新初审。", {"objection": "反映问题属实"}, "review"),
        ("lina", "forward", "已整改。", {}, "approve"),
        ("lina", "evaluate", "", {"city_score": "93", "city_team": "市评估组"}, "approve"),
        ("wangqiang", "approve", "", {}, "publicity"),
    ])
    to_publish = [i.key for wl in engine.worklist("chenjing") if wl.worklist == "to_publish"
                  for i in wl.items]
    assert to_publish == [a]
    view = fire(engine, "chenjing", a, "publish", naming_date="2025-03-10")
    assert view.state == "publish"
    assert view.numbers == {"certificate_number": f"某教廉证〔{YEAR}〕1号"}
    walk(engine, a, [
        ("lina", "recheck", "", {"recheck_date": "2025-03-10", "recheck_result": "保持"}, "publish"),
        ("wangqiang", "revoke", "触及一票否决情形。", {"revoke_reason": "发生重大安全责任事故"}, "revoked"),
    ])

    b = engine.create("zhangwei", "clean_school", values=clean_school_values(school="某某县实验小学", stage="小学")).key
    walk(engine, b, [
        ("zhangwei", "submit", "", {}, "review"),
        ("lina", "forward", "", {"county_opinion": "同意推荐。"}, "approve"),
        ("wangqiang", "return", "请补充自评报告。", {}, "returned"),
        ("zhangwei", "submit", "", {}, "review"),
        ("lina", "forward", "", {}, "approve"),
        ("wangqiang", "reject", "评估得分未达到示范校标准。", {"city_score": "75"}, "rejected"),
    ])

    # the 公示 ends by itself (issue 14): 5 working days from Monday 3-03, over on 3-08; `gongwen tick`
    # fires end_publicity as the system user, then the office names the school from 公示期满
    c = engine.create("zhangwei", "clean_school", values=clean_school_values(school="某某县第二中学")).key
    walk(engine, c, [
        ("zhangwei", "submit", "", {}, "review"),
        ("lina", "forward", "", {"county_opinion": "同意推荐。"}, "approve"),
        ("wangqiang", "approve", "", {"city_score": "92", "publicity_start": "2025-03-03",
                                      "publicity_end": "2025-03-07"}, "publicity"),
    ])
    timers.bootstrap_system(workspace, "admin")
    assert [(d.key, d.name, d.outcome) for d in tick(engine)] == [(c, "end_publicity", "fired")]
    assert engine.show("zhangwei", c).state == "publicized"
    assert fire(engine, "chenjing", c, "publish").numbers == {"certificate_number": f"某教廉证〔{YEAR}〕2号"}

    definition = registry.current(workspace, "clean_school")
    assert fired_transitions(engine, [a, b, c]) == set(definition.transitions)
    check_history_follows_definition(engine, workspace, [a, b, c], "clean_school")


def test_numbers_are_per_sequence_and_year(engine, monkeypatch):
    """发文字号 counts per year; the inspection notice series is separate from it."""
    keys = []
    for year_now in ("2025-12-31T10:00:00", "2026-01-02T10:00:00"):
        monkeypatch.setenv("GONGWEN_NOW", year_now)
        key = engine.create("zhangwei", "plan", values=plan_values()).key
        for login, transition in (("zhangwei", "submit"), ("lina", "forward"), ("wangqiang", "approve")):
            fire(engine, login, key, transition)
        keys.append((key, fire(engine, "chenjing", key, "publish").numbers["doc_number"]))
    assert keys == [("JH-2025-0001", "某教发〔2025〕1号"), ("JH-2026-0001", "某教发〔2026〕1号")]


def test_allowed_lists_what_the_actor_may_do(engine):
    key = engine.create("zhangwei", "plan", values=plan_values()).key
    assert {a.id for a in engine.show("zhangwei", key).allowed} == {"edit", "submit"}
    assert engine.show("lina", key).allowed == ()
    fire(engine, "zhangwei", key, "submit")
    allowed = {a.id: a for a in engine.show("lina", key).allowed}
    assert set(allowed) == {"forward", "return"}
    assert allowed["return"].comment_required is True and allowed["return"].to == "returned"
    assert {a.id for a in engine.show("zhangwei", key).allowed} == {"withdraw"}


def test_history_is_a_hash_chain(engine, workspace):
    key = engine.create("zhangwei", "plan", values=plan_values()).key
    fire(engine, "zhangwei", key, "submit")
    engine.create("liuyang", "inspection", values=inspection_values())
    fire(engine, "lina", key, "return", "退回。")
    events = snapshot(workspace)["events"]
    rows = [(r[-4], r[-3]) for r in events]  # prev_hash, hash (before signature and signer), in id order
    items = [r for r in events if r[1] is not None]  # the users' events (@users) share the chain
    assert len(items) == 4 and len(rows) == 4 + 1 + len(USERS)  # the admin's bootstrap, each user added
    assert rows[0][0] == chain.GENESIS
    for (_, previous), (prev_hash, _) in zip(rows, rows[1:]):
        assert prev_hash == previous
    assert len({h for _, h in rows}) == len(rows)


def test_items_stay_pinned_to_their_definition_version(engine, workspace):
    key = engine.create("zhangwei", "plan", values=plan_values()).key
    pinned = engine.show("zhangwei", key).definition_version
    path = workspace.definitions_dir / "plan.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("title: 送核稿", "title: 提交核稿"), encoding="utf-8")
    fire(engine, "zhangwei", key, "submit")
    history = engine.history("zhangwei", key).history
    assert history[-1].transition_title == "送核稿"
    assert history[-1].definition_version == pinned
    newer = engine.create("zhangwei", "plan", values=plan_values())
    assert newer.definition_version != pinned


@pytest.mark.parametrize("workflow_id", ["plan", "inspection", "clean_school"])
def test_every_state_is_reachable_and_final_states_have_no_exit(workspace, workflow_id):
    definition = registry.current(workspace, workflow_id)
    for sid, state in definition.states.items():
        if state.final:
            assert definition.exits(sid) == []
        else:
            assert any(t.target_from(sid) != sid for t in definition.exits(sid))
