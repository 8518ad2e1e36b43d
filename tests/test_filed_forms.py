"""The documents filed with a decision show it, and clean_school hands out one form per decision.

- The 发文稿纸 / 审批表 rendered by the decision transition (签发, 审定, 评估通过) is a rendering of
  what the returned form said: ☑ on the option taken (☐ on the others), the signer's name, the
  date and the 批示; read back like a returned form, it gives the same decision.
- The reviewer's step (核稿, 审核, 初审) has its own rows, filled from the forward transition's
  comment and actor, also on the form that step hands out; never in a 办理意见 row.
- clean_school: the county's forward files a 初审推荐表, not a second 审批表; the only approval
  form is the one `evaluate` hands out, with the 公示 period already set, so a form on which the
  signer filled in only the decision, 批示, 签批人 and 日期 is applied without refusal.

Real .docx files throughout: rendered by the engine, filled with workflow/forms/fill.py, applied
with `gongwen ingest`, read back with python-docx."""

from __future__ import annotations

import hashlib
import io
import json
import types

import docx
import pytest
from helpers import clean_school_values, inspection_values, plan_values

from workflow.definition.model import Transition
from workflow.documents import produce
from workflow.documents.renderer import render
from workflow.engine import registry
from workflow.errors import Refused
from workflow.forms import fill as formfill
from workflow.forms import read as reader
from workflow.store import blobs

DATE = "2025年3月10日"  # the tests' clock: GONGWEN_NOW 2025-03-10
REVIEW_OPINION = "文稿规范，同意呈送签发。"
BATCH = "同意印发，请办公室抓紧印制。"


# -- helpers -----------------------------------------------------------------------------------
def documents(engine, key):
    """(event, document record) of every document of the item, oldest first."""
    return [(event, doc) for event in engine.history("zhaomin", key).history
            for doc in event.data.get("documents", [])]


def document_bytes(workspace, key, doc) -> bytes:
    return (workspace.root / "documents" / key / doc["file"]).read_bytes()


def the_form(engine, workspace, key):
    """The latest approval form handed out: bytes, the event that printed it, its spec."""
    event, doc = [(e, d) for e, d in documents(engine, key) if "form_id" in d][-1]
    with workspace.db.read() as session:
        spec = registry.pinned(session, engine.get_item(session, key).definition_hash) \
            .transitions[event.transition].form
    return document_bytes(workspace, key, doc), event, spec


def filed(engine, workspace, key, transition, name):
    """The document `name` rendered by the item's latest `transition` event."""
    event = [e for e in engine.history("zhaomin", key).history if e.transition == transition][-1]
    [doc] = [d for d in event.data["documents"] if d["name"] == name]
    assert "form_id" not in doc  # a filed copy, not a form to hand out
    return document_bytes(workspace, key, doc), doc


def cells(blob: bytes) -> dict[str, str]:
    """label → value of the form's rows (its first table: label, value, label, value), read with
    python-docx."""
    found: dict[str, str] = {}
    for row in docx.Document(io.BytesIO(blob)).tables[0].rows:
        row_cells = list(dict.fromkeys(row.cells))  # a merged cell repeats
        for index in range(0, len(row_cells) - 1, 2):
            found["".join(row_cells[index].text.split())] = row_cells[index + 1].text.strip()
    return found


def history_rows(blob: bytes) -> list[list[str]]:
    """The rows of the 办理记录 table (the last table), header included."""
    table = docx.Document(io.BytesIO(blob)).tables[-1]
    return [[c.text.strip() for c in dict.fromkeys(row.cells)] for row in table.rows]


def ingest(gw, path, clerk="chenjing") -> dict:
    result = gw("--as", clerk, "--json", "ingest", path)
    [row] = json.loads(result.output)["results"]
    assert result.exit_code == 0 and row["ok"], result.output
    return row


def plan_to_approve(engine) -> str:
    key = engine.create("zhangwei", "plan", values=plan_values(copies=30)).key
    engine.fire("zhangwei", key, "submit", "请审核。")
    engine.fire("lina", key, "forward", REVIEW_OPINION)
    return key


def assert_rerenders(workspace, blob: bytes, doc: dict) -> dict:
    """The stored template and context render the stored bytes again, byte for byte; the context."""
    with workspace.db.read() as session:
        template = blobs.load_blob(session, doc["template_sha256"])
        context = json.loads(blobs.load_blob(session, doc["context_sha256"]))
    assert render(template, context, doc["template"]) == blob
    assert hashlib.sha256(blob).hexdigest() == doc["sha256"]
    return context


# -- 4. the filed 稿纸 shows the decision ---------------------------------------------------------
def test_the_form_the_supervisor_receives_has_the_review_in_its_own_rows(engine, workspace):
    key = plan_to_approve(engine)
    blob, event, spec = the_form(engine, workspace, key)
    assert event.transition == "forward"
    form = cells(blob)
    assert form["核稿意见"] == REVIEW_OPINION
    assert (form["核稿人"], form["核稿日期"]) == ("李娜", DATE)
    assert "办理意见" not in form and "办理人" not in form
    # the signer's rows are empty: the options are unticked checkboxes
    assert (spec.decision_label, spec.signer_label, spec.date_label) == ("签发意见", "签发人", "签发日期")
    assert reader.read(blob, spec.fill_labels).cells == {
        "签发意见": "☐同意\u3000☐不同意\u3000☐退回修改", "领导批示": "", "签发人": "", "签发日期": ""}
    # the step is in the 办理记录, last
    assert history_rows(blob)[-1][1:4] == ["核稿通过，呈送签发", "李娜（办公室副主任）", REVIEW_OPINION]


def test_the_稿纸_filed_after_a_returned_form_shows_the_decision(gw, engine, workspace, tmp_path):
    key = plan_to_approve(engine)
    blob, event, spec = the_form(engine, workspace, key)
    returned = tmp_path / "签发_已签.docx"
    returned.write_bytes(formfill.fill(blob, spec, "同意", opinion=BATCH, signer="王强", date=DATE))
    row = ingest(gw, returned)
    assert (row["transition"], row["state"], row["signer"]) == ("approve", "signed", "wangqiang")

    sheet, doc = filed(engine, workspace, key, "approve", "发文稿纸")
    shown = cells(sheet)
    assert shown["签发意见"] == "☑同意\u3000☐不同意\u3000☐退回修改"
    assert shown["领导批示"] == BATCH
    assert (shown["签发人"], shown["签发日期"]) == ("王强", DATE)
    assert shown["核稿意见"] == REVIEW_OPINION and (shown["核稿人"], shown["核稿日期"]) == ("李娜", DATE)
    assert "办理意见" not in shown
    # read back like a returned form, the filed copy says what the returned one said
    again = reader.read(sheet, spec.fill_labels).cells
    assert reader.decide(again["签发意见"], again["领导批示"], list(spec.decisions)) == ("同意", "ticked")
    original = reader.read(returned.read_bytes(), spec.fill_labels).cells
    assert (again["领导批示"], again["签发人"], again["签发日期"]) == \
        (original["领导批示"], original["签发人"], original["签发日期"])
    # the context says it in plain data, and re-renders the filed bytes
    context = assert_rerenders(workspace, sheet, doc)
    decision = context["decision"]
    assert (decision["option"], decision["signer"], decision["signer_name"], decision["opinion"],
            decision["date"], decision["form"]) == ("同意", "wangqiang", "王强", BATCH, "2025-03-10",
                                                    f"{key}#{event.seq}")
    assert [o["mark"] + o["option"] for o in decision["options"]] == ["☑同意", "☐不同意", "☐退回修改"]
    assert (context["review"]["actor_name"], context["review"]["opinion"]) == ("李娜", REVIEW_OPINION)
    # the decision step closes the 办理记录
    assert history_rows(sheet)[-1][1:4] == ["签发", "王强（局长）", BATCH]


def test_a_decision_entered_with_do_is_filed_the_same_way(engine, workspace):
    key = plan_to_approve(engine)
    engine.fire("wangqiang", key, "approve", "同意。")
    sheet, doc = filed(engine, workspace, key, "approve", "发文稿纸")
    shown = cells(sheet)
    assert (shown["签发意见"], shown["领导批示"], shown["签发人"], shown["签发日期"]) == \
        ("☑同意\u3000☐不同意\u3000☐退回修改", "同意。", "王强", DATE)
    assert (shown["核稿意见"], shown["核稿人"]) == (REVIEW_OPINION, "李娜")
    assert_rerenders(workspace, sheet, doc)


def test_a_复核_after_signing_is_not_the_核稿_and_the_new_decision_names_no_spent_form(engine, workspace):
    key = plan_to_approve(engine)
    engine.fire("wangqiang", key, "approve", "同意。")
    engine.fire("chenjing", key, "recheck", "文中引用文号有误，请签发人复核。")
    engine.fire("wangqiang", key, "approve", "已复核，同意印发。")
    sheet, doc = filed(engine, workspace, key, "approve", "发文稿纸")
    shown = cells(sheet)
    assert (shown["核稿意见"], shown["核稿人"]) == (REVIEW_OPINION, "李娜")
    assert (shown["领导批示"], shown["签发人"]) == ("已复核，同意印发。", "王强")
    context = assert_rerenders(workspace, sheet, doc)
    assert context["decision"]["option"] == "同意" and context["decision"]["form"] is None


def test_documents_before_any_review_or_decision_leave_those_rows_empty(engine, workspace):
    key = engine.create("zhangwei", "plan", values=plan_values()).key
    engine.fire("zhangwei", key, "submit", "请审核。")
    [(_, doc)] = documents(engine, key)
    sheet = document_bytes(workspace, key, doc)
    shown = cells(sheet)
    assert (shown["核稿意见"], shown["核稿人"], shown["核稿日期"]) == ("", "", "")
    assert (shown["领导批示"], shown["签发人"], shown["签发日期"]) == ("", "", "")
    context = assert_rerenders(workspace, sheet, doc)
    assert context["decision"] is None and context["review"] is None


def test_the_审批表_of_inspection_filed_after_the_decision(gw, engine, workspace, tmp_path):
    key = engine.create("liuyang", "inspection", values=inspection_values(
        self_score="80", self_report="自评", conclusion="通过", overall="总体良好")).key
    for login, transition in [("liuyang", "notify"), ("liuyang", "start_visit"), ("liuyang", "submit")]:
        engine.fire(login, key, transition)
    engine.fire("lina", key, "forward", "报告客观，同意报请审定。")
    blob, _, spec = the_form(engine, workspace, key)
    form = cells(blob)
    assert (form["审核意见"], form["审核人"], form["审核日期"]) == ("报告客观，同意报请审定。", "李娜", DATE)
    assert "办理意见" not in form
    returned = tmp_path / "审定_已签.docx"
    returned.write_bytes(formfill.fill(blob, spec, "同意", opinion="同意出具督导意见书。", signer="王强",
                                       date=DATE, how="☑"))
    assert ingest(gw, returned)["state"] == "approved"
    sheet, doc = filed(engine, workspace, key, "approve", "审批表")
    shown = cells(sheet)
    assert (shown["审批意见"], shown["领导批示"], shown["签批人"], shown["日期"]) == \
        ("☑同意\u3000☐不同意\u3000☐退回修改", "同意出具督导意见书。", "王强", DATE)
    assert (shown["审核意见"], shown["审核人"]) == ("报告客观，同意报请审定。", "李娜")
    assert_rerenders(workspace, sheet, doc)


# -- 5. clean_school: one form per decision, filled by the signer alone ---------------------------
def clean_school_to_form(engine, by="lina", **assessment) -> str:
    """A clean_school item whose 审批表 `by` printed at `evaluate` (the city team's reviewer, or
    the office; an office user who did may not also enter the decision on the signer's behalf)."""
    key = engine.create("zhangwei", "clean_school", values=clean_school_values()).key
    engine.fire("zhangwei", key, "submit")
    engine.fire("lina", key, "forward", "材料齐全。", sets=[("county_opinion", "材料齐全，同意推荐。"),
                                                          ("county_rank", "1")])
    values = {"city_team": "市评估组", "city_score": "93", "publicity_start": "2025-03-11",
              "publicity_end": "2025-03-17", **assessment}
    # the city team's assessment and the 公示 period are recorded, then the form is printed
    engine.fire(by, key, "evaluate", "评估材料已录入，呈报审定。", sets=list(values.items()))
    return key


def test_clean_school_hands_out_one_approval_form_per_decision(engine, workspace):
    key = clean_school_to_form(engine, by="chenjing")  # the office sets the 公示 period and prints
    docs = documents(engine, key)
    assert [(e.transition, d["name"]) for e, d in docs] == [
        ("submit", "申报表"), ("forward", "初审推荐表"), ("evaluate", "审批表")]
    assert [d["name"] for _, d in docs if "form_id" in d] == ["审批表"]
    # the county's 初审推荐表 is not a form to sign: no 校验码, no decision rows
    _, recommendation = docs[1]
    county = cells(document_bytes(workspace, key, recommendation))
    assert county["初审意见"] == "材料齐全，同意推荐。" and county["初审人"].startswith("李娜")
    assert not {"审批意见", "领导批示", "签批人"} & set(county)
    # the form shows the 公示 period the office set, and the 初审 by the county
    blob, _, spec = the_form(engine, workspace, key)
    form = cells(blob)
    assert form["公示期"] == "2025年3月11日至2025年3月17日"
    assert (form["初审人"], form["初审日期"]) == ("李娜", DATE)
    assert spec.fill_labels == {"审批意见", "领导批示", "签批人", "日期"}
    assert {label for label in spec.fill_labels if form[label] == ""} == {"领导批示", "签批人", "日期"}


def test_no_form_is_printed_before_the_公示_period_is_set(engine, workspace):
    key = engine.create("zhangwei", "clean_school", values=clean_school_values()).key
    engine.fire("zhangwei", key, "submit")
    engine.fire("lina", key, "forward", sets=[("county_opinion", "同意推荐。")])
    with pytest.raises(Refused) as refused:
        engine.fire("chenjing", key, "evaluate", sets=[("city_score", "93")])
    assert refused.value.reason == "field_missing"
    assert set(refused.value.details["fields"]) == {"publicity_start", "publicity_end"}
    with pytest.raises(Refused) as refused:
        engine.fire("chenjing", key, "evaluate", sets=[("city_score", "93"), ("publicity_start", "2025-03-17"),
                                                      ("publicity_end", "2025-03-11")])
    assert refused.value.reason == "expression_false"
    assert not [d for _, d in documents(engine, key) if "form_id" in d]


@pytest.mark.parametrize("decision, opinion, state, printed_by, clerk", [
    ("同意", "同意认定，进入公示。", "publicity", "lina", "chenjing"),
    ("不同意", "不同意认定。", "rejected", "lina", "chenjing"),
    # the office printed it: the signer applies the form himself (or another office user does)
    ("同意", "同意认定，进入公示。", "publicity", "chenjing", "wangqiang"),
])
def test_a_form_filled_by_the_signer_alone_is_applied(gw, engine, workspace, tmp_path, decision, opinion, state,
                                                      printed_by, clerk):
    key = clean_school_to_form(engine, by=printed_by)
    blob, event, spec = the_form(engine, workspace, key)
    returned = tmp_path / "审批表_已签.docx"
    returned.write_bytes(formfill.fill(blob, spec, decision, opinion=opinion, signer="王强", date=DATE))
    row = ingest(gw, returned, clerk)
    assert (row["decision"], row["state"], row["signer"]) == (decision, state, "wangqiang")
    if decision != "同意":
        return
    sheet, doc = filed(engine, workspace, key, "approve", "审批表")
    shown = cells(sheet)
    assert (shown["审批意见"], shown["领导批示"], shown["签批人"], shown["日期"]) == \
        ("☑同意\u3000☐不同意\u3000☐退回修改", opinion, "王强", DATE)
    assert (shown["初审人"], shown["公示期"]) == ("李娜", "2025年3月11日至2025年3月17日")
    context = assert_rerenders(workspace, sheet, doc)
    assert context["decision"]["form"] == f"{key}#{event.seq}"


def test_each_round_of_decision_has_its_own_single_form(gw, engine, workspace, tmp_path):
    key = clean_school_to_form(engine)
    blob, _, spec = the_form(engine, workspace, key)
    first = tmp_path / "first.docx"
    first.write_bytes(formfill.fill(blob, spec, "退回修改", opinion="请补充佐证材料。", signer="王强", date=DATE))
    assert ingest(gw, first)["state"] == "returned"
    engine.fire("zhangwei", key, "submit")
    engine.fire("lina", key, "forward", "已补充。")
    engine.fire("lina", key, "evaluate", "重新呈报。")  # the assessment and 公示 period are kept
    forms = [(e.transition, d["name"]) for e, d in documents(engine, key) if "form_id" in d]
    assert forms == [("evaluate", "审批表"), ("evaluate", "审批表")]
    blob, _, spec = the_form(engine, workspace, key)
    second = tmp_path / "second.docx"
    second.write_bytes(formfill.fill(blob, spec, "同意", opinion="同意。", signer="王强", date=DATE))
    assert ingest(gw, second)["state"] == "publicity"


# -- the context entries, as plain functions of the history ------------------------------------
def _event(seq, transition, from_state, to_state, actor="lina", comment="", time="2025-03-01T09:00:00"):
    return types.SimpleNamespace(seq=seq, transition=transition, from_state=from_state, to_state=to_state,
                                 actor=actor, comment=comment, time=time)


def test_the_decision_date_is_the_one_written_on_the_returned_form(workspace):
    definition = registry.current(workspace, "plan")
    approve: Transition = definition.transitions["approve"]
    current = {"transition": "approve", "from_state": "approve", "to_state": "signed", "actor": "wangqiang",
               "actor_name": "王强", "actor_title": "局长", "comment": "同意。", "date": "2025-03-10",
               "time": "2025-03-10T09:00:00"}
    earlier = [_event(1, "create", None, "draft", "zhangwei"), _event(2, "submit", "draft", "review", "zhangwei"),
               _event(3, "forward", "review", "approve", "lina", REVIEW_OPINION)]
    decision = produce.decision_context(definition, "JH-2025-0001", approve, current, earlier)
    assert (decision["date"], decision["form"], decision["from_form"]) == ("2025-03-10", "JH-2025-0001#3", False)
    for written, iso in [("2025年3月8日", "2025-03-08"), ("2025-3-8", "2025-03-08"), ("2025.03.08", "2025-03-08"),
                         ("三月八日", "2025-03-10"), ("2025年2月30日", "2025-03-10")]:
        returned = {"signed_on": written, "decision": "同意"}
        decision = produce.decision_context(definition, "JH-2025-0001", approve, current, earlier, returned)
        assert (decision["date"], decision["signed_on"], decision["from_form"]) == (iso, written, True)
    # not a decision of a form: none
    assert produce.decision_context(definition, "JH-2025-0001", definition.transitions["publish"],
                                    {**current, "from_state": "signed"}, earlier) is None
