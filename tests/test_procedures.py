"""End to end, the shipped procedures (definitions/plan.yaml, inspection.yaml, clean_school.yaml),
not the frozen test workflows: the 发文 procedure with 签发 and 复核; the 督导室's inspection with the
school acting for itself, the 申辩 window closed by `gongwen tick`, findings changed only in the
sub-fields a step opens; the 清廉学校 application from the school through the county to the city.
Every refusal leaves the database and the documents as they were; after each path `audit verify`
and `audit replay` are clean. On SQLite and PostgreSQL (the `db_url` fixture)."""

from __future__ import annotations

import datetime as dt
import json
import re
import zipfile
from zoneinfo import ZoneInfo

import helpers
import pytest
from helpers import add_users, clean_school_values, fire, inspection_values, plan_values, run_cli, snapshot

from workflow.audit.replay import replay
from workflow.audit.verify import verify
from workflow.definition.diff import EMPTY, field_changes
from workflow.definition.model import SYSTEM_USER
from workflow.engine import countersign, registry, timers
from workflow.engine.engine import Engine
from workflow.engine.tick import tick
from workflow.engine.workdays import WorkdayCalendar
from workflow.errors import BadInput, Refused
from workflow.store.blobs import load_context

TZ = ZoneInfo("Asia/Shanghai")
USERS = helpers.ALL_USERS  # every demo user, the school and city ones too
BUREAU, SUPERVISION, CITY = "某某县教育局", "某某县人民政府教育督导室", "某某市教育局"
SCHOOL_1, SCHOOL_2 = "某某县第一实验小学", "某某县城关中学"  # wufang's, chengang's


@pytest.fixture
def ws(request, tmp_path, db_url):
    """A workspace with the SHIPPED definitions and templates, the demo's users (with their units)
    and the system user that `gongwen tick` signs as (a copy of one made once per test process)."""
    workspace = helpers.workspace_copy(request, tmp_path, db_url, "procedures", _with_system)
    yield workspace
    workspace.close()


def _with_system(workspace) -> None:
    add_users(workspace, USERS)
    timers.bootstrap_system(workspace, "admin")


@pytest.fixture
def engine(ws):
    return Engine(ws)


# -- helpers -------------------------------------------------------------------------------------
def at(ws, moment: str) -> None:
    """The workspace's clock, in Asia/Shanghai."""
    ws.clock = dt.datetime.fromisoformat(moment).replace(tzinfo=TZ)


def files(ws) -> dict[str, int]:
    folder = ws.root / "documents"
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()} \
        if folder.exists() else {}


def refused(ws, engine, login, key, transition, reason, comment="", **sets) -> Refused:
    """`login` firing `transition` is refused with `reason`, and nothing changes: no row of any
    table, no document file."""
    before, docs = snapshot(ws), files(ws)
    with pytest.raises(Refused) as caught:
        fire(engine, login, key, transition, comment, **sets)
    assert caught.value.reason == reason, caught.value.message
    assert snapshot(ws) == before and files(ws) == docs
    return caught.value


def state(engine, key) -> str:
    return engine.show("zhaomin", key).state


def transitions(engine, key) -> list[str]:
    return [e.transition for e in engine.history("zhaomin", key).history]


def documents(engine, key) -> list[dict]:
    return list(engine.documents("zhaomin", key).documents)


def document(engine, key, transition, name) -> dict:
    [found] = [d for d in documents(engine, key) if d["transition"] == transition and d["name"] == name]
    return found


def docx_text(ws, key, doc) -> str:
    """Every w:t of the document's parts (body, headers, footers), joined."""
    with zipfile.ZipFile(ws.root / "documents" / key / doc["file"]) as z:
        return "".join("".join(re.findall(r"<w:t(?:\s[^>]*)?>([^<]*)</w:t>", z.read(n).decode("utf-8")))
                       for n in z.namelist() if n.startswith("word/") and n.endswith(".xml"))


def context_of(ws, doc) -> dict:
    with ws.db.read() as session:
        return load_context(session, doc["context_sha256"])


def definition_of(ws, engine, key):
    with ws.db.read() as session:
        return registry.pinned(session, engine.get_item(session, key).definition_hash)


def due_after(day: dt.date, workdays: int) -> str:
    """The moment a period of `workdays` working days counted from the day after `day` is over."""
    last = WorkdayCalendar().add(day, workdays)
    return dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), TZ).isoformat()


def audit_clean(ws) -> None:
    """`gongwen audit verify` and `gongwen audit replay --rerender` find nothing (the functions and
    the commands)."""
    report = verify(ws.db)
    assert report.ok, report.to_json()["problems"]
    replayed = replay(ws, rerender=True)
    assert replayed.ok, replayed.to_json()
    for args in (("audit", "verify"), ("audit", "replay", "--rerender")):
        result = run_cli("--home", ws.root, "--json", "--as", "zhaomin", *args)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["ok"], result.stdout


# -- plan: the 发文 procedure ---------------------------------------------------------------------
def plan_to_signed(engine, **values) -> str:
    """A plan drafted by xuming, without 会签, through 科室审核 and 核稿 to 签发: at 复核 (signed)."""
    key = engine.create("xuming", "plan", values=plan_values(department="基础教育股", summary="总体要求。",
                                                            **values)).key
    for login, transition in [("xuming", "submit"), ("zhoujie", "dept_approve"), ("lina", "forward"),
                              ("wangqiang", "approve")]:
        fire(engine, login, key, transition)
    assert state(engine, key) == "signed"
    return key


def test_plan_the_whole_发文_procedure_with_会签(ws, engine):
    at(ws, "2025-03-03T09:00")
    key = engine.create("xuming", "plan", values=plan_values(
        department="基础教育股", summary="总体要求。", cosign_offices=["计划财务股"], drafter_phone="0736-1")).key
    assert state(engine, key) == "draft"
    assert fire(engine, "xuming", key, "submit").state == "dept_review"
    # 科室负责人审核: the drafter holds no dept_head role; a dept_head may not pass their own draft
    refused(ws, engine, "xuming", key, "dept_approve", "role_missing")
    assert fire(engine, "zhoujie", key, "dept_approve", "同意。").state == "review"
    # 办公室核稿: offices were chosen, so to 会签, not straight to 签发
    refused(ws, engine, "lina", key, "forward", "expression_false")
    assert fire(engine, "lina", key, "to_countersign", "同意送会签。").state == "countersign"
    refused(ws, engine, "wangqiang", key, "approve", "not_an_exit")
    view = countersign.record(engine, "sunhua", key, "同意", "经费安排与预算一致。")
    assert view.state == "approve" and transitions(engine, key)[-2:] == ["countersign", "countersigned"]
    refused(ws, engine, "boss", key, "register", "not_an_exit", issue_date="2025-03-03")
    at(ws, "2025-03-04T09:00")
    view = fire(engine, "wangqiang", key, "approve", "同意印发。")
    assert (view.state, view.numbers) == ("signed", {})  # 签发 draws no number: 登记 does
    [signed] = [e for e in engine.history("zhaomin", key).history if e.transition == "approve"]
    assert len(signed.data["body_sha256"]) == 64
    # 复核, then 登记: the 发文字号 and the 印发通知 bearing it
    refused(ws, engine, "chenjing", key, "register", "field_missing")  # issue_date is required
    view = fire(engine, "chenjing", key, "register", issue_date="2025-03-04")
    assert (view.state, view.numbers) == ("registered", {"doc_number": "某教发〔2025〕1号"})
    notice = document(engine, key, "register", "印发通知")
    assert "某教发〔2025〕1号" in docx_text(ws, key, notice)
    assert context_of(ws, notice)["numbers"]["doc_number"] == "某教发〔2025〕1号"
    assert context_of(ws, notice)["settings"]["issuer_name"] == BUREAU
    # 印制、用印、校对 (the proofreader is not who prints), 核发, 归档
    refused(ws, engine, "chenjing", key, "print", "expression_false", copies="20", proofreader="陈静", sealed_by="陈静")
    assert fire(engine, "chenjing", key, "print", copies="20", proofreader="李娜", sealed_by="陈静").state == "printed"
    assert fire(engine, "chenjing", key, "publish", dispatch_note="电子公文系统分送").state == "publish"
    refused(ws, engine, "chenjing", key, "archive", "field_missing")
    view = fire(engine, "chenjing", key, "archive", archive_no="WS·2025-Y-0001")
    assert (view.state, view.numbers) == ("archived", {"doc_number": "某教发〔2025〕1号"})
    assert transitions(engine, key) == ["create", "submit", "dept_approve", "to_countersign", "countersign",
                                        "countersigned", "approve", "register", "print", "publish", "archive"]
    audit_clean(ws)


def test_plan_a_dept_head_may_not_pass_their_own_draft(ws, engine):
    at(ws, "2025-03-03T09:00")
    key = engine.create("zhoujie", "plan", values=plan_values(department="基础教育股")).key
    fire(engine, "zhoujie", key, "submit")
    refused(ws, engine, "zhoujie", key, "dept_approve", "separation_of_duties")
    assert state(engine, key) == "dept_review"


def test_plan_withdraw_before_签发_only(ws, engine):
    at(ws, "2025-03-03T09:00")
    key = engine.create("xuming", "plan", values=plan_values(department="基础教育股")).key
    fire(engine, "xuming", key, "submit")
    refused(ws, engine, "zhoujie", key, "withdraw", "role_missing")  # the drafter's own step
    assert fire(engine, "xuming", key, "withdraw").state == "draft"
    fire(engine, "xuming", key, "submit")
    fire(engine, "zhoujie", key, "dept_approve")
    assert fire(engine, "xuming", key, "withdraw").state == "draft"
    fire(engine, "xuming", key, "submit")
    fire(engine, "zhoujie", key, "dept_approve")
    fire(engine, "lina", key, "forward")
    refused(ws, engine, "xuming", key, "withdraw", "not_an_exit")  # at 签发
    fire(engine, "wangqiang", key, "approve")
    refused(ws, engine, "xuming", key, "withdraw", "not_an_exit")  # signed
    assert transitions(engine, key).count("withdraw") == 2
    audit_clean(ws)


def test_plan_复核_a_change_to_the_body_reopens_签发(ws, engine):
    at(ws, "2025-03-03T09:00")
    key = plan_to_signed(engine, drafter_phone="0736-1")
    # a field outside the signed body: recorded, still signed, no 重新送签
    refused(ws, engine, "chenjing", key, "revise", "field_missing", drafter_phone="0736-2")  # needs a reason
    refused(ws, engine, "chenjing", key, "revise", "field_locked", "复核", department="办公室")
    view = fire(engine, "chenjing", key, "revise", "复核：更正联系电话。", drafter_phone="0736-7221035")
    assert (view.state, view.fields["drafter_phone"]) == ("signed", "0736-7221035")
    assert transitions(engine, key)[-1] == "revise"
    # the body: the engine sends it back to 签发 at once (resign), so no number can be drawn on it
    view = fire(engine, "chenjing", key, "revise", "复核：总体要求表述调整。", summary="调整后的总体要求。")
    assert view.state == "approve" and transitions(engine, key)[-2:] == ["revise", "resign"]
    resign = engine.history("zhaomin", key).history[-1]
    assert (resign.from_state, resign.to_state) == ("signed", "approve")
    assert document(engine, key, "resign", "发文稿纸")  # the 签发 form again, for the new text
    refused(ws, engine, "chenjing", key, "register", "not_an_exit", issue_date="2025-03-03")
    assert engine.show("zhaomin", key).numbers == {}
    # signed again: now the number is drawn, on the text signed
    fire(engine, "wangqiang", key, "approve", "同意。")
    view = fire(engine, "chenjing", key, "register", issue_date="2025-03-03")
    assert (view.state, view.numbers["doc_number"]) == ("registered", "某教发〔2025〕1号")
    approvals = [e.data["body_sha256"] for e in engine.history("zhaomin", key).history if e.transition == "approve"]
    assert len(approvals) == 2 and approvals[0] != approvals[1]
    audit_clean(ws)


def test_plan_a_non_body_revise_then_register(ws, engine):
    at(ws, "2025-03-03T09:00")
    key = plan_to_signed(engine)
    fire(engine, "chenjing", key, "revise", "复核：补联系电话。", drafter_phone="0736-7221035", urgency="加急")
    view = fire(engine, "chenjing", key, "register", issue_date="2025-03-03")
    assert (view.state, view.numbers) == ("registered", {"doc_number": "某教发〔2025〕1号"})
    assert "resign" not in transitions(engine, key)


# -- inspection: the 督导室's procedure ------------------------------------------------------------
FINDINGS = [{"category": "消防", "description": "教学楼二楼灭火器过期未更换", "requirement": "立即更换",
             "deadline": "2025-04-30"},
            {"category": "办学行为", "description": "课后服务收费公示不完整", "deadline": "2025-04-30"}]


def recheck_sets(row: int, result: str = "通过", status: str = "复查通过") -> dict:
    return {f"findings__{row}__recheck_result": result, f"findings__{row}__recheck_date": "2025-04-02",
            f"findings__{row}__evidence": "现场查看，照片", f"findings__{row}__verifier": "刘洋",
            f"findings__{row}__status": status}


def inspection_to_publish(ws, engine) -> str:
    """An inspection of SCHOOL_1 to 整改中 (publish), the 申辩 window waived."""
    at(ws, "2025-03-03T09:00")
    key = engine.create("liuyang", "inspection", values=inspection_values(
        notice_date="2025-03-03", visit_start="2025-03-10", visit_end="2025-03-11")).key
    fire(engine, "liuyang", key, "notify")
    fire(engine, "wufang", key, "self_evaluate", self_score="90", self_report="自评良好。")
    fire(engine, "liuyang", key, "start_visit")
    fire(engine, "liuyang", key, "edit", findings=json.dumps(FINDINGS, ensure_ascii=False),
         feedback_date="2025-03-11", feedback_notes="反馈。")
    fire(engine, "liuyang", key, "feedback")
    fire(engine, "wufang", key, "waive_appeal")
    fire(engine, "liuyang", key, "edit", score="88", conclusion="良好", overall="总体良好。")
    for login, transition in [("liuyang", "submit"), ("lina", "forward"), ("wangqiang", "approve")]:
        fire(engine, login, key, transition)
    fire(engine, "chenjing", key, "publish", notice_issued="2025-03-20", report_due="2025-04-10")
    assert state(engine, key) == "publish"
    return key


def test_inspection_the_whole_procedure(ws, engine):
    at(ws, "2025-03-03T09:00")
    key = engine.create("liuyang", "inspection", values=inspection_values(
        notice_date="2025-03-03", visit_start="2025-03-10", visit_end="2025-03-11")).key
    view = fire(engine, "liuyang", key, "notify")
    assert (view.state, view.numbers) == ("self_eval", {"notice_letter": "某教督函〔2025〕1号"})
    # the school's 自评, by the school's own user; an inspector holds no school role
    refused(ws, engine, "liuyang", key, "self_evaluate", "role_missing", self_score="90", self_report="自评")
    at(ws, "2025-03-07T10:00")
    view = fire(engine, "wufang", key, "self_evaluate", self_score="91.5", self_report="对照细则逐项自评。")
    assert view.state == "self_done" and view.fields["self_report"] == "对照细则逐项自评。"
    at(ws, "2025-03-10T09:00")
    fire(engine, "liuyang", key, "start_visit")
    fire(engine, "liuyang", key, "edit", findings=json.dumps(FINDINGS, ensure_ascii=False),
         lessons="8", feedback_date="2025-03-11", feedback_notes="督导组反馈主要问题，学校可在5个工作日内申辩。")
    # 现场反馈 on a Tuesday afternoon: the 申辩 window is the next 5 working days
    at(ws, "2025-03-11T16:00")
    assert fire(engine, "liuyang", key, "feedback").state == "appeal"
    due = due_after(dt.date(2025, 3, 11), 5)
    assert due == "2025-03-19T00:00:00+08:00"  # 12, 13, 14, 17, 18 March: no holiday in between
    assert engine.history("zhaomin", key).history[-1].data["due"] == {"timer:end_appeal": due}
    at(ws, "2025-03-12T09:00")
    view = fire(engine, "wufang", key, "lodge_appeal", appeal="收费标准已在校门公示栏公示，请核实。")
    assert view.state == "appeal"
    refused(ws, engine, "wufang", key, "waive_appeal", "expression_false")
    refused(ws, engine, "liuyang", key, "end_appeal", "not_an_exit")  # only tick ends the window
    at(ws, "2025-03-18T23:59:59")
    assert tick(engine) == [] and state(engine, key) == "appeal"
    at(ws, "2025-03-19T00:00:00")
    [done] = tick(engine)
    assert (done.key, done.name, done.outcome, done.target) == (key, "end_appeal", "fired", "reporting")
    ended = engine.history("zhaomin", key).history[-1]
    assert (ended.transition, ended.actor, ended.to_state) == ("end_appeal", SYSTEM_USER, "reporting")
    # the 督导报告: the conclusion is one of the four; the 申辩 must be answered
    at(ws, "2025-03-19T09:00")
    with pytest.raises(BadInput, match="优秀、良好、合格、不合格"):
        fire(engine, "liuyang", key, "edit", conclusion="通过")
    fire(engine, "liuyang", key, "edit", score="89", conclusion="良好", overall="办学规范。")
    refused(ws, engine, "liuyang", key, "submit", "expression_false")  # the 申辩 not answered
    fire(engine, "liuyang", key, "edit", appeal_response="经核实，网站未同步公示。")
    assert fire(engine, "liuyang", key, "submit").state == "review"
    fire(engine, "lina", key, "forward", "事实清楚。")
    refused(ws, engine, "liuyang", key, "approve", "role_missing")
    view = fire(engine, "wangqiang", key, "approve", "同意出具督导意见书。")
    assert (view.state, view.numbers["opinion_letter"]) == ("approved", "某教督函〔2025〕2号")
    view = fire(engine, "chenjing", key, "publish", notice_issued="2025-03-20", report_due="2025-04-10")
    assert (view.state, view.numbers["rectify_letter"]) == ("publish", "某教督函〔2025〕3号")
    # the school's 整改报告: measures and status only
    at(ws, "2025-03-31T09:00")
    error = refused(ws, engine, "wufang", key, "report", "field_locked", findings__1__description="灭火器已更换",
                    report_received="2025-03-31")
    assert "description" in error.message
    fire(engine, "wufang", key, "report", findings__1__measures="已更换灭火器12具。", findings__1__status="已报整改",
         findings__2__measures="已在网站公示。", findings__2__status="已报整改", report_received="2025-03-31")
    # 销号 only after a passed 复查, which only recheck_finding records
    refused(ws, engine, "liuyang", key, "close_finding", "expression_false", findings__1__status="已销号",
            findings__1__closed_on="2025-04-02")
    refused(ws, engine, "liuyang", key, "close_finding", "field_locked", findings__1__recheck_result="通过")
    # a published finding corrected: with its reason, recorded field by field
    refused(ws, engine, "liuyang", key, "correct", "field_missing", findings__2__requirement="报县教育局备案")
    fire(engine, "liuyang", key, "correct", "整改要求漏写备案，予以更正。", findings__2__requirement="报县教育局备案")
    corrected = engine.history("zhaomin", key).history[-1]
    assert corrected.comment == "整改要求漏写备案，予以更正。"
    [change] = field_changes(definition_of(ws, engine, key).fields, corrected.changes)
    assert (change.path, change.before, change.after) == ("findings.2.requirement", EMPTY, "报县教育局备案")
    before, after = corrected.changes["findings"]  # the whole list before and after, row 1 untouched
    assert before[0] == after[0] and (before[1]["requirement"], after[1]["requirement"]) == (None, "报县教育局备案")
    at(ws, "2025-04-02T09:00")
    refused(ws, engine, "liuyang", key, "recheck_finding", "expression_false", findings__1__recheck_result="通过",
            findings__1__status="复查通过")  # no date, evidence, verifier
    fire(engine, "liuyang", key, "recheck_finding", **recheck_sets(1), **recheck_sets(2))
    fire(engine, "liuyang", key, "close_finding", findings__1__status="已销号", findings__1__closed_on="2025-04-02")
    refused(ws, engine, "liuyang", key, "complete", "expression_false", recheck_date="2025-04-02",
            recheck_opinion="x")  # finding 2 is still open
    fire(engine, "liuyang", key, "close_finding", findings__2__status="已销号", findings__2__closed_on="2025-04-02")
    view = fire(engine, "liuyang", key, "complete", recheck_date="2025-04-02", recheck_opinion="全部整改到位。")
    assert (view.state, view.numbers["recheck_letter"]) == ("rechecked", "某教督函〔2025〕4号")
    view = fire(engine, "chenjing", key, "bulletin")
    assert view.state == "closed"
    assert view.numbers == {"notice_letter": "某教督函〔2025〕1号", "opinion_letter": "某教督函〔2025〕2号",
                            "rectify_letter": "某教督函〔2025〕3号", "recheck_letter": "某教督函〔2025〕4号",
                            "bulletin_number": "某教督〔2025〕1号"}
    # the documents are the 督导室's, under its numbers
    for transition, name, number in [("notify", "督导通知书", "某教督函〔2025〕1号"),
                                     ("approve", "督导意见书", "某教督函〔2025〕2号"),
                                     ("publish", "整改通知书", "某教督函〔2025〕3号"),
                                     ("bulletin", "督导结果通报", "某教督〔2025〕1号")]:
        doc = document(engine, key, transition, name)
        settings = context_of(ws, doc)["settings"]
        assert (settings["issuer_name"], settings["issuer_code"]) == (SUPERVISION, "某教督"), name
        text = docx_text(ws, key, doc)
        assert SUPERVISION in text and number in text, name
    audit_clean(ws)


def test_inspection_a_school_acts_for_its_own_school_only(ws, engine):
    at(ws, "2025-03-03T09:00")
    key = engine.create("liuyang", "inspection", values=inspection_values(
        school=SCHOOL_2, notice_date="2025-03-03", visit_start="2025-03-10", visit_end="2025-03-11")).key
    fire(engine, "liuyang", key, "notify")
    error = refused(ws, engine, "wufang", key, "self_evaluate", "wrong_unit", self_score="90", self_report="自评")
    assert SCHOOL_1 in error.message and SCHOOL_2 in error.message
    refused(ws, engine, "liuyang", key, "self_evaluate", "role_missing", self_score="90", self_report="自评")
    assert fire(engine, "chengang", key, "self_evaluate", self_score="90", self_report="自评").state == "self_done"
    # nor may a school user move an item of their own school to another's
    mine = engine.create("liuyang", "inspection", values=inspection_values(
        notice_date="2025-03-03", visit_start="2025-03-10", visit_end="2025-03-11")).key
    assert engine.show("zhaomin", mine).fields["school"] == SCHOOL_1
    fire(engine, "liuyang", mine, "notify")
    refused(ws, engine, "chengang", mine, "self_evaluate", "wrong_unit", self_score="90", self_report="自评")
    audit_clean(ws)


def test_inspection_report_and_recheck_open_only_their_sub_fields(ws, engine):
    key = inspection_to_publish(ws, engine)
    refused(ws, engine, "wufang", key, "report", "field_locked", findings__1__deadline="2025-12-31",
            report_received="2025-03-31")
    refused(ws, engine, "wufang", key, "report", "field_locked", findings__1__recheck_result="通过",
            report_received="2025-03-31")
    refused(ws, engine, "wufang", key, "report", "expression_false", findings__1__status="复查通过",
            report_received="2025-03-31")  # a passed 复查 is the inspector's to record
    refused(ws, engine, "wufang", key, "report", "expression_false", findings__1__status="已报整改",
            report_received="2025-03-31")  # reported without measures
    refused(ws, engine, "liuyang", key, "recheck_finding", "field_locked", findings__1__description="改写")
    refused(ws, engine, "liuyang", key, "recheck_finding", "field_locked", findings__1__closed_on="2025-04-02")
    audit_clean(ws)


def test_inspection_the_school_cannot_close_its_own_findings(ws, engine):
    key = inspection_to_publish(ws, engine)
    at(ws, "2025-03-31T15:00")  # the 整改报告 arrives that day (not before the notice, not in the future)
    refused(ws, engine, "wufang", key, "report", "expression_false", findings__1__measures="已更换。",
            findings__1__status="已报整改", report_received="2025-04-01")
    fire(engine, "wufang", key, "report", findings__1__measures="已更换。", findings__1__status="已报整改",
         findings__2__measures="已公示。", findings__2__status="已报整改", report_received="2025-03-31")
    fire(engine, "liuyang", key, "recheck_finding", **recheck_sets(1), **recheck_sets(2, "未通过", "复查未通过"))
    with pytest.raises(Refused):  # no closed_on, and 销号 is the inspector's (close_finding)
        fire(engine, "wufang", key, "report", findings__1__status="已销号", report_received="2025-03-31")
    with pytest.raises(Refused):  # the 复查 did not pass
        fire(engine, "wufang", key, "report", findings__2__status="复查通过", report_received="2025-03-31")


def test_inspection_a_school_user_is_not_offered_another_schools_item(ws, engine):
    at(ws, "2025-03-03T09:00")
    key = engine.create("liuyang", "inspection", values=inspection_values(
        school=SCHOOL_2, notice_date="2025-03-03", visit_start="2025-03-10", visit_end="2025-03-11")).key
    fire(engine, "liuyang", key, "notify")
    assert [a.id for a in engine.show("chengang", key).allowed] == ["self_evaluate"]
    assert [a.id for a in engine.show("wufang", key).allowed] == []
    assert [i.key for wl in engine.worklist("wufang") for i in wl.items] == []


def test_inspection_a_school_cannot_inspect_itself(ws, engine):
    at(ws, "2025-03-03T09:00")
    with pytest.raises(Refused):  # the 督导通知书 in the 督导室's name, from the 督导室's sequence
        key = engine.create("wufang", "inspection", values=inspection_values(
            notice_date="2025-03-03", visit_start="2025-03-10", visit_end="2025-03-11")).key
        fire(engine, "wufang", key, "notify")


# -- clean_school: school → county → city ----------------------------------------------------------
def application(**extra) -> dict:
    """An application's values; without a school the applicant's unit fills it."""
    values = clean_school_values(**extra)
    if "school" not in extra:
        del values["school"]
    return values


def clean_school_to_publicity(ws, engine) -> str:
    at(ws, "2025-03-03T09:00")
    key = engine.create("chengang", "clean_school", values=application()).key
    fire(engine, "chengang", key, "submit")
    fire(engine, "lina", key, "forward", county_opinion="同意推荐。")
    fire(engine, "wangqiang", key, "recommend")
    fire(engine, "qianyu", key, "evaluate", city_team="市评估组", city_date="2025-03-03", city_score="92",
         city_opinion="达到示范校标准。")
    fire(engine, "fenglei", key, "approve", "集体研究同意。", meeting_date="2025-03-03",
         publicity_start="2025-03-04", publicity_end="2025-03-10", publicity_contact="0736-7100231")
    assert state(engine, key) == "publicity"
    return key


def test_clean_school_the_whole_procedure(ws, engine):
    at(ws, "2025-03-03T09:00")
    before = snapshot(ws)
    with pytest.raises(Refused) as caught:  # a school applies for itself only
        engine.create("chengang", "clean_school", values=application(school=SCHOOL_1))
    assert caught.value.reason == "wrong_unit" and snapshot(ws) == before
    view = engine.create("chengang", "clean_school", values=application())
    key = view.key
    assert view.fields["school"] == SCHOOL_2 and view.title == f"{SCHOOL_2}清廉学校认定申报（2025年度）"
    refused(ws, engine, "chengang", key, "edit", "wrong_unit", school=SCHOOL_1)
    assert fire(engine, "chengang", key, "submit").state == "review"
    refused(ws, engine, "lina", key, "forward", "field_missing")  # the 初审意见
    assert fire(engine, "lina", key, "forward", county_opinion="同意推荐。", county_rank="1").state == "recommend"
    refused(ws, engine, "lina", key, "recommend", "role_missing")
    view = fire(engine, "wangqiang", key, "recommend", "同意推荐。")
    assert (view.state, view.numbers) == ("assess", {"recommend_number": "某教发〔2025〕1号"})
    recommendation = document(engine, key, "recommend", "推荐文件")
    assert context_of(ws, recommendation)["settings"]["issuer_name"] == BUREAU
    assert "某教发〔2025〕1号" in docx_text(ws, key, recommendation)
    # the county's one 发文字号 sequence: a plan registered next gets the next number
    plan = plan_to_signed(engine)
    assert fire(engine, "chenjing", plan, "register", issue_date="2025-03-03").numbers == {
        "doc_number": "某教发〔2025〕2号"}
    # the city's steps: the county cannot do them, and 评估 cannot be skipped
    refused(ws, engine, "fenglei", key, "approve", "not_an_exit", meeting_date="2025-03-03")
    for login in ("lina", "wangqiang"):
        refused(ws, engine, login, key, "evaluate", "role_missing", city_team="县", city_date="2025-03-03",
                city_score="99", city_opinion="好")
    view = fire(engine, "qianyu", key, "evaluate", city_team="市评估组（5人）", city_date="2025-03-03",
                city_score="92", city_opinion="达到示范校标准。")
    assert view.state == "deliberate"
    assert context_of(ws, document(engine, key, "evaluate", "审批表"))["settings"]["issuer_name"] == CITY
    dates = dict(meeting_date="2025-03-03", publicity_start="2025-03-04", publicity_end="2025-03-10",
                 publicity_contact="0736-7100231")
    for login in ("lina", "wangqiang", "qianyu"):
        refused(ws, engine, login, key, "approve", "role_missing", **dates)
    refused(ws, engine, "fenglei", key, "approve", "expression_false",  # the 公示 starts after today
            **{**dates, "publicity_start": "2025-03-03"})
    refused(ws, engine, "fenglei", key, "approve", "expression_false",  # meeting after the 公示 starts
            **{**dates, "meeting_date": "2025-03-05"})
    view = fire(engine, "fenglei", key, "approve", "经局务会议集体研究，同意认定。", **dates)
    assert view.state == "publicity"
    due = due_after(dt.date(2025, 3, 3), 5)  # 4, 5, 6, 7, 10 March
    assert engine.history("zhaomin", key).history[-1].data["due"] == {"timer:end_publicity": due}
    assert CITY in docx_text(ws, key, document(engine, key, "approve", "公示公告"))
    refused(ws, engine, "hexin", key, "name", "not_an_exit", naming_date="2025-03-12", valid_until="2028-12-31")
    at(ws, "2025-03-10T23:59:59")
    assert tick(engine) == [] and state(engine, key) == "publicity"
    at(ws, "2025-03-11T00:00:00")
    [done] = tick(engine)
    assert (done.name, done.outcome, done.target) == ("end_publicity", "fired", "publicized")
    assert document(engine, key, "end_publicity", "公示结果")
    # 命名决定 and 授牌, under the city's numbers
    at(ws, "2025-03-12T09:00")
    refused(ws, engine, "wangqiang", key, "name", "role_missing", naming_date="2025-03-12", valid_until="2028-12-31")
    refused(ws, engine, "hexin", key, "name", "expression_false", naming_date="2025-03-12", valid_until="2025-03-01")
    view = fire(engine, "hexin", key, "name", naming_date="2025-03-12", valid_until="2028-12-31")
    assert (view.state, view.numbers["naming_number"]) == ("named", "某市教发〔2025〕1号")
    decision = document(engine, key, "name", "命名决定")
    assert CITY in docx_text(ws, key, decision) and "某市教发〔2025〕1号" in docx_text(ws, key, decision)
    view = fire(engine, "hexin", key, "award", award_date="2025-03-14")
    assert (view.state, view.numbers["certificate_number"]) == ("publish", "某市教廉证〔2025〕1号")
    assert document(engine, key, "award", "认定证书")
    # 复核: kept; then 限期整改 and its 验收
    refused(ws, engine, "qianyu", key, "recheck", "expression_false", recheck_date="2025-06-02",
            recheck_result="限期整改")
    assert fire(engine, "qianyu", key, "recheck", recheck_date="2025-06-02", recheck_result="保持").state == "publish"
    view = fire(engine, "qianyu", key, "order_rectify", recheck_date="2025-09-01", recheck_result="限期整改",
                rectify_items="完善小微权力清单。", rectify_due="2025-10-31")
    assert (view.state, view.numbers["rectify_letter"]) == ("rectifying", "某市教发函〔2025〕1号")
    assert fire(engine, "qianyu", key, "rectify_pass", rectify_result="整改到位。").state == "publish"
    # 撤销 with a numbered 通报 (the city's 发文字号, after the 命名决定)
    refused(ws, engine, "fenglei", key, "revoke", "field_missing", revoke_reason="班子成员违纪")  # no comment
    refused(ws, engine, "qianyu", key, "revoke", "role_missing", "违纪", revoke_reason="班子成员违纪")
    view = fire(engine, "fenglei", key, "revoke", "触及一票否决情形。", revoke_reason="班子成员违纪受处分")
    assert (view.state, view.numbers["revoke_number"]) == ("revoked", "某市教发〔2025〕2号")
    bulletin = document(engine, key, "revoke", "撤销通报")
    assert "某市教发〔2025〕2号" in docx_text(ws, key, bulletin) and CITY in docx_text(ws, key, bulletin)
    assert transitions(engine, key) == [
        "create", "submit", "forward", "recommend", "evaluate", "approve", "end_publicity", "name", "award",
        "recheck", "order_rectify", "rectify_pass", "revoke"]
    audit_clean(ws)


def test_clean_school_score_band_and_veto(ws, engine):
    at(ws, "2025-03-03T09:00")
    vetoed = engine.create("chengang", "clean_school", values=application(
        veto_items=[{"item": "发生重大安全责任事故", "hit": True}])).key
    refused(ws, engine, "chengang", vetoed, "submit", "expression_false")
    key = engine.create("chengang", "clean_school", values=application()).key  # 示范校: 90 points
    fire(engine, "chengang", key, "submit")
    fire(engine, "lina", key, "forward", county_opinion="同意推荐。")
    fire(engine, "wangqiang", key, "recommend")
    fire(engine, "qianyu", key, "evaluate", city_team="市评估组", city_date="2025-03-03", city_score="89.5",
         city_opinion="未达示范校标准。")
    dates = dict(meeting_date="2025-03-03", publicity_start="2025-03-04", publicity_end="2025-03-10",
                 publicity_contact="电话")
    refused(ws, engine, "fenglei", key, "approve", "expression_false", **dates)
    view = fire(engine, "fenglei", key, "reject", "未达到示范校认定分数线。", meeting_date="2025-03-03")
    assert (view.state, view.numbers["refusal_letter"]) == ("rejected", "某市教发函〔2025〕1号")
    # another school's application: chengang, a user of another school, acts for his school only
    other = engine.create("wufang", "clean_school", values=application()).key
    assert engine.show("zhaomin", other).fields["school"] == SCHOOL_1
    refused(ws, engine, "chengang", other, "submit", "wrong_unit")
    refused(ws, engine, "chengang", other, "edit", "wrong_unit", contact="x")
    audit_clean(ws)


def test_clean_school_the_publicity_end_announced_is_when_it_ends(ws, engine):
    key = clean_school_to_publicity(ws, engine)  # 公示 from 2025-03-04 to 2025-03-10: 5 working days
    fire(engine, "fenglei", key, "object", "异议成立，重新研究。", objection="有异议")
    with pytest.raises(Refused):  # a 公示 announced for one day, which tick would end after five
        fire(engine, "fenglei", key, "approve", meeting_date="2025-03-03", publicity_start="2025-03-04",
             publicity_end="2025-03-04", publicity_contact="电话")


def test_clean_school_expires_by_tick_after_valid_until(ws, engine):
    key = clean_school_to_publicity(ws, engine)
    at(ws, "2025-03-11T09:00")
    tick(engine)
    fire(engine, "hexin", key, "name", naming_date="2025-03-11", valid_until="2025-06-30")
    fire(engine, "hexin", key, "award", award_date="2025-03-12")
    assert engine.history("zhaomin", key).history[-1].data["due"] == {
        "timer:expire": "2025-07-01T00:00:00+08:00"}
    at(ws, "2025-06-30T23:59:59")
    assert tick(engine) == [] and state(engine, key) == "publish"
    at(ws, "2025-07-01T00:00:00")
    [done] = tick(engine)
    assert (done.name, done.outcome, done.target) == ("expire", "fired", "expired")
    assert state(engine, key) == "expired"
    assert tick(engine) == []
    audit_clean(ws)
