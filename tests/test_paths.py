"""Paths stay where they belong: a definition cannot name files outside templates_docx/<workflow>/
nor make item keys that leave documents/ (each refused as `file:line`, exit 4, nothing written);
write_files and export check every path they write; the approval forms' HMAC secret lives in the
database, not in the workspace folder."""

from __future__ import annotations

import hashlib
import shutil

import pytest
from helpers import REPO, run_cli, snapshot

from workflow.definition.loader import load_file, parse
from workflow.documents.produce import document_path, export, template_path, write_files
from workflow.errors import BadInput, DefinitionError
from workflow.store.workspace import SECRET_NAME, Workspace

PLAN = (REPO / "definitions" / "plan.yaml").read_text(encoding="utf-8")


def edited(old: str, new: str, after: str | None = None) -> tuple[str, int]:
    """plan.yaml with the first line equal to `old` (after the line `after`, if given) replaced
    by `new`; returns the text and the 1-based number of the changed line."""
    lines = PLAN.splitlines()
    start = lines.index(after) + 1 if after else 0
    number = lines.index(old, start)
    lines[number] = new
    return "\n".join(lines) + "\n", number + 1


# (case, old line, new line, anchor line or None, fragment of the problem)
CASES = [
    ("key_prefix_up_and_out", "key_prefix: JH", "key_prefix: ../../../tmp/X", None, "bad key_prefix"),
    ("key_prefix_slash", "key_prefix: JH", 'key_prefix: "A/B"', None, "bad key_prefix 'A/B'"),
    ("key_prefix_newline", "key_prefix: JH", 'key_prefix: "JH\\n"', None, "bad key_prefix"),
    ("key_prefix_nul", "key_prefix: JH", 'key_prefix: "JH\\0"', None, "bad key_prefix"),
    ("key_prefix_lowercase", "key_prefix: JH", "key_prefix: jh", None, "bad key_prefix 'jh'"),
    ("key_prefix_too_long", "key_prefix: JH", "key_prefix: ABCDEFGHIJKLMNOPQ", None, "bad key_prefix"),
    ("template_up_and_out", "    templates: [修改记录.docx]", "    templates: [../../gongwen.yaml]", None,
     "bad template name '../../gongwen.yaml'"),
    ("template_absolute", "    templates: [修改记录.docx]", "    templates: [/etc/passwd]", None,
     "bad template name '/etc/passwd'"),
    ("template_subfolder", "    templates: [修改记录.docx]", "    templates: [sub/dir.docx]", None,
     "bad template name 'sub/dir.docx'"),
    ("template_backslash", "    templates: [修改记录.docx]", "    templates: ['..\\..\\x.docx']", None,
     "bad template name"),
    ("template_nul", "    templates: [修改记录.docx]", '    templates: ["a\\0.docx"]', None, "bad template name"),
    ("template_dotdot", "    templates: [修改记录.docx]", "    templates: [..]", None, "bad template name '..'"),
    ("template_not_docx", "    templates: [修改记录.docx]", "    templates: [修改记录.doc]", None,
     "must end in .docx"),
    ("template_one_of_two", "    templates: [修改记录.docx]", "    templates: [修改记录.docx, ../../x.docx]", None,
     "bad template name '../../x.docx'"),
    ("form_template_up_and_out", "      template: 发文稿纸.docx", "      template: ../plan/发文稿纸.docx", None,
     "bad form template name '../plan/发文稿纸.docx'"),
    ("number_scope", "    scope: issuer", "    scope: ../x", None, "number scope must be issuer or workflow"),
    ("number_id", "  doc_number:", '  "../doc_number":', "numbers:", "bad number id '../doc_number'"),
    ("worklist_id", "  drafts:", '  "drafts/../x":', "worklists:", "bad worklist id 'drafts/../x'"),
    ("state_id_newline", "  rejected: {title: 不予签发, final: true}",
     '  "rejected\\n": {title: 不予签发, final: true}', None, "bad state id"),
]


@pytest.fixture
def defs(tmp_path):
    """tmp/definitions/plan.yaml beside a copy of the shipped templates_docx/plan/, plus the files
    the escaping names point at (so that only the name check can stop them)."""
    (tmp_path / "definitions").mkdir()
    shutil.copytree(REPO / "templates_docx" / "plan", tmp_path / "templates_docx" / "plan")
    (tmp_path / "gongwen.yaml").write_text("issuer_code: 某教发\n", encoding="utf-8")
    (tmp_path / "templates_docx" / "plan" / "sub").mkdir()
    plan = tmp_path / "templates_docx" / "plan"
    shutil.copy(plan / "修改记录.docx", plan / "sub" / "dir.docx")
    (tmp_path / "x.docx").write_bytes(b"PK")
    return tmp_path


def tree(folder) -> dict[str, str]:
    """Every file under a folder with the sha256 of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_copied_definition_is_valid(defs):
    path = defs / "definitions" / "plan.yaml"
    path.write_text(PLAN, encoding="utf-8")
    assert load_file(path, defs / "templates_docx").key_prefix == "JH"
    assert run_cli("workflows", "validate", path).exit_code == 0


@pytest.mark.parametrize("case, old, new, after, message", CASES, ids=[c[0] for c in CASES])
def test_an_unsafe_name_is_a_definition_error_with_its_line(defs, case, old, new, after, message):
    text, line = edited(old, new, after)
    path = defs / "definitions" / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DefinitionError) as info:
        load_file(path, defs / "templates_docx")
    assert any(p.startswith(f"{path}:{line}: ") and message in p for p in info.value.problems), info.value.problems
    before = tree(defs)
    result = run_cli("workflows", "validate", path)
    assert result.exit_code == 4, result.output
    assert "Traceback" not in result.output
    assert any(f"{path}:{line}: " in p and message in p for p in result.stderr.splitlines()), result.stderr
    assert tree(defs) == before  # nothing written


def test_a_name_that_only_looks_odd_is_accepted(defs):
    text, _ = edited("    templates: [修改记录.docx]", "    templates: [修改记录 (2).docx]")
    (defs / "templates_docx" / "plan" / "修改记录 (2).docx").write_bytes(b"PK")
    path = defs / "definitions" / "plan.yaml"
    path.write_text(text.replace("key_prefix: JH", "key_prefix: J2X"), encoding="utf-8")
    definition = load_file(path, defs / "templates_docx")
    assert definition.key_prefix == "J2X" and definition.transitions["edit"].templates == ["修改记录 (2).docx"]


def test_a_version_stored_by_an_older_release_still_loads():
    """Versions read back from the database (trusted) were checked when they were stored: an
    older release's laxer key_prefix does not make its items unreadable (write_files and
    template_path still guard every path at run time)."""
    definition = parse(PLAN.replace("key_prefix: JH", "key_prefix: jh"), "plan.yaml", trusted=True)
    assert definition.key_prefix == "jh"


# -- the paths written at run time ----------------------------------------------------------------
@pytest.fixture
def bare(tmp_path):
    """A workspace folder without a database (write_files and export need none)."""
    root = tmp_path / "ws"
    (root / "documents").mkdir(parents=True)
    (root / "gongwen.yaml").write_text("issuer_code: 某教发\n", encoding="utf-8")
    (tmp_path / "outside").mkdir()
    return Workspace(root)


ESCAPING = [("../x", "a.docx"), ("../../x", "a.docx"), ("/tmp/gongwen-escape", "a.docx"), (".", "a.docx"),
            ("", "a.docx"), ("JH-2025-0001/../../x", "a.docx"), ("JH-2025-0001", "../a.docx"),
            ("JH-2025-0001", "../../../a.docx"), ("JH-2025-0001", "sub/../../a.docx"), ("JH-2025-0001", ".."),
            ("JH-2025-0001", "a\0.docx"), ("../outside", "a.docx")]


@pytest.mark.parametrize("key, file", ESCAPING)
def test_write_files_refuses_a_path_outside_documents(bare, tmp_path, key, file):
    before = tree(tmp_path)
    with pytest.raises(BadInput) as info:
        write_files(bare, key, [{"file": file, "sha256": "s"}], {"s": b"data"})
    assert info.value.reason == "unsafe_path" and info.value.exit_code == 4
    assert "\n" not in info.value.message and "refusing to write" in info.value.message
    assert tree(tmp_path) == before
    assert sorted(p.name for p in (bare.root / "documents").iterdir()) == []


def test_write_files_refuses_a_key_folder_that_links_outside(bare, tmp_path):
    (bare.root / "documents" / "JH-2025-0009").symlink_to(tmp_path / "outside")
    with pytest.raises(BadInput) as info:
        write_files(bare, "JH-2025-0009", [{"file": "a.docx", "sha256": "s"}], {"s": b"data"})
    assert info.value.reason == "unsafe_path"
    assert list((tmp_path / "outside").iterdir()) == []


def test_write_files_writes_inside_documents(bare):
    [path] = write_files(bare, "JH-2025-0001", [{"file": "JH-2025-0001_01_送核稿_发文稿纸.docx", "sha256": "s"}],
                         {"s": b"data"})
    assert path == bare.root / "documents" / "JH-2025-0001" / "JH-2025-0001_01_送核稿_发文稿纸.docx"
    assert path.read_bytes() == b"data"
    assert document_path(bare, "JH-2025-0001") == path.parent


@pytest.mark.parametrize("file", ["../evil.docx", "../../evil.docx", "/tmp/evil.docx", "sub/../../evil.docx",
                                  ".", "..", "a\0.docx"])
def test_export_refuses_a_file_outside_its_folder(tmp_path, file):
    rows = [{"file": "JH-2025-0001_01_送核稿_发文稿纸.docx", "sha256": "s"}, {"file": file, "sha256": "s"}]
    with pytest.raises(BadInput) as info:
        export(tmp_path / "out", rows, {"s": b"data"})
    assert info.value.reason == "unsafe_path" and "\n" not in info.value.message
    assert not (tmp_path / "out").exists()  # nothing written, not even the first file
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_export_refuses_to_write_through_a_link_out_of_its_folder(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "elsewhere.docx").write_bytes(b"keep")
    (tmp_path / "out" / "a.docx").symlink_to(tmp_path / "elsewhere.docx")
    with pytest.raises(BadInput) as info:
        export(tmp_path / "out", [{"file": "a.docx", "sha256": "s"}], {"s": b"data"})
    assert info.value.reason == "unsafe_path"
    assert (tmp_path / "elsewhere.docx").read_bytes() == b"keep"


@pytest.mark.parametrize("name", ["../inspection/审批表.docx", "/etc/passwd", "..", "", "a\0.docx"])
def test_a_stored_template_name_outside_its_folder_is_refused(bare, name):
    with pytest.raises(BadInput) as info:
        template_path(bare, "plan", name)
    assert info.value.reason == "unsafe_path"


def test_a_workspace_definition_with_an_escaping_key_prefix_writes_nothing(gw, workspace, tmp_path):
    path = workspace.definitions_dir / "plan.yaml"
    text = path.read_text(encoding="utf-8").replace("key_prefix: JH\n", "key_prefix: ../../../escape/X\n")
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index("key_prefix: ../../../escape/X") + 1
    before_rows, before_files = snapshot(workspace), files(tmp_path)
    result = gw("--as", "zhangwei", "new", "plan", "--title", "某某县教育局2025年工作要点")
    assert result.exit_code == 4, result.output
    assert f"{path}:{line}: bad key_prefix" in result.stderr
    assert snapshot(workspace) == before_rows and files(tmp_path) == before_files


def files(folder) -> list[str]:
    """The files under a folder, without SQLite's own (-wal, -shm) which reads may touch."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.is_file() and not p.name.startswith("gongwen.db"))


# -- the form secret ------------------------------------------------------------------------------
def stored_secret(workspace) -> str:
    from sqlalchemy import text

    with workspace.db.read() as session:
        return session.execute(text("SELECT value FROM settings WHERE name = 'form_secret'")).scalar_one()


def test_the_form_secret_is_in_the_database_not_in_the_workspace_folder(workspace):
    assert not (workspace.root / SECRET_NAME).exists()
    value = stored_secret(workspace)
    secret = bytes.fromhex(value)
    assert len(secret) == 32 and workspace.form_secret == secret
    for path in workspace.root.rglob("*"):
        if path.is_file() and not path.name.startswith("gongwen.db"):  # SQLite: the database itself
            data = path.read_bytes()
            assert secret not in data and value.encode() not in data and value.upper().encode() not in data, path


def test_the_form_secret_is_read_once_per_workspace_object(workspace):
    from sqlalchemy import text

    fresh = Workspace(workspace.root, workspace.db_url)
    try:
        assert fresh.form_secret == workspace.form_secret
        with fresh.db.write() as session:
            session.execute(text("UPDATE settings SET value = :v WHERE name = 'form_secret'"), {"v": "00" * 32})
        assert fresh.form_secret == workspace.form_secret  # cached
        assert Workspace(workspace.root, workspace.db_url).form_secret == bytes(32)
    finally:
        fresh.close()


def test_an_old_secret_key_file_is_ignored(gw, engine, workspace, tmp_path):
    """A workspace from an older release may still hold secret.key: forms signed with it are
    refused as forged (documented in Workspace.form_secret_in and definitions/README.md)."""
    from test_ingest import assert_refused, signed, to_approve, with_token, write

    from workflow.documents import formtoken
    from workflow.forms import read as reader

    legacy = bytes(range(32))
    (workspace.root / SECRET_NAME).write_text(legacy.hex() + "\n")
    assert Workspace(workspace.root, workspace.db_url).form_secret == bytes.fromhex(stored_secret(workspace))
    key = to_approve(engine)
    blob = signed(engine, workspace, key)
    old = reader.read(blob, set()).token
    token = formtoken.sign(legacy, old.key, old.revision, old.seq, old.content)
    assert_refused(gw, workspace, write(tmp_path / "in", "legacy.docx", with_token(blob, token, old)), "forged", 1)
