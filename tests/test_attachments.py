"""Attachments (附件, 佐证材料): `gongwen attach` keeps files content-addressed with one signed event,
`gongwen docs` lists and exports them, `audit verify` checks their bytes (tampering is named) and
`audit replay` accepts the events; bad files, fields and actors are refused with nothing stored."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from helpers import CLASSIC, fire, plan_values, snapshot, sql

from workflow.audit import replay as audit_replay
from workflow.audit import verify as audit_verify
from workflow.documents.produce import export
from workflow.engine import attachments, countersign
from workflow.engine.void import void

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(40))
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(60)
DOCX = next((CLASSIC / "templates_docx" / "plan").glob("*.docx")).read_bytes()  # a real Word file


def zipped(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


def files_of(root: Path) -> dict[str, str]:
    """Every file of the workspace by its sha256 (SQLite's -wal/-shm companions aside)."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(root.rglob("*")) if not p.name.endswith(("-wal", "-shm"))}


def unchanged(ws):
    """What a refusal must leave as it was: every row of every table and every file."""
    return snapshot(ws), files_of(Path(ws.root))


def as_json(result) -> dict:
    assert "Traceback" not in result.output
    return json.loads(result.stdout)


@pytest.fixture
def key(engine):
    return engine.create("zhangwei", "plan", values=plan_values()).key


@pytest.fixture
def put(tmp_path):
    """put(name, bytes) -> the path of a file of that name and content."""
    folder = tmp_path / "incoming"
    folder.mkdir()

    def write(name: str, data: bytes) -> str:
        path = folder / name
        path.write_bytes(data)
        return str(path)

    return write


def test_files_are_kept_with_one_signed_event_listed_exported_and_verified(workspace, engine, key, put, tmp_path):
    [(events,)] = sql(workspace, "SELECT count(*) FROM events")
    [(version,)] = sql(workspace, "SELECT version FROM items WHERE key = :k", k=key)
    done = attachments.attach(engine, "zhangwei", key, [put("整改前.pdf", PDF), put("方案.docx", DOCX)],
                              "sections.1.content", "整改前后对照")
    assert done.seq == 2 and [f["name"] for f in done.files] == ["整改前.pdf", "方案.docx"]
    assert sql(workspace, "SELECT count(*) FROM events") == [(events + 1,)]  # one event for both
    [(transition, from_state, to_state, actor, comment, data, signature)] = sql(
        workspace, "SELECT transition, from_state, to_state, actor, comment, data, signature FROM events "
                   "WHERE item_key = :k AND seq = 2", k=key)
    assert (transition, from_state, to_state, actor) == ("attach", "draft", "draft", "zhangwei")
    assert comment == "整改前后对照"
    assert signature  # signed by zhangwei's key
    recorded = json.loads(data)["attachments"]
    assert recorded == [
        {"name": "整改前.pdf", "sha256": hashlib.sha256(PDF).hexdigest(), "size": len(PDF),
         "media_type": "application/pdf", "field": "sections.1.content", "note": "整改前后对照"},
        {"name": "方案.docx", "sha256": hashlib.sha256(DOCX).hexdigest(), "size": len(DOCX),
         "media_type": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "field": "sections.1.content", "note": "整改前后对照"}]
    for record, content in zip(recorded, (PDF, DOCX)):
        [(kind, size, stored)] = sql(workspace, "SELECT kind, size, data FROM blobs WHERE sha256 = :d",
                                     d=record["sha256"])
        assert (kind, size, bytes(stored)) == ("attachment", len(content), content)
    assert sql(workspace, "SELECT version, state FROM items WHERE key = :k", k=key) == [(version, "draft")]

    # listed with the documents (by another user, who may read), and exported byte for byte
    listed = engine.documents("lina", key, with_bytes=True)
    rows = [r for r in listed.documents if r["kind"] == "attachment"]
    assert [r["file"] for r in rows] == [f"{key}_02_附件_整改前.pdf", f"{key}_02_附件_方案.docx"]
    written = export(tmp_path / "out", list(listed.documents), listed.blobs)
    assert (tmp_path / "out" / f"{key}_02_附件_整改前.pdf").read_bytes() == PDF
    assert len(written) == len(listed.documents)

    # the history verifies and replays, and the item moves on as before
    fire(engine, "zhangwei", key, "submit")
    attachments.attach(engine, "lina", key, [put("核稿意见.png", PNG)])  # the reviewer acts on it now
    report = audit_verify.verify(workspace.db)
    assert report.ok, report.problems
    replayed = audit_replay.replay(workspace)
    assert replayed.ok, replayed.anomalies


def test_tampered_or_deleted_attachment_bytes_are_caught_and_named(workspace, engine, key, put):
    done = attachments.attach(engine, "zhangwei", key, [put("照片.jpg", JPEG)])
    digest = done.files[0]["sha256"]
    sql(workspace, "UPDATE blobs SET data = :data WHERE sha256 = :d", data=JPEG[:-1] + b"!", d=digest)
    problems = audit_verify.verify(workspace.db).problems
    assert [(p.kind, p.item, p.seq) for p in problems] == [("attachment_altered", key, done.seq)]
    assert "照片.jpg" in problems[0].message

    sql(workspace, "DELETE FROM blobs WHERE sha256 = :d", d=digest)
    problems = audit_verify.verify(workspace.db).problems
    assert [(p.kind, p.item, p.seq) for p in problems] == [("attachment_missing", key, done.seq)]


def test_the_event_cannot_be_edited_to_name_other_bytes(workspace, engine, key, put):
    attachments.attach(engine, "zhangwei", key, [put("a.pdf", PDF)])
    sql(workspace, "UPDATE events SET data = replace(data, :old, :new) WHERE transition = 'attach'",
        old=hashlib.sha256(PDF).hexdigest(), new=hashlib.sha256(PNG).hexdigest())
    assert "event_altered" in {p.kind for p in audit_verify.verify(workspace.db).problems}


def test_the_cli_attaches_and_docs_lists(gw, key, put):
    result = gw("--json", "--as", "zhangwei", "attach", key, put("a.pdf", PDF), put("b.png", PNG), "-m", "佐证")
    assert result.exit_code == 0, result.output
    assert [f["name"] for f in as_json(result)["attachments"]] == ["a.pdf", "b.png"]
    result = gw("--as", "zhangwei", "attach", key, put("c.jpg", JPEG))
    assert result.exit_code == 0 and result.stdout.strip() == f"attached 1 files to {key} (event 3): c.jpg"


BAD_FILES = [  # name, content, reason, words in the message
    ("setup.exe", b"MZ\x90\x00" + bytes(100), "bad_file_type", "an executable program"),
    ("report.pdf", b"MZ\x90\x00" + bytes(100), "bad_file_type", "an executable program"),
    ("run.sh", b"#!/bin/sh\nrm -rf /\n", "bad_file_type", "an executable program"),
    ("photo.pdf", PNG, "bad_file_type", "a PNG image but its extension .pdf says otherwise"),
    ("scan", PDF, "bad_file_type", "it has no extension"),
    ("材料.zip", zipped("a.txt"), "bad_file_type", "a zip archive"),
    ("宏.docx", zipped("word/document.xml", "word/vbaProject.bin"), "bad_file_type", "with macros"),
    ("notes.txt", "纯文本".encode(), "bad_file_type", "unknown type"),
    ("empty.pdf", b"", "empty_file", "empty"),
    ("a\\b.pdf", PDF, "bad_file_name", "path separator"),
    ("a\x07b.pdf", PDF, "bad_file_name", "control character"),
]


@pytest.mark.parametrize("db_url", [None], ids=["sqlite"])  # a file is refused before the database is written
@pytest.mark.parametrize("name, content, reason, says", BAD_FILES, ids=[b[2] + "-" + b[0] for b in BAD_FILES])
def test_a_bad_file_is_refused_exit_4_and_nothing_is_stored(workspace, gw, key, put, name, content, reason, says):
    good = put("good.pdf", PDF)  # a good file before it: nothing of the command is stored either
    before = unchanged(workspace)
    result = gw("--json", "--as", "zhangwei", "attach", key, good, put(name, content))
    assert result.exit_code == 4, result.output
    error = as_json(result)["error"]
    assert error["reason"] == reason and says in error["message"], error
    assert unchanged(workspace) == before
    plain = gw("--as", "zhangwei", "attach", key, good, put(name, content))
    assert plain.exit_code == 4 and len(plain.stderr.strip().splitlines()) == 1 and says in plain.stderr


@pytest.mark.parametrize("case", ["missing", "folder", "too many", "too large", "too large together", "twice"])
def test_files_over_the_limits_or_missing_are_refused(workspace, gw, key, put, tmp_path, monkeypatch, case):
    monkeypatch.setattr(attachments, "MAX_FILE_BYTES", 1000)
    monkeypatch.setattr(attachments, "MAX_TOTAL_BYTES", 1500)
    given = {"missing": lambda: [str(tmp_path / "nowhere.pdf")], "folder": lambda: [str(tmp_path)],
             "too many": lambda: [put(f"{n}.pdf", PDF) for n in range(attachments.MAX_FILES + 1)],
             "too large": lambda: [put("big.pdf", PDF + bytes(1000))],
             "too large together": lambda: [put("a.pdf", PDF + bytes(900)), put("b.pdf", PDF + bytes(900))],
             "twice": lambda: [put("a.pdf", PDF), str(Path(put("b.pdf", PDF)).with_name("a.pdf"))]}[case]()
    reason = {"missing": "unreadable", "folder": "unreadable", "too many": "too_many_files", "too large": "too_large",
              "too large together": "too_large", "twice": "duplicate_file"}[case]
    before = unchanged(workspace)
    result = gw("--json", "--as", "zhangwei", "attach", key, *given)
    assert result.exit_code == 4, result.output
    assert as_json(result)["error"]["reason"] == reason
    assert unchanged(workspace) == before


@pytest.mark.parametrize("path, ok", [("sections", True), ("sections.1", True), ("sections.1.content", True),
                                      ("summary", True), ("sections.2.content", False), ("sections.0", False),
                                      ("sections.1.nosuch", False), ("title.1", False), ("nosuch", False)])
def test_the_field_must_exist(workspace, engine, key, put, path, ok):
    if ok:
        assert attachments.attach(engine, "zhangwei", key, [put("a.pdf", PDF)], path).files[0]["field"] == path
        return
    before = unchanged(workspace)
    with pytest.raises(Exception) as caught:
        attachments.attach(engine, "zhangwei", key, [put("a.pdf", PDF)], path)
    assert getattr(caught.value, "reason", None) == "bad_field" and caught.value.exit_code == 4
    assert unchanged(workspace) == before


def test_only_who_may_act_on_the_item_now_attaches(workspace, engine, gw, key, put):
    # in draft only its creator acts (edit, submit: owner); the reviewer does once it is in review
    before = unchanged(workspace)
    result = gw("--json", "--as", "lina", "attach", key, put("a.pdf", PDF))
    assert result.exit_code == 1 and as_json(result)["error"]["reason"] == "role_missing"
    assert unchanged(workspace) == before
    fire(engine, "zhangwei", key, "submit")
    assert gw("--as", "lina", "attach", key, put("a.pdf", PDF)).exit_code == 0
    assert gw("--as", "zhangwei", "attach", key, put("b.pdf", PDF)).exit_code == 0  # the creator, always
    before = unchanged(workspace)
    result = gw("--json", "--as", "chenjing", "attach", key, put("c.pdf", PDF))  # office: nothing to do in review
    assert result.exit_code == 1 and as_json(result)["error"]["reason"] == "role_missing"
    assert unchanged(workspace) == before


def test_a_voided_or_finished_item_takes_no_attachments(workspace, engine, gw, key, put):
    void(engine, "zhangwei", key, "重复起草")
    finished = engine.create("zhangwei", "plan", values=plan_values()).key
    fire(engine, "zhangwei", finished, "submit")
    fire(engine, "lina", finished, "forward")
    fire(engine, "wangqiang", finished, "reject", "不予签发")
    for item in (key, finished):
        before = unchanged(workspace)
        result = gw("--json", "--as", "zhangwei", "attach", item, put("a.pdf", PDF))
        assert result.exit_code == 1 and as_json(result)["error"]["reason"] == "item_closed", result.output
        assert unchanged(workspace) == before


def test_a_countersigner_still_to_answer_attaches_and_replay_accepts_it(workspace, engine, put):
    key = engine.create("zhangwei", "plan", values=plan_values(cosign_offices=["计划财务股"])).key
    fire(engine, "zhangwei", key, "submit")
    fire(engine, "lina", key, "to_countersign")
    assert attachments.attach(engine, "sunhua", key, [put("测算表.pdf", PDF)], note="经费测算").seq == 4
    with pytest.raises(Exception) as caught:
        attachments.attach(engine, "chenjing", key, [put("a.pdf", PDF)])  # no party to this 会签
    assert getattr(caught.value, "reason", None) == "role_missing"
    countersign.record(engine, "sunhua", key, "同意")
    assert engine.show("zhangwei", key).state == "approve"  # the round went on and closed as before
    assert audit_replay.replay(workspace).ok and audit_verify.verify(workspace.db).ok
