"""Issue 14, part 2: timed transitions, `gongwen tick`, 催办/督办 and the system user, on SQLite and
PostgreSQL. The clock is GONGWEN_NOW: each test moves it to run tick at the moment it wants."""

from __future__ import annotations

import io
import json
import os
import subprocess
import threading

import docx
import pytest
from helpers import clean_school_values, fire, gongwen_command, inspection_values, item_row, run_cli, snapshot, sql

from workflow.audit.replay import replay
from workflow.audit.verify import verify
from workflow.definition.model import SYSTEM_USER
from workflow.engine import registry, timers, users
from workflow.engine.engine import Engine
from workflow.engine.tick import tick
from workflow.errors import BadInput, Refused


@pytest.fixture
def system(workspace):
    """The system user `gongwen init` makes, with its key on this account."""
    return timers.bootstrap_system(workspace, "admin")


def at(monkeypatch, moment: str) -> None:
    monkeypatch.setenv("GONGWEN_NOW", moment)


def in_publicity(engine, start: str, end: str, school: str = "某某县城关中学") -> str:
    key = engine.create("zhangwei", "clean_school", values=clean_school_values(school=school)).key
    fire(engine, "zhangwei", key, "submit")
    fire(engine, "lina", key, "forward", county_opinion="同意推荐。")
    view = fire(engine, "wangqiang", key, "approve", city_score="95", publicity_start=start, publicity_end=end)
    assert view.state == "publicity"
    return key


def in_rectification(engine, report_due: str, school: str = "某某县第一实验小学") -> str:
    values = inspection_values(school=school, self_score="90", self_report="自评", conclusion="通过", overall="良好")
    key = engine.create("liuyang", "inspection", values=values).key
    for login, transition in [("liuyang", "notify"), ("liuyang", "start_visit"), ("liuyang", "submit"),
                              ("lina", "forward"), ("wangqiang", "approve")]:
        fire(engine, login, key, transition)
    view = fire(engine, "chenjing", key, "publish", notice_issued="2025-03-10", report_due=report_due)
    assert view.state == "publish"
    return key


def worklist(engine, login: str, name: str) -> list[str]:
    return [i.key for wl in engine.worklist(login) if wl.worklist == name for i in wl.items]


def events(engine, key: str, transition: str) -> list:
    return [e for e in engine.history("zhaomin", key).history if e.transition == transition]


# -- the 公示 timer over 国庆 ----------------------------------------------------------------------
def test_publicity_ends_after_five_working_days_across_national_day(workspace, engine, system, monkeypatch):
    at(monkeypatch, "2025-09-29T10:00:00")
    key = in_publicity(engine, "2025-09-30", "2025-10-13")
    # 9-30, then 国庆 (10-01..10-08) off, 10-09, 10-10, 10-11 (a Saturday 调休 workday), 10-13: over at 10-14 00:00
    entered = engine.history("zhaomin", key).history[-1]
    assert entered.data["due"] == {"timer:end_publicity": "2025-10-14T00:00:00+08:00"}
    for moment in ("2025-10-07T12:00:00", "2025-10-13T23:59:59"):  # plain weekdays would end it on 10-07
        at(monkeypatch, moment)
        assert tick(engine, dry_run=True) == [] and tick(engine) == []
        assert engine.show("zhangwei", key).state == "publicity"
    at(monkeypatch, "2025-10-14T00:00:00")
    [done] = tick(engine)
    assert (done.key, done.name, done.outcome, done.state, done.target) == (key, "end_publicity", "fired",
                                                                            "publicity", "publicized")
    assert done.documents and done.documents[0].endswith("公示期满_公示结果.docx")
    [event] = events(engine, key, "end_publicity")
    assert (event.actor, event.roles, event.comment, event.signature) == (SYSTEM_USER, (), "5个工作日已满", "valid")
    text = "\n".join(p.text for p in docx.Document(str(workspace.root / "documents" / key / done.documents[0]))
                     .paragraphs)
    assert "5个工作日已满" in text and "2025年9月30日" in text
    assert [i for i in worklist(engine, "chenjing", "to_publish")] == [key]
    assert fire(engine, "chenjing", key, "publish").state == "publish"


def test_a_timer_is_never_fired_by_hand(workspace, engine, system):
    key = in_publicity(engine, "2025-03-03", "2025-03-07")
    for login in ("chenjing", "wangqiang"):
        with pytest.raises(Refused) as refused:
            fire(engine, login, key, "end_publicity")
        assert refused.value.reason == "not_an_exit"
    assert "end_publicity" not in [t.id for t in engine.show("chenjing", key).allowed]
    with pytest.raises(Refused) as refused:  # nor does the system user act by hand
        fire(engine, SYSTEM_USER, key, "dismiss_objection", "x", objection="y")
    assert refused.value.reason == "role_missing" and "gongwen tick" in refused.value.message
    with pytest.raises(Refused):
        engine.create(SYSTEM_USER, "clean_school", values=clean_school_values())
    assert engine.show("zhangwei", key).state == "publicity"


# -- idempotent, and two ticks at once --------------------------------------------------------------
def test_tick_twice_does_nothing_the_second_time(workspace, engine, system, monkeypatch):
    a = in_publicity(engine, "2025-03-03", "2025-03-07")
    b = in_rectification(engine, "2025-03-11")
    at(monkeypatch, "2025-03-12T08:00:00")
    assert sorted((d.key, d.kind, d.outcome) for d in tick(engine)) == [(b, "overdue", "noticed"),
                                                                         (a, "timer", "fired")]
    before = snapshot(workspace)
    assert tick(engine) == []
    assert snapshot(workspace) == before


def test_two_ticks_at_once_fire_each_thing_once(workspace, system, monkeypatch):
    """Two real `gongwen tick` processes at the same moment, and two threads with engines of their own."""
    engine = Engine(workspace)
    keys = [in_publicity(engine, "2025-03-03", "2025-03-07", school=f"某某县第{n}中学") for n in range(4)]
    overdue = in_rectification(engine, "2025-03-11")
    at(monkeypatch, "2025-03-12T08:00:00")
    command = gongwen_command() + ["--json", "tick"]
    env = dict(os.environ)
    children = [subprocess.Popen(command, cwd=workspace.root, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [child.communicate(timeout=120) for child in children]
    assert [child.returncode for child in children] == [0, 0], outputs
    done = [d for out, _ in outputs for d in json.loads(out)["due"]]
    fired = sorted(d["key"] for d in done if d["outcome"] == "fired")
    assert fired == sorted(keys)
    assert [d["key"] for d in done if d["outcome"] == "noticed"] == [overdue]
    for key in keys:
        assert len(events(engine, key, "end_publicity")) == 1
    assert len(events(engine, overdue, "overdue")) == 1

    # threads: the escalation, due after three more working days (3-12, 3-13, 3-14), asked for twice at once
    at(monkeypatch, "2025-03-18T08:00:00")
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(tick(Engine(workspace)))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    outcomes = sorted(d.outcome for found in results for d in found)
    assert outcomes.count("escalated") == 1 and set(outcomes) <= {"escalated", "skipped"}
    assert len(events(engine, overdue, "escalate")) == 1


# -- --dry-run ------------------------------------------------------------------------------------
def test_dry_run_lists_what_and_when_and_changes_nothing(workspace, engine, system, gw, monkeypatch):
    key = in_publicity(engine, "2025-03-03", "2025-03-07")
    overdue = in_rectification(engine, "2025-03-11")
    result = gw("tick", "--dry-run")
    assert result.exit_code == 0 and result.output.strip() == f"would fire {key} end_publicity（公示期满）" \
        "publicity → publicized, due 2025-03-08T00:00:00+08:00"
    at(monkeypatch, "2025-03-12T08:00:00")
    before = snapshot(workspace)
    result = gw("--json", "tick", "--dry-run")
    assert result.exit_code == 0
    found = json.loads(result.output)
    assert found["dry_run"] is True and found["now"] == "2025-03-12T08:00:00+08:00"
    assert sorted((d["key"], d["kind"], d["name"], d["due"], d["outcome"]) for d in found["due"]) == [
        (overdue, "overdue", "rectification", "2025-03-12T00:00:00+08:00", "due"),
        (key, "timer", "end_publicity", "2025-03-08T00:00:00+08:00", "due")]
    assert snapshot(workspace) == before
    assert not list((workspace.root / "documents" / overdue).glob("*催办*"))


def test_nothing_due_exits_0(workspace, system, gw):
    result = gw("tick")
    assert result.exit_code == 0 and result.output.strip() == "nothing due at 2025-03-10T09:00:00+08:00"


# -- 催办 and escalation ----------------------------------------------------------------------------
def test_overdue_notice_worklist_and_escalation_each_once(workspace, engine, system, monkeypatch):
    key = in_rectification(engine, "2025-03-12")
    version = engine.show("liuyang", key).version
    assert tick(engine) == [] and worklist(engine, "liuyang", "overdue_rectification") == []
    at(monkeypatch, "2025-03-12T23:59:00")  # due by the end of 3-12
    assert tick(engine) == []
    at(monkeypatch, "2025-03-13T08:00:00")
    [done] = tick(engine)
    assert (done.kind, done.outcome, done.due, done.roles) == ("overdue", "noticed", "2025-03-13T00:00:00+08:00",
                                                               ("inspector", "office"))
    assert tick(engine) == []
    assert worklist(engine, "liuyang", "overdue_rectification") == [key]
    assert worklist(engine, "chenjing", "overdue_rectification") == [key]
    assert worklist(engine, "wangqiang", "overdue_rectification") == []
    assert worklist(engine, "wangqiang", "escalated_rectification") == []
    # the 催办通知, rendered once, a document of the item like any other
    found = engine.documents("zhaomin", key, with_bytes=True)
    [notice] = [d for d in found.documents if d["template"] == "催办通知.docx"]
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(found.blobs[notice["sha256"]])).paragraphs)
    assert "关于督促某某县第一实验小学按期报送整改报告的通知" in text.replace("\n", "")  # the title is broken in lines
    assert "要求你校于2025年3月12日前完成整改报告报送" in text and "现予催办" in text
    assert "逾期3个工作日仍未报送的，将报局领导督办" in text
    assert (workspace.root / "documents" / key / notice["file"]).is_file()
    # escalation: 3 working days after 3-13 00:00 (3-13, 3-14, 3-17): at 3-18 00:00
    at(monkeypatch, "2025-03-17T23:00:00")
    assert tick(engine) == []
    at(monkeypatch, "2025-03-18T00:00:00")
    [done] = tick(engine)
    assert (done.kind, done.outcome, done.roles) == ("escalate", "escalated", ("supervisor",))
    assert tick(engine) == []
    assert worklist(engine, "wangqiang", "escalated_rectification") == [key]
    assert [len(events(engine, key, k)) for k in ("overdue", "escalate")] == [1, 1]
    assert [(e.transition_title, e.from_state, e.to_state, e.actor) for e in engine.history("zhaomin", key).history
            if e.transition in ("overdue", "escalate")] == [("催办", "publish", "publish", SYSTEM_USER),
                                                            ("督办上报", "publish", "publish", SYSTEM_USER)]
    assert engine.show("liuyang", key).version == version  # a 催办 leaves the item's revision alone
    # the 整改报告 arrives (met_by): off the overdue lists, and nothing more is due
    fire(engine, "liuyang", key, "close_finding", report_received="2025-03-18")
    assert worklist(engine, "liuyang", "overdue_rectification") == []
    assert worklist(engine, "wangqiang", "escalated_rectification") == []
    at(monkeypatch, "2025-04-30T00:00:00")
    assert tick(engine) == []


# -- the audit -----------------------------------------------------------------------------------
def tick_log(engine, monkeypatch) -> tuple[str, str]:
    a = in_publicity(engine, "2025-03-03", "2025-03-07")
    b = in_rectification(engine, "2025-03-11")
    at(monkeypatch, "2025-03-20T08:00:00")
    assert sorted(d.kind for d in tick(engine)) == ["overdue", "timer"]
    assert [d.kind for d in tick(engine)] == ["escalate"]  # its period starts with the 催办, and is over
    return a, b


def test_tick_events_are_signed_by_the_system_user_verify_and_replay_pass(workspace, engine, system, monkeypatch):
    a, b = tick_log(engine, monkeypatch)
    for key in (a, b):
        for event in engine.history("zhaomin", key).history[-2:]:
            if event.actor == SYSTEM_USER:
                assert event.signature == "valid" and event.signed_by == SYSTEM_USER
    assert [e.transition for e in engine.history("zhaomin", b).history[-2:]] == ["overdue", "escalate"]
    report = verify(workspace.db)
    assert report.ok, report.problems
    replayed = replay(workspace, rerender=True)
    assert replayed.ok, replayed.anomalies
    assert replayed.rerendered == replayed.documents and replayed.documents > 0


def test_a_tampered_system_event_is_named(workspace, engine, system, monkeypatch):
    _, b = tick_log(engine, monkeypatch)
    [event] = events(engine, b, "overdue")
    sql(workspace, "UPDATE events SET comment = 'forged' WHERE item_key = :key AND seq = :seq", key=b, seq=event.seq)
    report = verify(workspace.db)
    assert not report.ok
    assert any(p.item == b and p.seq == event.seq for p in report.problems), report.problems


def test_a_forged_system_event_is_named(workspace, engine, system, monkeypatch):
    """Someone with a user's key writes a 催办 as themself, and the system user's key is used for a
    transition that is no timer: verify names the first, replay both."""
    a, b = tick_log(engine, monkeypatch)
    with workspace.db.write() as session:
        for key, login, transition in ((b, "chenjing", "overdue"), (a, SYSTEM_USER, "publish")):
            item = engine.get_item(session, key)
            definition = registry.pinned(session, item.definition_hash)
            signer = engine.keys.signer(login)
            actor = users.actor(session, login)
            engine._append_event(session, signer, item, definition, transition, item.state, actor, "forged", {},
                                 {"documents": []}, engine.now())
    report = verify(workspace.db)
    assert [(p.kind, p.item) for p in report.problems if p.kind == "system_event"] == [("system_event", b)]
    problems = {(x.item, x.transition): x.problem for x in replay(workspace).anomalies}
    assert "only gongwen tick (the system user) records them" in problems[(b, "overdue")]
    assert "the system user did publish" in problems[(a, "publish")]


# -- a period the calendar does not know ----------------------------------------------------------
def test_a_period_outside_the_calendar_is_refused_when_it_starts(workspace, engine, system):
    clean = engine.create("zhangwei", "clean_school", values=clean_school_values()).key
    fire(engine, "zhangwei", clean, "submit")
    fire(engine, "lina", clean, "forward", county_opinion="同意推荐。")
    before = snapshot(workspace)
    # the 公示 start in a year the calendar does not know: entering 公示 with it, or setting it earlier
    with pytest.raises(BadInput) as refused:
        fire(engine, "wangqiang", clean, "approve", city_score="95", publicity_start="2099-01-05",
             publicity_end="2099-01-09")
    assert refused.value.reason == "calendar_unknown" and "does not know 2099" in refused.value.message
    with pytest.raises(BadInput) as refused:
        fire(engine, "chenjing", clean, "evaluate", city_score="95", publicity_start="2099-01-05",
             publicity_end="2099-01-09")
    assert refused.value.reason == "calendar_unknown"
    assert snapshot(workspace) == before
    assert item_row(workspace, clean)["state"] == "approve"
    # a workspace calendar.yaml that covers the year lets it through, counted on that calendar
    (workspace.root / "calendar.yaml").write_text("years: [2099]\nholidays: [2099-01-06]\n", encoding="utf-8")
    fire(engine, "wangqiang", clean, "approve", city_score="95", publicity_start="2099-01-05",
         publicity_end="2099-01-09")
    # 1-05 (Mon), 1-06 off, 1-07, 1-08, 1-09, 1-12: over at 1-13 00:00
    assert engine.history("zhaomin", clean).history[-1].data["due"] == {
        "timer:end_publicity": "2099-01-13T00:00:00+08:00"}


def test_an_escalation_over_days_the_calendar_does_not_know_waits(workspace, engine, system, monkeypatch):
    """The escalation's period starts with the 催办: 3 working days from 2026-12-31 reach into 2027,
    which chinese-calendar 1.11 does not know. The 催办 is recorded; the escalation is reported
    blocked (nothing recorded) until calendar.yaml covers 2027, then it escalates once."""
    key = in_rectification(engine, "2026-12-30")
    at(monkeypatch, "2026-12-31T09:00:00")
    [done] = tick(engine)
    assert (done.kind, done.outcome) == ("overdue", "noticed")
    at(monkeypatch, "2027-01-08T09:00:00")
    before = snapshot(workspace)
    [blocked] = tick(engine)
    assert (blocked.kind, blocked.outcome) == ("escalate", "blocked") and "2027" in blocked.message
    assert blocked.line().startswith(f"blocked {key} escalate rectification")
    assert snapshot(workspace) == before
    (workspace.root / "calendar.yaml").write_text("years: [2027]\nholidays: [2027-01-01]\n", encoding="utf-8")
    [done] = tick(engine)  # 12-31, then 1-01 off, 1-04, 1-05: over at 1-06 00:00
    assert (done.kind, done.outcome, done.due) == ("escalate", "escalated", "2027-01-06T00:00:00+08:00")
    assert tick(engine) == []


def test_tick_without_the_system_key_is_refused_and_changes_nothing(workspace, engine, system, monkeypatch, gw):
    in_publicity(engine, "2025-03-03", "2025-03-07")
    (engine.keys.folder / SYSTEM_USER).unlink()
    before = snapshot(workspace)
    result = gw("tick")
    assert result.exit_code == 1
    assert "signs as the system user" in result.output
    assert snapshot(workspace) == before


def test_workflows_show_names_timers_and_deadlines(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no workspace: the shipped definitions
    shown = json.loads(run_cli("--json", "workflows", "show", "clean_school").output)
    timer = shown["transitions"]["end_publicity"]
    assert (timer["trigger"], timer["after"], timer["since"]) == ("timer", {"workdays": 5}, "publicity_start")
    inspection = json.loads(run_cli("--json", "workflows", "show", "inspection").output)
    assert inspection["deadlines"]["rectification"]["escalate"] == {"after": {"workdays": 3}, "to": ["supervisor"]}
    assert "催办 inspector（督学）" in run_cli("workflows", "show", "inspection").output
