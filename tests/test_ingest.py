"""`gongwen ingest`: approval forms filled in every way a supervisor does it come back and move the
item as decided, as the signer, with the returned file kept as evidence; LibreOffice's re-save
(which drops every w:tag) and suites that drop the document properties are survived; forged,
altered, stale, wrongly signed, ambiguous, repeated and broken files are refused with their typed
reason and exit code, changing nothing; a folder of files is reported file by file."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import zipfile

import helpers
import pytest
from helpers import clean_school_values, inspection_values, plan_values, run_cli, snapshot
from lxml import etree

from workflow.documents import docx_read, formtoken, office
from workflow.engine import registry
from workflow.engine.engine import Engine
from workflow.forms import fill as formfill
from workflow.forms import read as reader
from workflow.store import blobs
from workflow.store.orm import FormReceipt
from workflow.store.workspace import Workspace

W = docx_read.W
DATE = "2025年3月10日"
TRANSITION = {"同意": "approve", "不同意": "reject", "退回修改": "return"}
PLAN_STATE = {"同意": "signed", "不同意": "rejected", "退回修改": "returned"}
MARKS = ["☑", "☒", "■", "√", "✓", "✔"]
OPINIONS = {"同意": "同意印发。", "不同意": "不同意印发，请重新研究。", "退回修改": "请补充量化目标。"}


# -- helpers -----------------------------------------------------------------------------------
def files_under(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())


def to_approve(engine, **extra) -> str:
    """A plan item waiting for the supervisor, its 发文稿纸 handed out at `forward`."""
    key = engine.create("zhangwei", "plan", values=plan_values(copies=30, **extra)).key
    engine.fire("zhangwei", key, "submit")
    engine.fire("lina", key, "forward", "同意呈送签发。")
    return key


def the_form(engine, workspace, key):
    """The item's latest approval form: its bytes, its path and its spec."""
    event = [e for e in engine.history("zhaomin", key).history
             if any("form_id" in d for d in e.data.get("documents", []))][-1]
    [doc] = [d for d in event.data["documents"] if "form_id" in d]
    assert doc["form_id"] == f"{key}#{event.seq}"
    path = workspace.root / "documents" / key / doc["file"]
    with workspace.db.read() as session:
        item = engine.get_item(session, key)
        spec = registry.pinned(session, item.definition_hash).transitions[event.transition].form
    return path.read_bytes(), path, spec


def signed(engine, workspace, key, decision="同意", how="checkbox", opinion=None, signer="王强"):
    """The item's form filled in and signed (by default: 王强 ticks 同意)."""
    blob, _, spec = the_form(engine, workspace, key)
    if opinion is None:
        opinion = OPINIONS.get(decision, "")
    return formfill.fill(blob, spec, decision, opinion=opinion, signer=signer, date=DATE, how=how)


def write(folder, name, data: bytes):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def rewrite(blob: bytes, edits=None, drop=()) -> bytes:
    """A copy of a .docx with parts edited (part name -> function of its bytes) or dropped."""
    edits = edits or {}
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in members:
            if info.filename in drop:
                continue
            if info.filename in edits:
                data = edits[info.filename](data)
            archive.writestr(info, data)
    return out.getvalue()


def edit_body(blob: bytes, change) -> bytes:
    """A copy with word/document.xml's body changed in place by `change(body)`."""
    def edit(data):
        root = etree.fromstring(data)
        change(root.find(f"{W}body"))
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    return rewrite(blob, {"word/document.xml": edit})


def set_cell(blob: bytes, label: str, text: str) -> bytes:
    """Type over the cell next to `label`, as an editor in Word would."""
    return edit_body(blob, lambda body: formfill._set_cell_text(formfill._label_value_cells(body, label), text))


def without_code_line(blob: bytes) -> bytes:
    def remove(body):
        lines = [p for p in body.iter(f"{W}p") if docx_read.text(p).strip().startswith("校验码")]
        assert len(lines) == 1
        lines[0].getparent().remove(lines[0])
    return edit_body(blob, remove)


def without_properties(blob: bytes) -> bytes:
    """What suites that drop custom document properties do: no docProps/custom.xml, no
    relationship to it, no content-type override for it."""
    def rels(data):
        root = etree.fromstring(data)
        for rel in list(root):
            if rel.get("Target", "").lstrip("/") == "docProps/custom.xml":
                root.remove(rel)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)

    def types(data):
        root = etree.fromstring(data)
        for entry in list(root):
            if entry.get("PartName") == "/docProps/custom.xml":
                root.remove(entry)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)

    out = rewrite(blob, {"_rels/.rels": rels, "[Content_Types].xml": types}, drop={"docProps/custom.xml"})
    with zipfile.ZipFile(io.BytesIO(out)) as archive:
        assert "docProps/custom.xml" not in archive.namelist()
        assert b"custom" not in archive.read("_rels/.rels") + archive.read("[Content_Types].xml")
    return out


def with_token(blob: bytes, token: formtoken.Token, old: formtoken.Token) -> bytes:
    """Put another token into both places: the custom property and the printed 校验码."""
    def prop(data):
        root = etree.fromstring(data)
        [value] = [p for p in root if p.get("name") == "gongwen_token"]
        value[0].text = token.as_property()
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)

    def code(data):
        assert data.count(old.code.encode()) == 1
        return data.replace(old.code.encode(), token.code.encode())
    return rewrite(blob, {"docProps/custom.xml": prop, "word/document.xml": code})


def ingest_json(gw, *args):
    result = gw("--as", "chenjing", "--json", "ingest", *args)
    return result, json.loads(result.output)["results"]


def assert_refused(gw, workspace, path, reason, exit_code, *options) -> dict:
    """Ingesting `path` is refused with `reason` and `exit_code` and changes nothing at all."""
    before, files = snapshot(workspace), files_under(workspace.root / "documents")
    result, [row] = ingest_json(gw, *options, path)
    assert result.exit_code == exit_code, result.output
    assert row["ok"] is False and row["reason"] == reason and row["exit_code"] == exit_code, row
    assert row["file"] == str(path) and row["message"]
    assert snapshot(workspace) == before
    assert files_under(workspace.root / "documents") == files
    return row


def assert_applied(engine, workspace, key, path, decision, state, opinion, read_as=None):
    """The item moved as decided, by the signer with the opinion as comment; the returned file is
    in the event's data and stored byte for byte; the form is receipted."""
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    assert engine.show("zhaomin", key).state == state
    event = engine.history("zhaomin", key).history[-1]
    assert (event.transition, event.actor, event.comment) == (TRANSITION[decision], "wangqiang", opinion)
    form = event.data["form"]
    assert form["sha256"] == sha and form["file"] == path.name
    assert (form["decision"], form["signer"], form["ingested_by"], form["signed_on"]) == \
        (decision, "wangqiang", "chenjing", DATE)
    if read_as:
        assert form["read_as"] == read_as
    with workspace.db.read() as session:
        assert blobs.load_blob(session, sha) == data
        receipt = session.get(FormReceipt, form["id"])
        assert receipt is not None and receipt.file_sha256 == sha and receipt.applied_by == "chenjing"
        assert receipt.item_id == engine.get_item(session, key).id
    return event


# -- 1. every way of filling in the form -------------------------------------------------------
@pytest.mark.parametrize("how", ["checkbox", *MARKS, "opinion", "delete"])
def test_forms_filled_each_way_move_the_item_as_decided(gw, engine, workspace, tmp_path, how):
    opinions = {**OPINIONS, **({"退回修改": "退回，请补充量化目标。"} if how == "opinion" else {})}
    read_as = {"checkbox": "ticked", "opinion": "written in the opinion",
               "delete": "the other options were deleted"}.get(how, "ticked")
    cases = []
    for decision in TRANSITION:
        key = to_approve(engine)
        blob, _, spec = the_form(engine, workspace, key)
        data = formfill.fill(blob, spec, decision, opinion=opinions[decision], signer="王强", date=DATE, how=how)
        cases.append((key, decision, write(tmp_path / "returned", f"{key}_已签.docx", data)))
    result, rows = ingest_json(gw, *(path for _, _, path in cases))
    assert result.exit_code == 0, result.output
    for (key, decision, path), row in zip(cases, rows):
        assert row["ok"] and row["key"] == key and row["file"] == str(path), row
        assert (row["decision"], row["transition"], row["read_as"]) == (decision, TRANSITION[decision], read_as)
        assert row["state"] == PLAN_STATE[decision] and row["signer"] == "wangqiang"
        assert_applied(engine, workspace, key, path, decision, PLAN_STATE[decision], opinions[decision], read_as)


def _inspection_to_approve(engine):
    key = engine.create("liuyang", "inspection", values=inspection_values(
        self_score="80", self_report="自评", conclusion="通过", overall="总体良好")).key
    for login, transition in [("liuyang", "notify"), ("liuyang", "start_visit"), ("liuyang", "submit"),
                              ("lina", "forward")]:
        engine.fire(login, key, transition)
    return key


def _clean_school_to_approve(engine):
    key = engine.create("zhangwei", "clean_school", values=clean_school_values()).key
    engine.fire("zhangwei", key, "submit")
    engine.fire("lina", key, "forward", sets=[("county_opinion", "材料齐全，同意推荐。")])
    # the city team records its assessment, which hands the 审批表 to the leader
    engine.fire("lina", key, "evaluate", sets=[("city_score", "92"), ("publicity_start", "2025-03-01"),
                                               ("publicity_end", "2025-03-07")])
    return key


@pytest.mark.parametrize("workflow_id, decision, how, state", [
    ("inspection", "同意", "☑", "approved"),
    ("clean_school", "同意", "checkbox", "publicity"),
    ("clean_school", "不同意", "checkbox", "rejected"),
])
def test_the_审批表_of_inspection_and_clean_school(gw, engine, workspace, tmp_path, workflow_id, decision, how,
                                                state):
    key = (_inspection_to_approve if workflow_id == "inspection" else _clean_school_to_approve)(engine)
    blob, path, spec = the_form(engine, workspace, key)
    assert path.name.endswith("_审批表.docx")
    assert (spec.decision_label, spec.signer_label) == ("审批意见", "签批人")
    assert reader.read(blob, spec.fill_labels).cells["审批意见"] == "☐同意\u3000☐不同意\u3000☐退回修改"
    opinion = {"inspection": "同意出具督导意见书。", "clean_school": "同意，进入公示。"}[workflow_id] \
        if decision == "同意" else "不同意认定。"
    filled = write(tmp_path, "审批表_已签.docx",
                   formfill.fill(blob, spec, decision, opinion=opinion, signer="王强", date=DATE, how=how))
    result, [row] = ingest_json(gw, filled)
    assert result.exit_code == 0 and row["ok"], result.output
    assert_applied(engine, workspace, key, filled, decision, state, opinion, "ticked")


# -- 2. LibreOffice re-saves the filled form ----------------------------------------------------
def test_forms_resaved_by_libreoffice_are_still_ingested(gw, engine, workspace, tmp_path):
    soffice = helpers.require_soffice()
    cases = [("checkbox", "同意"), ("☑", "不同意"), ("checkbox", "退回修改")]
    filled = []
    for index, (how, decision) in enumerate(cases):
        key = to_approve(engine)
        filled.append((key, decision, how, write(tmp_path / "filled", f"form{index}.docx",
                                                 signed(engine, workspace, key, decision, how))))
    out = tmp_path / "resaved"  # not the folder of the originals: soffice would overwrite them
    command = [soffice, "--headless", "--norestore", f"-env:UserInstallation={(tmp_path / 'lo-profile').as_uri()}",
               "--convert-to", "docx:MS Word 2007 XML", "--outdir", str(out), *(str(p) for *_, p in filled)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=office.TIMEOUT, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    resaved = []
    for key, decision, how, original in filled:
        path = out / original.name
        assert path.is_file(), done.stdout + done.stderr
        data = path.read_bytes()
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert b"LibreOffice" in archive.read("docProps/app.xml")  # really LibreOffice's file
            document = archive.read("word/document.xml")
        assert data != original.read_bytes()
        if how == "checkbox":
            assert _has_tag(original.read_bytes())  # gongwen's checkboxes carry w:tag gw-decision-…
            dropped = b"w:tag" not in document
            print(f"LibreOffice re-saved {original.name}: w:tag dropped: {dropped}")
            assert dropped, "LibreOffice kept w:tag: the test no longer shows that labels alone are enough"
        resaved.append((key, decision, path))
    result, rows = ingest_json(gw, *(p for *_, p in resaved))
    assert result.exit_code == 0, result.output
    for (key, decision, path), row in zip(resaved, rows):
        assert row["ok"] and row["decision"] == decision and row["read_as"] == "ticked", row
        assert_applied(engine, workspace, key, path, decision, PLAN_STATE[decision], OPINIONS[decision])


def _has_tag(blob: bytes) -> bool:
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        return b"<w:tag " in archive.read("word/document.xml")


# -- 3. refused, with nothing changed ----------------------------------------------------------
@pytest.mark.parametrize("forgery", ["wrong_mac", "other_secret"])
def test_a_forged_token_is_refused(gw, engine, workspace, tmp_path, forgery):
    key = to_approve(engine)
    blob = signed(engine, workspace, key)
    old = reader.read(blob, set()).token
    if forgery == "wrong_mac":  # one hex digit of the MAC changed, in the property and in the 校验码
        mac = ("0" if old.mac[0] != "0" else "1") + old.mac[1:]
        token = formtoken.Token(old.key, old.revision, old.seq, old.content, mac)
    else:  # a well-formed token made with a key that is not this workspace's secret
        token = formtoken.sign(b"not the workspace secret", old.key, old.revision, old.seq, old.content)
    forged = with_token(blob, token, old)
    returned = reader.read(forged, set())
    assert returned.token == token and returned.code[3] == token.mac[:20]
    row = assert_refused(gw, workspace, write(tmp_path, "forged.docx", forged), "forged", 1)
    assert "does not verify" in row["message"]


def test_a_document_without_any_code_is_refused(gw, engine, workspace, tmp_path):
    key = to_approve(engine)
    stripped = without_properties(without_code_line(signed(engine, workspace, key)))
    assert reader.read(stripped, set()).token is None and reader.read(stripped, set()).code is None
    row = assert_refused(gw, workspace, write(tmp_path, "no_code.docx", stripped), "forged", 1)
    assert "no gongwen 校验码" in row["message"]


def test_a_gongwen_document_that_is_not_a_form_is_refused(gw, engine, workspace, tmp_path):
    """The 发文稿纸 printed at 送核稿 has the same table but no token: not a form to sign."""
    key = to_approve(engine)
    [doc] = engine.history("zhaomin", key).history[1].data["documents"]
    path = workspace.root / "documents" / key / doc["file"]
    _, _, spec = the_form(engine, workspace, key)
    data = formfill.fill(path.read_bytes(), spec, "同意", opinion="同意。", signer="王强", date=DATE)
    assert_refused(gw, workspace, write(tmp_path, "unsigned_copy.docx", data), "forged", 1)


@pytest.mark.parametrize("label, text", [
    ("标题", "某某县教育局2025年工作要点（修订稿）"),
    ("印制份数", "300"),
    ("年度", "2026"),
])
def test_a_form_whose_fixed_content_was_edited_is_refused(gw, engine, workspace, tmp_path, label, text):
    key = to_approve(engine)
    blob = signed(engine, workspace, key)
    edited = set_cell(blob, label, text)
    _, _, spec = the_form(engine, workspace, key)
    assert reader.read(edited, {label}).cells[label] == text  # the edit is there
    assert reader.read(edited, set()).token == reader.read(blob, set()).token  # the token is untouched
    row = assert_refused(gw, workspace, write(tmp_path, "edited.docx", edited), "altered", 1)
    assert "fixed content" in row["message"]


def test_a_form_is_stale_when_the_reviewer_took_the_item_back(gw, engine, workspace, tmp_path):
    key = to_approve(engine)
    path = write(tmp_path, "late.docx", signed(engine, workspace, key))
    engine.fire("lina", key, "return", "附件不全，先退回。")  # before the supervisor's form comes back
    row = assert_refused(gw, workspace, path, "stale", 3)
    assert "lina" in row["message"] and "print a new form" in row["message"]


def test_the_form_of_an_earlier_forward_is_stale(gw, engine, workspace, tmp_path):
    key = to_approve(engine)
    first = write(tmp_path, "first.docx", signed(engine, workspace, key))
    engine.fire("wangqiang", key, "return", "请补充量化目标。")
    engine.fire("zhangwei", key, "submit", "已补充。")
    engine.fire("lina", key, "forward", "同意呈送签发。")
    second = write(tmp_path, "second.docx", signed(engine, workspace, key))
    assert reader.read(first.read_bytes(), set()).token.seq < reader.read(second.read_bytes(), set()).token.seq
    assert_refused(gw, workspace, first, "stale", 3)
    result, [row] = ingest_json(gw, second)  # the current form still works
    assert result.exit_code == 0 and row["state"] == "signed", result.output


def test_a_form_signed_by_someone_without_the_role_is_refused(gw, engine, workspace, tmp_path):
    key = to_approve(engine)
    path = write(tmp_path, "lina.docx", signed(engine, workspace, key, signer="李娜"))
    assert_refused(gw, workspace, path, "role_missing", 1)


def test_a_form_signed_by_an_unknown_name_needs_signer(gw, engine, workspace, tmp_path):
    key = to_approve(engine)
    path = write(tmp_path, "unknown.docx", signed(engine, workspace, key, signer="赵六"))
    row = assert_refused(gw, workspace, path, "unknown_signer", 1)
    assert "赵六" in row["message"] and "--signer" in row["message"]
    unsigned = write(tmp_path, "unsigned.docx", signed(engine, workspace, key, signer=""))
    assert_refused(gw, workspace, unsigned, "unknown_signer", 1)
    # the clerk who knows the hand names the signer
    result, [row] = ingest_json(gw, "--signer", "wangqiang", path)
    assert result.exit_code == 0 and row["signer"] == "wangqiang" and row["state"] == "signed", result.output


def test_signer_option_must_match_the_name_on_the_form(gw, engine, workspace, tmp_path):
    key = to_approve(engine)
    path = write(tmp_path, "lina.docx", signed(engine, workspace, key, signer="李娜"))
    row = assert_refused(gw, workspace, path, "signer_mismatch", 1, "--signer", "wangqiang")
    assert "李娜" in row["message"]


def test_a_form_is_applied_only_once(gw, engine, workspace, tmp_path):
    key = to_approve(engine)
    path = write(tmp_path, "signed.docx", signed(engine, workspace, key))
    result, [row] = ingest_json(gw, path)
    assert result.exit_code == 0 and row["ok"], result.output
    row = assert_refused(gw, workspace, path, "already_applied", 1)
    assert "chenjing" in row["message"]
    # the same form filled in again (another decision) is the same form
    again = write(tmp_path, "again.docx", signed(engine, workspace, key, "不同意"))
    assert_refused(gw, workspace, again, "already_applied", 1)


@pytest.mark.parametrize("case", ["nothing", "two_ticked", "ticked_against_opinion"])
def test_an_ambiguous_decision_is_refused(gw, engine, workspace, tmp_path, case):
    key = to_approve(engine)
    blob, _, spec = the_form(engine, workspace, key)
    if case == "nothing":  # signed, but no box ticked and no decision written
        data = formfill.fill(blob, spec, None, opinion="", signer="王强", date=DATE)
    elif case == "two_ticked":
        data = formfill.fill(formfill.fill(blob, spec, "同意", opinion="请酌处。", signer="王强", date=DATE),
                             spec, "不同意")
    else:
        data = formfill.fill(blob, spec, "同意", opinion="不同意", signer="王强", date=DATE, how="☑")
    row = assert_refused(gw, workspace, write(tmp_path, f"{case}.docx", data), "ambiguous_decision", 1)
    expected = {"nothing": "no decision", "two_ticked": "two decisions are ticked: 同意、不同意",
                "ticked_against_opinion": "ticks 同意 but the opinion says 不同意"}[case]
    assert expected in row["message"]


def test_a_file_that_is_not_a_docx_is_refused(gw, workspace, tmp_path):
    path = write(tmp_path, "notes.docx", "领导批示：同意。\n签发人：王强\n".encode())
    assert_refused(gw, workspace, path, "not_docx", 4)


@pytest.mark.parametrize("damage", ["truncated", "damaged_data", "broken_xml", "no_body"])
def test_a_corrupt_docx_is_refused(gw, engine, workspace, tmp_path, damage):
    key = to_approve(engine)
    blob = signed(engine, workspace, key)
    if damage == "truncated":
        data = blob[:len(blob) // 2]
    elif damage == "damaged_data":  # the zip directory is intact, the deflated document is not
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            info = archive.getinfo("word/document.xml")
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 100
        data = bytearray(blob)
        for i in range(start, start + 300):
            data[i] ^= 0x5A
        data = bytes(data)
    elif damage == "broken_xml":
        data = rewrite(blob, {"word/document.xml": lambda xml: xml[:len(xml) // 2]})
    else:
        data = rewrite(blob, {"word/document.xml": lambda xml: b"<w:document xmlns:w='%s'/>" % W[1:-1].encode()})
    assert_refused(gw, workspace, write(tmp_path, f"{damage}.docx", data), "corrupt", 4)


def test_a_50_mb_file_is_refused_before_it_is_read(gw, engine, workspace, tmp_path):
    key = to_approve(engine)
    blob = signed(engine, workspace, key)
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    path = tmp_path / "big.docx"
    with zipfile.ZipFile(path, "w") as archive:  # a real form with a 50 MB stored picture
        for info, data in members:
            archive.writestr(info, data)
        archive.writestr(zipfile.ZipInfo("word/media/image1.png"), bytes(50 * 1024 * 1024), zipfile.ZIP_STORED)
    assert path.stat().st_size > 50 * 1024 * 1024
    row = assert_refused(gw, workspace, path, "too_large", 4)
    assert "MB" in row["message"]


# -- 4. several files ---------------------------------------------------------------------------
def test_a_folder_of_files_is_reported_file_by_file(gw, engine, workspace, tmp_path):
    good_key, forged_key = to_approve(engine), to_approve(engine)
    folder = tmp_path / "returned"
    good = write(folder, "a_good.docx", signed(engine, workspace, good_key))
    blob = signed(engine, workspace, forged_key)
    old = reader.read(blob, set()).token
    forged = write(folder, "b_forged.docx",
                   with_token(blob, formtoken.sign(b"guessed", old.key, old.revision, old.seq, old.content), old))
    not_docx = write(folder, "c_scan.docx", b"%PDF-1.4 a scanned form\n")
    (folder / "readme.txt").write_text("not a .docx: not looked at")
    before = snapshot(workspace)
    forged_before = engine.show("zhaomin", forged_key)

    human = gw("--as", "chenjing", "ingest", folder)
    assert human.exit_code == 4
    lines = human.output.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("ok") and str(good) in lines[0] and "signed" in lines[0]
    assert lines[1].startswith("refused") and str(forged) in lines[1] and "forged" in lines[1]
    assert lines[2].startswith("refused") and str(not_docx) in lines[2] and "not_docx" in lines[2]
    assert_applied(engine, workspace, good_key, good, "同意", "signed", "同意印发。")

    # the forged and the broken file changed nothing: the database differs from before by the
    # good form's event, item, receipt and blobs only
    after = snapshot(workspace)
    assert engine.show("zhaomin", forged_key) == forged_before
    assert {t for t in after if after[t] != before[t]} == {"items", "events", "form_receipts", "blobs"}
    assert len(after["events"]) == len(before["events"]) + 1
    [receipt] = after["form_receipts"]
    assert receipt[0] == reader.read(good.read_bytes(), set()).token.form_id
    event = engine.history("zhaomin", good_key).history[-1]
    expected = {event.data["form"]["sha256"]} | {d[k] for d in event.data["documents"]
                                                 for k in ("sha256", "template_sha256", "context_sha256")}
    new_blobs = {row[0] for row in after["blobs"]} - {row[0] for row in before["blobs"]}
    assert new_blobs <= expected and event.data["form"]["sha256"] in new_blobs
    changed_items = [a for a, b in zip(after["items"], before["items"]) if a != b]
    assert len(after["items"]) == len(before["items"]) and [r[1] for r in changed_items] == [good_key]
    assert {p.parts[0] for p in files_under(workspace.root / "documents")} == {good_key, forged_key}
    assert len(list((workspace.root / "documents" / forged_key).iterdir())) == 2  # 送核稿, 呈送签发

    # --json lists all three; done again, the good one is now already applied
    result, rows = ingest_json(gw, folder)
    assert result.exit_code == 4
    assert [(r["file"], r["ok"], r.get("reason")) for r in rows] == [
        (str(good), False, "already_applied"), (str(forged), False, "forged"), (str(not_docx), False, "not_docx")]
    assert snapshot(workspace) == after


# -- 5. the demo --------------------------------------------------------------------------------
def test_the_demo_approves_the_plan_through_a_filled_in_form(tmp_path):
    target = tmp_path / "demo"
    result = run_cli("--json", "demo", target)
    assert result.exit_code == 0, result.output
    [plan] = [i for i in json.loads(result.output)["items"] if i["workflow"] == "plan"]
    ws = Workspace(target)
    try:
        engine = Engine(ws)
        history = engine.history("zhaomin", plan["key"]).history
        # the first 签发 is from the returned form; the second (after a 复核 correction reopened it) by `do`
        approve, again = [e for e in history if e.transition == "approve"]
        assert "form" not in again.data and again.actor == "wangqiang"
        form = approve.data["form"]
        assert approve.actor == "wangqiang" and approve.comment == "同意印发。"
        assert (form["decision"], form["signer"], form["ingested_by"], form["read_as"]) == \
            ("同意", "wangqiang", "chenjing", "ticked")
        returned = target / "returned" / form["file"]
        assert hashlib.sha256(returned.read_bytes()).hexdigest() == form["sha256"]
        with ws.db.read() as session:
            assert blobs.load_blob(session, form["sha256"]) == returned.read_bytes()
            assert session.get(FormReceipt, form["id"]) is not None
    finally:
        ws.close()


# -- 6. suites that drop the document properties -------------------------------------------------
def test_a_form_without_its_document_properties_is_read_by_the_printed_code(gw, engine, workspace, tmp_path):
    key = to_approve(engine)
    stripped = without_properties(signed(engine, workspace, key, "退回修改", "✔"))
    returned = reader.read(stripped, set())
    assert returned.token is None and returned.code is not None
    path = write(tmp_path, "no_properties.docx", stripped)
    result, [row] = ingest_json(gw, path)
    assert result.exit_code == 0 and row["ok"], result.output
    assert_applied(engine, workspace, key, path, "退回修改", "returned", "请补充量化目标。", "ticked")


def test_a_form_without_its_printed_code_is_read_by_the_property(gw, engine, workspace, tmp_path):
    key = to_approve(engine)
    path = write(tmp_path, "no_code_line.docx", without_code_line(signed(engine, workspace, key)))
    assert reader.read(path.read_bytes(), set()).code is None
    result, [row] = ingest_json(gw, path)
    assert result.exit_code == 0 and row["ok"], result.output
    assert_applied(engine, workspace, key, path, "同意", "signed", "同意印发。")


def test_a_form_without_properties_and_with_an_edited_title_is_refused(gw, engine, workspace, tmp_path):
    key = to_approve(engine)
    edited = set_cell(without_properties(signed(engine, workspace, key)), "标题", "某某县教育局2025年工作总结")
    row = assert_refused(gw, workspace, write(tmp_path, "edited.docx", edited), "forged", 1)
    assert "校验码" in row["message"]
