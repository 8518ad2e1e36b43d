"""The decision read is the one written (issue 12, part 3): a corpus of real-world 批示 phrasings
(tests/data/decision_phrasings.yaml), with and without a ticked box, each read as approve, reject,
return, or refused as ambiguous or contradictory. The whole corpus goes through the classifier; the
cases marked e2e go through real forms filled in and `gongwen ingest`, which changes nothing when it
refuses. A ☑ typed over an unticked checkbox control counts as the tick the signer saw."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from lxml import etree
from test_ingest import (
    DATE,
    PLAN_STATE,
    assert_applied,
    assert_refused,
    edit_body,
    ingest_json,
    the_form,
    to_approve,
    write,
)

from workflow.documents import docx_read
from workflow.documents.docx_read import W14, W
from workflow.forms import fill as formfill
from workflow.forms import read as reader

OPTIONS = ["同意", "不同意", "退回修改"]
OPTION = {"approve": "同意", "reject": "不同意", "return": "退回修改"}
# ingest refuses an unreadable decision with reason ambiguous_decision and this exit code: 1 while
# workflow/forms/ingest.py raises Refused for it; 4 (bad input, DESIGN.md) once it raises BadInput
AMBIGUOUS_EXIT = 1

CASES = yaml.safe_load((Path(__file__).parent / "data" / "decision_phrasings.yaml").read_text(encoding="utf-8"))


def ticked(case) -> list[str]:
    boxes = case.get("ticked") or []
    return [boxes] if isinstance(boxes, str) else boxes


def case_id(case) -> str:
    return f"{'+'.join(ticked(case)) or 'none'}:{case['opinion'] or '(empty)'}"


def decision_row(boxes: list[str]) -> str:
    """The 审批意见 row as the reader gives it: ☒ for a ticked checkbox, ☐ for the others."""
    return "\u3000".join(("☒" if option in boxes else "☐") + option for option in OPTIONS)


# -- the corpus --------------------------------------------------------------------------------
def test_the_corpus_is_large_and_covers_every_outcome():
    assert len(CASES) >= 40
    assert {c["expect"] for c in CASES} == {*OPTION, "ambiguous", "contradictory"}
    assert len({case_id(c) for c in CASES}) == len(CASES)  # no case twice
    assert sum(bool(c.get("e2e")) for c in CASES) >= 8
    for opinion in ("原则同意，请修改后再报", "同意，但请先征求财务股意见后再印发", "暂缓。", "请再研究。", "拟同意。",
                    "请李娜同志阅处。", "阅。", "已阅", "缓议。", "再议。"):  # the wording named in issue 12
        assert any(c["opinion"] == opinion and not ticked(c) and c["expect"] == "ambiguous" for c in CASES), opinion


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_each_phrasing_is_read_as_written(case):
    boxes = ticked(case)
    decision = reader.read_decision(decision_row(boxes), case["opinion"], OPTIONS)
    expect = case["expect"]
    if expect in OPTION:
        assert (decision.option, decision.refusal) == (OPTION[expect], None), decision
        assert decision.why == ("ticked" if boxes else "written in the opinion")
        return
    assert decision.option is None and decision.refusal == expect, decision
    assert "\n" not in decision.why and decision.why
    if case["opinion"] and len(boxes) < 2:
        assert f"“{case['opinion']}”" in decision.why, decision.why  # the phrase, quoted
    if boxes:
        assert all(box in decision.why for box in boxes), decision.why  # names the box ticked...
    if expect == "contradictory" and len(boxes) == 1:  # ...and what the 批示 says instead
        said = {outcome for outcome, _ in reader.classify(case["opinion"])}
        assert said - {boxes[0]} and all(s in decision.why for s in said - {boxes[0]}), decision.why


def test_decide_is_read_decision_as_a_pair():
    """ingest calls decide(): the option or None, with the reason."""
    assert reader.decide(decision_row([]), "原则同意，请修改后再报", OPTIONS) == \
        (None, "the opinion “原则同意，请修改后再报” is a qualified approval (原则同意)")
    assert reader.decide(decision_row(["同意"]), "不同意", OPTIONS) == \
        (None, "the form ticks 同意 but the opinion says 不同意 (“不同意”)")
    assert reader.decide(decision_row(["退回修改"]), "原则同意，请修改后再报", OPTIONS) == ("退回修改", "ticked")


def test_an_option_the_form_does_not_offer_is_not_read():
    """A form offering only 同意 and 不同意: a written return is no option of it."""
    decision = reader.read_decision("☐同意　☐不同意", "请修改后再报。", ["同意", "不同意"])
    assert decision.option is None and "not an option of this form" in decision.why


# -- end to end: real forms through `gongwen ingest` ---------------------------------------------
E2E = [c for c in CASES if c.get("e2e")]


@pytest.mark.parametrize("case", E2E, ids=case_id)
def test_a_returned_form_is_applied_or_refused_as_its_批示_reads(gw, engine, workspace, tmp_path, case):
    key = to_approve(engine)
    blob, _, spec = the_form(engine, workspace, key)
    boxes = ticked(case)
    how = case.get("how", "checkbox")
    data = formfill.fill(blob, spec, boxes[0] if boxes else None, opinion=case["opinion"], signer="王强",
                         date=DATE, how=how)
    for box in boxes[1:]:
        data = formfill.fill(data, spec, box, how=how)
    path = write(tmp_path, "returned.docx", data)
    expect = case["expect"]
    if expect in OPTION:
        result, [row] = ingest_json(gw, path)
        assert result.exit_code == 0 and row["ok"], result.output
        read_as = "ticked" if boxes else "written in the opinion"
        assert_applied(engine, workspace, key, path, OPTION[expect], PLAN_STATE[OPTION[expect]], case["opinion"],
                       read_as)
    else:  # refused with nothing changed (assert_refused compares the whole database and the files)
        row = assert_refused(gw, workspace, path, "ambiguous_decision", AMBIGUOUS_EXIT)
        assert row["message"].startswith("ambiguous decision: ") and "\n" not in row["message"]
        assert all(box in row["message"] for box in boxes)
        assert len(boxes) > 1 or f"“{case['opinion']}”" in row["message"]
        assert engine.show("zhaomin", key).state == "approve"


# -- what the signer saw: the glyph over the checkbox control's hidden flag ---------------------
def _type_over(blob: bytes, marks: dict[str, tuple[str, str]]) -> bytes:
    """Each option's checkbox control made to show a glyph with a w14:checked flag, as an editor
    without checkbox controls leaves it when the signer types ☑ over ☐ (option -> (glyph, flag))."""
    def change(body):
        for sdt in body.iter(f"{W}sdt"):
            tag = sdt.find(f"{W}sdtPr/{W}tag")
            option = (tag.get(f"{W}val") if tag is not None else "").removeprefix("gw-decision-")
            if option in marks:
                glyph, flag = marks[option]
                [t] = sdt.findall(f"{W}sdtContent//{W}t")
                t.text = glyph
                sdt.find(f"{W}sdtPr/{W14}checkbox/{W14}checked").set(f"{W14}val", flag)
    return edit_body(blob, change)


def test_a_tick_typed_over_an_unticked_checkbox_control_is_read_as_ticked(gw, engine, workspace, tmp_path):
    """☑ typed over the 退回修改 box (its flag still 0), and a stale flag left on 同意 whose box shows
    ☐: the form is read as the signer saw it, 退回修改, end to end."""
    key = to_approve(engine)
    blob, _, spec = the_form(engine, workspace, key)
    filled = formfill.fill(blob, spec, None, opinion="请修改后再报。", signer="王强", date=DATE)
    typed = _type_over(filled, {"退回修改": ("☑", "0"), "同意": ("☐", "1")})
    assert reader.read(typed, spec.fill_labels).cells[spec.decision_label] == "☐同意\u3000☐不同意\u3000☒退回修改"
    path = write(tmp_path, "typed_over.docx", typed)
    result, [row] = ingest_json(gw, path)
    assert result.exit_code == 0 and row["ok"], result.output
    assert (row["decision"], row["read_as"]) == ("退回修改", "ticked")
    assert_applied(engine, workspace, key, path, "退回修改", "returned", "请修改后再报。", "ticked")


def _control(content: str, flag: str = "0", checked: str = "2612", unchecked: str = "2610") -> etree._Element:
    xml = (f'<w:p xmlns:w="{W[1:-1]}" xmlns:w14="{W14[1:-1]}"><w:sdt><w:sdtPr><w14:checkbox>'
           f'<w14:checked w14:val="{flag}"/><w14:checkedState w14:val="{checked}"/>'
           f'<w14:uncheckedState w14:val="{unchecked}"/></w14:checkbox></w:sdtPr>'
           f'<w:sdtContent><w:r>{content}</w:r></w:sdtContent></w:sdt><w:r><w:t>同意</w:t></w:r></w:p>')
    return etree.fromstring(xml)


@pytest.mark.parametrize("content, flag, checked, unchecked, shown", [
    ("<w:t>☒</w:t>", "1", "2612", "2610", "☒同意"),  # Word ticked it: glyph and flag agree
    ("<w:t>☐</w:t>", "0", "2612", "2610", "☐同意"),
    ("<w:t>☑</w:t>", "0", "2612", "2610", "☒同意"),  # ☑ typed over ☐: the glyph counts
    ("<w:t>√</w:t>", "0", "2612", "2610", "☒同意"),
    ("<w:t>■</w:t>", "0", "2612", "2610", "☒同意"),
    ("<w:t>☐</w:t>", "1", "2612", "2610", "☐同意"),  # a stale flag under an empty box: not ticked
    ("<w:t>□</w:t>", "1", "2612", "2610", "☐同意"),
    ('<w:sym w:font="Wingdings 2" w:char="F052"/>', "0", "0052", "00A3", "☒同意"),  # Wingdings 2 ☑
    ("<w:t>\uf052</w:t>", "0", "0052", "00A3", "☒同意"),  # the same, typed in the font
    ("<w:t>\uf0a3</w:t>", "1", "0052", "00A3", "☐同意"),
    ("", "1", "2612", "2610", "☒同意"),  # no glyph at all: the flag is all there is
    ("", "0", "2612", "2610", "☐同意"),
])
def test_a_checkbox_control_reads_as_the_glyph_it_shows(content, flag, checked, unchecked, shown):
    assert docx_read.text(_control(content, flag, checked, unchecked), decisions=True) == shown
    expected = ("同意", "ticked") if shown[0] == "☒" else (None, "no decision is ticked, kept alone or written "
                                                                 "in the opinion")
    assert reader.decide(shown + "\u3000☐不同意\u3000☐退回修改", "", OPTIONS) == expected
