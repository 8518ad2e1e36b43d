"""会签 (countersign): the offices the drafter chose give their opinions, each a signed event of its
own, from the command line or a returned 会签单; the step completes when the quorum agrees (all,
N of M, a majority), a 不同意 vetoes or counts against it as declared, worklists and `show` say
who has yet to sign, the 稿纸's 会签 row lists each office's opinion, signer and date, and replay
and verify follow it all. Refusals are one line, their reason, and nothing changed."""

from __future__ import annotations

import json
import re

import docx
import pytest
from helpers import add_users, fire, plan_values, snapshot
from test_ingest import set_cell

from workflow.audit.replay import replay
from workflow.audit.verify import verify
from workflow.definition import loader
from workflow.engine import countersign
from workflow.errors import DefinitionError
from workflow.forms import fill as formfill
from workflow.forms.ingest import ingest

OFFICES = [("zhoujie", "周杰", "人事股股长", ["personnel"]), ("wuli", "吴莉", "基础教育股股长", ["basic_edu"])]


@pytest.fixture
def offices(workspace):
    add_users(workspace, OFFICES)
    return workspace


def to_countersign(engine, offices="计划财务股、人事股", **extra) -> str:
    key = engine.create("zhangwei", "plan", values=plan_values(cosign_offices=offices, **extra)).key
    fire(engine, "zhangwei", key, "submit")
    assert fire(engine, "lina", key, "to_countersign", "同意。").state == "countersign"
    return key


def set_policy(workspace, quorum, disagree) -> None:
    """The workspace's plan asks `quorum` of the offices chosen, with this 不同意 policy."""
    path = workspace.definitions_dir / "plan.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("      quorum: all\n", f"      quorum: {quorum}\n")
    text = text.replace("      disagree: veto ", f"      disagree: {disagree} ")
    path.write_text(text, encoding="utf-8")


def doc_text(path) -> str:
    document = docx.Document(str(path))
    cells = [c.text for t in document.tables for r in t.rows for c in r.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


# -- the whole step -------------------------------------------------------------------------------
def test_every_office_agrees_then_the_supervisor_gets_the_form(engine, workspace, offices, gw):
    key = to_countersign(engine)
    shown = engine.show("lina", key).countersign
    assert shown["pending"] == ["计划财务股", "人事股"] and shown["need"] == 2
    # each office sees it on its 待会签 list; the drafter and the 局长 do not
    for login in ("sunhua", "zhoujie"):
        assert [(w.worklist, [i.key for i in w.items]) for w in engine.worklist(login)] == [("countersign", [key])]
    assert not any(w.worklist == "countersign" for w in engine.worklist("wangqiang"))
    # the forward printed one 会签单 per office
    documents = [d for d in engine.documents("lina", key).documents if d.get("form_id")]
    assert [d["name"] for d in documents] == ["会签单（计划财务股）", "会签单（人事股）"]
    assert [d["form_id"] for d in documents] == [f"{key}#3-finance", f"{key}#3-personnel"]

    view = countersign.record(engine, "sunhua", key, "同意", "经费安排与预算一致。")
    assert view.state == "countersign" and view.countersign["pending"] == ["人事股"]
    human = gw("--as", "lina", "show", key).output
    assert "计划财务股: 同意：经费安排与预算一致。 — 孙华 (sunhua)" in human and "yet to sign: 人事股" in human
    assert not any(w.worklist == "countersign" for w in engine.worklist("sunhua"))

    result = gw("--as", "zhoujie", "countersign", key, "同意", "-m", "人员编制无异议。")
    assert result.exit_code == 0 and "→ approve" in result.output, result.output
    events = engine.history("zhaomin", key).history
    opinions = [e for e in events if e.transition == "countersign"]
    assert [(e.actor, e.data["countersign"]["party"], e.data["countersign"]["decision"], e.comment)
            for e in opinions] == [("sunhua", "finance", "同意", "经费安排与预算一致。"),
                                   ("zhoujie", "personnel", "同意", "人员编制无异议。")]
    assert all(e.signature == "valid" and e.signed_by == e.actor for e in opinions)  # each its own signed event
    assert events[-1].transition == "countersigned" and events[-1].to_state == "approve"

    # the 稿纸 handed to the 局长 (and the one filed with 签发) lists each office, signer and date
    fire(engine, "wangqiang", key, "approve", "同意。")
    filed = workspace.root / "documents" / key / engine.documents("zhaomin", key).documents[-1]["file"]
    text = doc_text(filed)
    assert "计划财务股：同意，经费安排与预算一致。　孙华　2025年3月10日" in text
    assert "人事股：同意，人员编制无异议。　周杰　2025年3月10日" in text

    assert replay(workspace, rerender=True).ok
    assert verify(workspace.db).ok


def test_a_disagreement_vetoes_and_returns_the_draft_with_the_reason(engine, workspace, offices):
    key = to_countersign(engine)
    view = countersign.record(engine, "zhoujie", key, "不同意", "涉及人员调整，须先经局务会研究。")
    assert view.state == "returned"
    last = engine.history("zhaomin", key).history[-1]
    assert last.transition == "countersign_return" and "人事股不同意：涉及人员调整" in last.comment
    returned = workspace.root / "documents" / key / last.data["documents"][0]["file"]
    assert "涉及人员调整，须先经局务会研究。" in doc_text(returned)
    # resubmitted, a new round asks every office again
    fire(engine, "zhangwei", key, "submit")
    fire(engine, "lina", key, "to_countersign")
    assert engine.show("lina", key).countersign["pending"] == ["计划财务股", "人事股"]
    assert replay(workspace).ok


def test_two_of_three_with_disagreement_counting_against(engine, workspace, offices):
    set_policy(workspace, 2, "count")
    key = to_countersign(engine, "计划财务股、人事股、基础教育股")
    assert countersign.record(engine, "zhoujie", key, "不同意", "不同意。").state == "countersign"  # 1 against
    assert countersign.record(engine, "sunhua", key, "同意").state == "countersign"  # 1 of 2
    view = countersign.record(engine, "wuli", key, "同意")
    assert view.state == "approve"  # 2 of 3 agreed
    assert "2个同意，1个不同意（2/3同意）" in engine.history("zhaomin", key).history[-1].comment
    # two against: the quorum can no longer be reached, so it is decided at once
    other = to_countersign(engine, "计划财务股、人事股、基础教育股", title="另一份")
    countersign.record(engine, "zhoujie", other, "不同意")
    assert countersign.record(engine, "wuli", other, "不同意").state == "returned"
    assert engine.show("zhaomin", other).countersign is None
    assert replay(workspace).ok and verify(workspace.db).ok


def test_a_majority(engine, workspace, offices):
    set_policy(workspace, "majority", "count")
    key = to_countersign(engine, "计划财务股、人事股、基础教育股")
    assert engine.show("lina", key).countersign["quorum"] == "过半数同意（2/3）"
    countersign.record(engine, "sunhua", key, "同意")
    assert countersign.record(engine, "wuli", key, "同意").state == "approve"


def test_the_reviewer_s_two_ways_on_follow_the_drafter_s_choice(engine, workspace, gw):
    plain = engine.create("zhangwei", "plan", values=plan_values()).key
    fire(engine, "zhangwei", plain, "submit")
    assert [a.id for a in engine.show("lina", plain).allowed] == ["return", "forward"]
    said = json.loads(gw("--as", "lina", "--json", "do", plain, "to_countersign").output)["error"]
    assert said["reason"] == "expression_false" and "直接呈送签发（forward）" in said["message"]
    assert fire(engine, "lina", plain, "forward").state == "approve"  # no 股室 chosen: no 会签
    chosen = engine.create("zhangwei", "plan", values=plan_values(cosign_offices="计划财务股")).key
    fire(engine, "zhangwei", chosen, "submit")
    said = json.loads(gw("--as", "lina", "--json", "do", chosen, "forward").output)["error"]
    assert said["reason"] == "expression_false" and "须先送会签（to_countersign）" in said["message"]


def test_a_会签_with_nobody_to_sign_is_decided_at_once(engine, workspace):
    path = workspace.definitions_dir / "plan.yaml"  # a bureau whose 核稿 always goes through 会签
    path.write_text(path.read_text(encoding="utf-8").replace('    when: "fields.cosign_offices"\n', ""),
                    encoding="utf-8")
    key = engine.create("zhangwei", "plan", values=plan_values()).key
    fire(engine, "zhangwei", key, "submit")
    assert fire(engine, "lina", key, "to_countersign").state == "approve"
    last = engine.history("zhaomin", key).history[-1]
    assert (last.transition, last.comment) == ("countersigned", "无需会签（未选会签单位）")
    assert replay(workspace).ok


def test_a_named_user_countersigns_beside_the_chosen_offices(engine, workspace, offices):
    path = workspace.definitions_dir / "plan.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "      field: cosign_offices ", "      users: [zhaomin]\n      field: cosign_offices "), encoding="utf-8")
    key = to_countersign(engine, "计划财务股")
    assert engine.show("lina", key).countersign["pending"] == ["计划财务股", "赵敏"]
    assert [w.worklist for w in engine.worklist("zhaomin")].count("countersign") == 1
    countersign.record(engine, "zhaomin", key, "同意", "无廉政风险。")
    view = countersign.record(engine, "sunhua", key, "同意")
    assert view.state == "approve"
    assert [e.data["countersign"]["party"] for e in engine.history("zhaomin", key).history
            if e.transition == "countersign"] == ["zhaomin", "finance"]
    assert replay(workspace).ok


def test_an_office_head_on_leave_delegates_the_countersigning(engine, workspace, offices):
    from workflow.engine import delegation

    delegation.delegate(workspace, "sunhua", "sunhua", "wuli", ["finance"], "2025-03-14", None, "休假")
    key = to_countersign(engine, "计划财务股")
    assert any(w.worklist == "countersign" for w in engine.worklist("wuli"))
    assert countersign.record(engine, "wuli", key, "同意", "代为会签。").state == "approve"
    event = [e for e in engine.history("zhaomin", key).history if e.transition == "countersign"][0]
    assert (event.actor, event.data["delegation"]["principal"]) == ("wuli", "sunhua")
    assert replay(workspace).ok
    verified = verify(workspace.db)
    assert verified.ok, verified.problems


# -- returned 会签单 --------------------------------------------------------------------------------
def test_a_returned_会签单_records_that_office_s_opinion(engine, workspace, offices, tmp_path):
    key = to_countersign(engine)
    rows = {d["form_id"]: d for d in engine.documents("lina", key).documents if d.get("form_id")}
    spec = workspace_spec(workspace)
    form = workspace.root / "documents" / key / rows[f"{key}#3-personnel"]["file"]
    returned = tmp_path / "人事股_会签.docx"
    returned.write_bytes(formfill.fill(form.read_bytes(), spec, "同意", opinion="同意。", signer="周杰",
                                       date="2025年3月10日"))
    [result] = ingest(engine, "chenjing", [returned])
    assert result["ok"], result
    assert engine.show("lina", key).countersign["pending"] == ["计划财务股"]
    event = engine.history("zhaomin", key).history[-1]
    assert (event.actor, event.data["countersign"]["party"], event.data["form"]["id"]) == (
        "zhoujie", "personnel", f"{key}#3-personnel")
    # the same form again, and a form whose 会签单位 was changed to another office, are refused
    before = snapshot(workspace)
    [again] = ingest(engine, "chenjing", [returned])
    assert (again["ok"], again["reason"]) == (False, "already_applied")
    other = workspace.root / "documents" / key / rows[f"{key}#3-finance"]["file"]
    forged = tmp_path / "改单位.docx"
    forged.write_bytes(formfill.fill(set_cell(other.read_bytes(), "会签单位", "人事股"), spec,
                                     "同意", signer="周杰", date="2025年3月10日"))
    [altered] = ingest(engine, "chenjing", [forged])
    assert (altered["ok"], altered["reason"]) == (False, "altered"), altered
    assert snapshot(workspace) == before
    # after the round is over (the finance form decides it), an old form is stale
    finance = tmp_path / "财务股_会签.docx"
    finance.write_bytes(formfill.fill(other.read_bytes(), spec, "不同意", opinion="预算不足。", signer="孙华",
                                      date="2025年3月10日"))
    [done] = ingest(engine, "chenjing", [finance])
    assert done["ok"] and done["state"] == "returned"
    assert replay(workspace, rerender=True).ok and verify(workspace.db).ok


def workspace_spec(workspace):
    definition = loader.load_file(workspace.definitions_dir / "plan.yaml")
    return definition.states["countersign"].countersign.form_spec()


# -- refusals -------------------------------------------------------------------------------------
@pytest.mark.parametrize("login, args, code, reason, words", [
    ("wangqiang", ["同意"], 1, "role_missing",
     "not one of the countersigners yet to sign (pending: 计划财务股、人事股)"),
    ("sunhua", ["同意", "--for", "人事股"], 1, "role_missing", "may not countersign for 人事股"),
    ("sunhua", ["同意", "--for", "督察科"], 4, "bad_value", "--for '督察科' is not a countersigner here"),
    ("sunhua", ["也许"], 4, "bad_value", "answers 同意 or 不同意, not '也许'"),
])
def test_refused_opinions_change_nothing(gw, engine, workspace, offices, login, args, code, reason, words):
    key = to_countersign(engine)
    before = snapshot(workspace)
    result = gw("--as", login, "--json", "countersign", key, *args)
    said = json.loads(result.output)
    assert (result.exit_code, said["error"]["reason"]) == (code, reason), said
    assert words in said["error"]["message"]
    assert snapshot(workspace) == before


def test_signing_twice_and_outside_the_step_are_refused(gw, engine, workspace, offices):
    key = to_countersign(engine)
    countersign.record(engine, "sunhua", key, "同意")
    before = snapshot(workspace)
    said = json.loads(gw("--as", "sunhua", "--json", "countersign", key, "同意").output)
    assert said["error"]["reason"] == "already_countersigned" and "计划财务股 has already countersigned" in \
        said["error"]["message"]
    draft = engine.create("zhangwei", "plan", values=plan_values()).key
    before = snapshot(workspace)
    said = json.loads(gw("--as", "sunhua", "--json", "countersign", draft, "同意").output)
    assert said["error"]["reason"] == "not_an_exit" and "where no 会签 is open" in said["error"]["message"]
    assert snapshot(workspace) == before
    # the engine fires the outcome; nobody fires it by hand
    said = json.loads(gw("--as", "lina", "--json", "do", key, "countersigned").output)
    assert said["error"]["reason"] == "not_an_exit"
    assert snapshot(workspace) == before


def test_the_drafter_may_not_countersign_their_own_draft(engine, workspace, offices):
    add_users(workspace, [("qianfen", "钱芬", "计划财务股科员", ["clerk", "finance"])])
    key = engine.create("qianfen", "plan", values=plan_values(cosign_offices="计划财务股")).key
    fire(engine, "qianfen", key, "submit")
    fire(engine, "lina", key, "to_countersign")
    before = snapshot(workspace)
    with pytest.raises(Exception) as refused:
        countersign.record(engine, "qianfen", key, "同意")
    assert refused.value.reason == "separation_of_duties"
    assert snapshot(workspace) == before
    assert countersign.record(engine, "sunhua", key, "同意").state == "approve"


def test_a_quorum_the_chosen_offices_cannot_reach_refuses_the_forward(engine, workspace, offices):
    set_policy(workspace, 3, "veto")
    key = engine.create("zhangwei", "plan", values=plan_values(cosign_offices="计划财务股")).key
    fire(engine, "zhangwei", key, "submit")
    before = snapshot(workspace)
    with pytest.raises(Exception) as refused:
        fire(engine, "lina", key, "to_countersign")
    assert refused.value.reason == "quorum_unreachable"
    assert "needs 3 to agree, but only 1 countersign" in refused.value.message
    assert snapshot(workspace) == before


# -- the definition -------------------------------------------------------------------------------
PLAN = (loader.Path(__file__).resolve().parents[1] / "definitions" / "plan.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("old, new, problem", [
    ("      quorum: all\n", "      quorum: 0\n", "quorum of 'countersign' must be at least 1"),
    ("      quorum: all\n", "      quorum: most\n", "quorum of 'countersign' must be all, majority or a number"),
    ("      field: cosign_offices ", "      roles: [finance, personnel] ",
     "quorum 3 of 'countersign' is more than its 2 countersigners"),
    ("      field: cosign_offices ", "      field: department ", "must be of type choices"),
    ("      field: cosign_offices ", "      field: nosuch ", "unknown field 'nosuch'"),
    ("choices: [计划财务股, 人事股", "choices: [计划财务股, 后勤科, 人事股",
     "choice '后勤科' of field 'cosign_offices' names no role"),
    ("      disagree: veto ", "      disagree: abstain ", "disagree of 'countersign' must be veto or count"),
    ("      agreed: countersigned\n", "      agreed: nosuch\n", "unknown transition 'nosuch' as agreed"),
    ("      vetoed: countersign_return\n", "      vetoed: countersigned\n", "agreed and vetoed must be different"),
    ("      agreed: countersigned\n", "", "needs agreed"),
    ("      agreed: countersigned\n", "      agreed: approve\n", "agreed transition 'approve' is not an exit of"),
    ("    title: 会签完毕，呈送签发\n", "    title: 会签完毕，呈送签发\n    roles: [office]\n",
     "is fired by the engine when the 会签 is decided: it cannot have roles"),
    ("      form: 会签单.docx ", "      form: ../会签单.docx ", "bad form template name"),
    ("      form: 会签单.docx ", "      form: 缺.docx ", "missing template file plan/缺.docx"),
    ("  countersigned:\n", "  countersign:\n    title: x\n    from: [draft]\n  countersigned:\n",
     "bad transition id 'countersign'"),
])
def test_bad_countersign_definitions_are_file_line_problems(tmp_path, old, new, problem):
    assert old in PLAN, old
    text = PLAN.replace(old, new, 1)
    if "roles: [finance, personnel]" in new:  # a fixed list of two, asked for three
        text = text.replace("      quorum: all\n", "      quorum: 3\n")
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    templates = loader.Path(__file__).resolve().parents[1] / "templates_docx"
    with pytest.raises(DefinitionError) as raised:
        loader.load_file(path, templates)
    found = [p for p in raised.value.problems if problem in p]
    assert found, raised.value.problems
    assert re.match(rf"{re.escape(str(path))}:\d+: ", found[0])
