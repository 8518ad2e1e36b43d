"""Faults of the environment, not of the user: each ends in one line, its documented exit code and
reason, and nothing changed (the database's rows, its file's bytes and every workspace file), run
through the real `gongwen` in a subprocess.

Bad database URLs (--db, GONGWEN_DB, db_url in gongwen.yaml; in init and demo too), a time zone
that does not exist, a read-only database, a full disk (RLIMIT_FSIZE in the child: SQLite sees
the write fail), a garbage, truncated, empty, corrupt or foreign database file (for commands and
for `db upgrade`), a missing database file (not made by opening it), a locked database, an
unreachable PostgreSQL server, older and newer schemas, a `documents/` folder that is a file or
read-only. Read-only is chmod as a user, chattr +i as root (skipped, with the reason printed,
where root may not set it). `gongwen demo` never deletes work; a real bug is exit 70 with "please
report" and GONGWEN_DEBUG=1; the README's exit-code section names every reason in the package."""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

import helpers
import pytest
import yaml
from helpers import DEMO_END, NOW, REPO, gongwen_command, plan_values, run_cli, snapshot

from workflow.store.migrate import HEAD

SQLITE_TRANSIENT = {"gongwen.db-wal", "gongwen.db-shm"}


# -- running gongwen -----------------------------------------------------------------------------
def gongwen(*args, cwd, env=None, preexec_fn=None) -> subprocess.CompletedProcess:
    """The installed command in a child process: the test clock, the test's key folder (the demo
    workspaces act with their own demo keys), `env` on top."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("GONGWEN_")}
    full["GONGWEN_NOW"] = NOW
    if os.environ.get("GONGWEN_CONFIG_HOME"):
        full["GONGWEN_CONFIG_HOME"] = os.environ["GONGWEN_CONFIG_HOME"]
    if gongwen_command()[0] == sys.executable:
        full["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), full.get("PYTHONPATH")]))
    full.update(env or {})
    return subprocess.run(gongwen_command() + [str(a) for a in args], cwd=cwd, env=full, capture_output=True,
                          text=True, encoding="utf-8", timeout=120, preexec_fn=preexec_fn)


def one_line(proc: subprocess.CompletedProcess, code: int = 4) -> str:
    """The one error line (human mode): the exit code, nothing on stdout, no traceback."""
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert proc.stdout == "", proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr and "Background on this error" not in proc.stderr
    if code != 70:
        assert "internal error" not in proc.stderr
    return lines[0]


def json_error(proc: subprocess.CompletedProcess, code: int = 4) -> dict:
    """The one error document (--json mode) on one line of stdout, nothing on stderr."""
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert proc.stderr == "" and len(proc.stdout.splitlines()) == 1, proc.stdout + proc.stderr
    return json.loads(proc.stdout)["error"]


def fault(root: Path, *args, reason: str, env=None, cwd=None, preexec_fn=None, code: int = 4) -> str:
    """Run a command in both modes: one line and `code` each, the reason in --json; the line."""
    line = one_line(gongwen(*args, cwd=cwd or root, env=env, preexec_fn=preexec_fn), code)
    error = json_error(gongwen("--json", *args, cwd=cwd or root, env=env, preexec_fn=preexec_fn), code)
    assert error["reason"] == reason, error
    assert line == f"error: {error['message']}"
    return line


# -- the state that must not change ------------------------------------------------------------
def files_of(root: Path) -> dict[str, str]:
    """Every file (sha256; the SQLite file's bytes too) and folder of the workspace, but SQLite's
    -wal and -shm companions, which it makes and removes by itself."""
    found = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.name in SQLITE_TRANSIENT:
            continue
        found[relative] = "folder" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def rows(root: Path, db_url: str | None = None) -> dict:
    return snapshot(SimpleNamespace(root=root, db_url=db_url or f"sqlite:///{root / 'gongwen.db'}"))


def checkpoint(root: Path) -> None:
    """Everything into the database file, no -wal left (every test starts from plain bytes)."""
    connection = sqlite3.connect(root / "gongwen.db")
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


class Unchanged:
    """`with Unchanged(root):` the workspace's files and, when it can be read, its database's rows."""

    def __init__(self, root: Path, readable: bool = True):
        self.root, self.readable = root, readable

    def __enter__(self) -> Unchanged:
        self.files = files_of(self.root)
        self.rows = rows(self.root) if self.readable else None
        return self

    def __exit__(self, kind, *_) -> None:
        if kind is None:
            assert files_of(self.root) == self.files
            if self.readable:
                assert rows(self.root) == self.rows


# -- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def base(tmp_path_factory) -> tuple[Path, str]:
    """A demo workspace plus one plan in draft, ready to submit (its key), checkpointed."""
    root = tmp_path_factory.mktemp("faults") / "base"
    account = {"GONGWEN_CONFIG_HOME": str(root.parent / "account")}
    made = gongwen("--json", "demo", root, cwd=root.parent, env=account)
    assert made.returncode == 0, made.stderr
    values = root.parent / "plan.json"
    values.write_text(json.dumps(plan_values(), ensure_ascii=False), encoding="utf-8")
    created = gongwen("--json", "--as", "zhangwei", "new", "plan", "--from", values, cwd=root, env=account)
    assert created.returncode == 0, created.stderr
    checkpoint(root)
    return root, json.loads(created.stdout)["key"]


@pytest.fixture
def ws(base, tmp_path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(base[0], root, symlinks=True)
    return root


@pytest.fixture
def key(base) -> str:
    return base[1]


@pytest.fixture
def read_only():
    """make(path) -> undo(): path read-only until undo() (or the test's end): chmod as a user; as
    root (whom modes do not stop) chattr +i, or the test is skipped with the reason printed."""
    undo = []

    def make(path: Path):
        step = helpers.make_read_only(path)

        def once() -> None:
            if step in undo:
                undo.remove(step)
                step()

        undo.append(step)
        return once

    yield make
    for step in reversed(undo):
        step()


# -- database URLs and the workspace's settings ---------------------------------------------------
@pytest.mark.parametrize("given, url, named", [
    ("--db", "notaurl", "--db: 'notaurl' is not a database URL"),
    ("--db", "mysql://gongwen:secret@dbhost/gw", "--db: mysql databases are not supported"),
    ("GONGWEN_DB", "zzz://", "GONGWEN_DB: zzz databases are not supported"),
    ("GONGWEN_DB", "postgresql+asyncpg://dbhost/gw", "GONGWEN_DB: postgresql+asyncpg databases are not supported"),
    ("db_url", "zzz://", "gongwen.yaml: zzz databases are not supported"),
    ("db_url", "not a url", "gongwen.yaml: 'not a url' is not a database URL"),
])
def test_a_bad_database_url_is_exit_4_naming_where_it_came_from(ws, given, url, named):
    args = ["--db", url] if given == "--db" else []
    env = {"GONGWEN_DB": url} if given == "GONGWEN_DB" else None
    if given == "db_url":
        with (ws / "gongwen.yaml").open("a", encoding="utf-8") as config:
            config.write(f"db_url: '{url}'\n")
    with Unchanged(ws):
        line = fault(ws, *args, "--as", "chenjing", "list", reason="bad_db_url", env=env)
    assert named in line and "sqlite:///PATH or postgresql://" in line
    assert "secret" not in line


@pytest.mark.parametrize("given", ["--db", "GONGWEN_DB", "init --db"])
def test_init_and_demo_refuse_a_bad_url_before_making_anything(tmp_path, given):
    env = {"GONGWEN_DB": "mysql://u@h/x"} if given == "GONGWEN_DB" else None
    head = ["--db", "mysql://u@h/x"] if given == "--db" else []
    tail = ["--db", "mysql://u@h/x"] if given == "init --db" else []
    line = one_line(gongwen(*head, "--as", "admin", "init", tmp_path / "new", *tail, cwd=tmp_path, env=env))
    assert "mysql databases are not supported" in line and not (tmp_path / "new").exists()
    if given != "init --db":
        line = one_line(gongwen(*head, "demo", tmp_path / "demo", cwd=tmp_path, env=env))
        assert "mysql databases are not supported" in line and not (tmp_path / "demo").exists()


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", "8"])
def test_a_time_zone_that_does_not_exist_is_exit_4(ws, key, zone):
    config = ws / "gongwen.yaml"
    text = config.read_text(encoding="utf-8")
    assert "timezone: Asia/Shanghai\n" in text
    config.write_text(text.replace("timezone: Asia/Shanghai\n", f"timezone: {zone}\n"), encoding="utf-8")
    with Unchanged(ws):
        line = fault(ws, "--as", "zhangwei", "do", key, "submit", reason="bad_config")
    assert "gongwen.yaml: timezone" in line and "is not a known time zone" in line and "Asia/Shanghai" in line


def test_a_key_given_twice_in_the_config_is_refused_with_its_line(ws, key):
    with (ws / "gongwen.yaml").open("a", encoding="utf-8") as config:
        config.write("timezone: Asia/Urumqi\n")
    with Unchanged(ws):
        line = fault(ws, "--as", "zhangwei", "do", key, "submit", reason="bad_config")
    assert "gongwen.yaml:" in line and "timezone" in line and "given twice" in line, line


# -- the SQLite file -------------------------------------------------------------------------------
def garbage(path: Path) -> None:
    path.write_bytes(hashlib.sha512(b"gongwen").digest() * (path.stat().st_size // 64))


def truncate_half(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def truncate_header(path: Path) -> None:
    os.truncate(path, 100)


def empty(path: Path) -> None:
    os.truncate(path, 0)


def corrupt_first_page(path: Path) -> None:  # the schema's page: its b-tree header and cells overwritten
    with path.open("r+b") as file:
        file.seek(100)
        file.write(bytes(range(256)) * 15)


def foreign(path: Path) -> None:
    path.unlink()
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    connection.execute("INSERT INTO notes (text) VALUES ('someone else''s database')")
    connection.commit()
    connection.close()


@pytest.mark.parametrize("damage", [garbage, truncate_half, truncate_header, empty, corrupt_first_page, foreign])
def test_a_damaged_or_foreign_database_says_so_and_to_restore_a_backup(ws, damage):
    damage(ws / "gongwen.db")
    with Unchanged(ws, readable=False):
        for args in (("--as", "chenjing", "list"), ("db", "upgrade")):
            line = one_line(gongwen(*args, cwd=ws))
            assert "is not a gongwen database or is damaged" in line and "restore it from a backup" in line
            assert "db upgrade" not in line
        assert json_error(gongwen("--json", "--as", "chenjing", "audit", "verify", cwd=ws))["reason"] == "damaged_db"


def test_a_missing_database_file_is_named_and_not_made(ws):
    (ws / "gongwen.db").unlink()
    with Unchanged(ws, readable=False):
        line = fault(ws, "--as", "chenjing", "list", reason="no_database")
        assert one_line(gongwen("db", "upgrade", cwd=ws)) == line
    assert f"the database {ws / 'gongwen.db'} does not exist: restore it from a backup" in line
    assert not (ws / "gongwen.db").exists()


@pytest.mark.parametrize("found, reason, says", [
    ("0002", "schema_old",
     f"the database schema is at revision 0002, this gongwen needs {HEAD}: run `gongwen db upgrade`"),
    ("0009", "schema_newer", f"newer than this gongwen's ({HEAD})"),
    ("abc123", "damaged_db", "is not a gongwen database or is damaged (unknown schema revision 'abc123')"),
])
def test_only_an_older_valid_schema_says_upgrade(ws, found, reason, says):
    connection = sqlite3.connect(ws / "gongwen.db")
    with connection:
        connection.execute("UPDATE alembic_version SET version_num = ?", (found,))
    connection.close()
    with Unchanged(ws):
        assert says in fault(ws, "--as", "chenjing", "list", reason=reason)
        if reason != "schema_old":
            assert says in one_line(gongwen("db", "upgrade", cwd=ws))


def test_a_read_only_database_is_exit_4_and_changes_nothing(ws, key, read_only):
    with Unchanged(ws):
        writable = read_only(ws / "gongwen.db")
        line = fault(ws, "--as", "zhangwei", "do", key, "submit", reason="read_only")
        writable()
    assert f"the database {ws / 'gongwen.db'} is read-only" in line


def test_a_read_only_workspace_folder_is_exit_4_and_changes_nothing(ws, key, read_only):
    with Unchanged(ws):
        writable = read_only(ws)
        proc = gongwen("--json", "--as", "zhangwei", "do", key, "submit", cwd=ws)
        assert json_error(proc)["reason"] in ("cannot_open", "read_only")
        line = one_line(gongwen("--as", "zhangwei", "do", key, "submit", cwd=ws))
        writable()
    assert str(ws / "gongwen.db") in line


def test_a_full_disk_is_exit_4_and_changes_nothing(ws, key):
    def small_files() -> None:  # room for SQLite's 32 KB -shm, not for the transition's WAL frames
        resource.setrlimit(resource.RLIMIT_FSIZE, (33 * 1024, 33 * 1024))

    with Unchanged(ws):
        line = fault(ws, "--as", "zhangwei", "do", key, "submit", reason="io_error", preexec_fn=small_files)
    assert f"cannot read or write the database {ws / 'gongwen.db'}: disk I/O error" in line
    assert "the disk may be full" in line and "nothing was written" in line


HOLD_LOCK = helpers.HOLD_LOCK


def test_a_locked_database_says_it_is_busy(ws, key):
    with Unchanged(ws):
        holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(ws / "gongwen.db")], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            line = fault(ws, "--as", "zhangwei", "do", key, "submit", reason="db_busy",
                         env={"GONGWEN_BUSY_TIMEOUT": "0.2"})
        finally:
            holder.communicate("", timeout=30)
    assert f"the database {ws / 'gongwen.db'} is locked by another program (waited 0.2 s" in line


# -- the documents folder (exported after the commit, by the engine) ---------------------------------
def documents_a_file(ws: Path, key: str, read_only) -> None:
    shutil.rmtree(ws / "documents")
    (ws / "documents").write_text("not a folder\n", encoding="utf-8")


def documents_read_only(ws: Path, key: str, read_only) -> None:
    read_only(ws / "documents" / key)  # the item's folder (its creation wrote one there)


@pytest.mark.parametrize("spoil, where, says", [
    (documents_a_file, "documents", "a file stands where gongwen needs a folder"),
    (documents_read_only, "documents/{key}", "gongwen may not read or write there")])
def test_a_documents_folder_that_cannot_be_written_is_exit_4_not_70(ws, key, read_only, spoil, where, says):
    spoil(ws, key, read_only)
    line = one_line(gongwen("--as", "zhangwei", "do", key, "submit", cwd=ws))
    assert f"error: {ws / where.format(key=key)}: " in line and says in line, line


@pytest.mark.parametrize("spoil", [documents_a_file, documents_read_only])
def test_a_documents_folder_that_cannot_be_written_changes_nothing(ws, key, read_only, spoil):
    spoil(ws, key, read_only)
    with Unchanged(ws):
        one_line(gongwen("--as", "zhangwei", "do", key, "submit", cwd=ws))


def test_files_that_fail_after_the_commit_are_a_warning_not_an_error(gw, engine, workspace, monkeypatch):
    """The disk fills between the commit and the files: the transition is recorded (exit 0), one
    warning line says so and how to write the files again, and `docs --export` does."""
    import errno

    from workflow.documents import produce

    key = engine.create("zhangwei", "plan", values=plan_values()).key

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(workspace.root / "documents" / key))

    monkeypatch.setattr(produce, "write_files", full)
    result = gw("--as", "zhangwei", "do", key, "submit")
    assert result.exit_code == 0, result.output
    warning = [line for line in result.stderr.splitlines() if line]
    assert len(warning) == 1 and warning[0].startswith(f"warning: {key} submit (now review) was recorded, but its "
                                                       "documents could not be written: "), warning
    assert "the disk is full" in warning[0] and f"gongwen docs {key} --export DIR" in warning[0]
    assert engine.show("zhaomin", key).state == "review"
    monkeypatch.undo()
    exported = gw("--as", "zhaomin", "docs", key, "--export", workspace.root / "again")
    assert exported.exit_code == 0 and list((workspace.root / "again").glob("*_02_*.docx")), exported.output


# -- PostgreSQL --------------------------------------------------------------------------------------
def test_an_unreachable_postgresql_names_host_and_error(ws, tmp_path):
    url = "postgresql://gongwen:secret@127.0.0.1:1/gongwen"
    with Unchanged(ws):
        line = fault(ws, "--db", url, "--as", "chenjing", "list", reason="db_unreachable")
    assert line.startswith("error: cannot connect to PostgreSQL at 127.0.0.1:1 (database gongwen): ")
    assert "Connection refused" in line and "secret" not in line
    # init and demo: refused before a folder is made or emptied
    assert "cannot connect to PostgreSQL" in one_line(gongwen("--as", "admin", "init", tmp_path / "new", "--db", url,
                                                              cwd=tmp_path))
    assert not (tmp_path / "new").exists()
    assert "cannot connect to PostgreSQL" in one_line(gongwen("demo", tmp_path / "demo", cwd=tmp_path,
                                                              env={"GONGWEN_DB": url}))
    assert not (tmp_path / "demo").exists()


def test_demo_and_init_on_postgresql_through_option_environment_and_config(pg_server, tmp_path):
    if pg_server is None:
        print("skipped: pgserver is not installed (pip install -e '.[test]')")
        pytest.skip("pgserver is not installed")
    urls = []
    for _ in range(3):
        name = "gw_" + uuid.uuid4().hex[:12]
        pg_server.psql(f"CREATE DATABASE {name};")
        urls.append(pg_server.get_uri(name))
    by_option, by_environment, for_init = urls
    made = {"option": gongwen("--json", "--db", by_option, "demo", tmp_path / "d1", cwd=tmp_path),
            "environment": gongwen("--json", "demo", tmp_path / "d2", cwd=tmp_path, env={"GONGWEN_DB": by_environment})}
    for how, proc in made.items():
        assert proc.returncode == 0, (how, proc.stderr)
        assert {i["workflow"]: i["state"] for i in json.loads(proc.stdout)["items"]} == DEMO_END, how
    for folder, url in (("d1", by_option), ("d2", by_environment)):
        root = tmp_path / folder
        assert yaml.safe_load((root / "gongwen.yaml").read_text(encoding="utf-8"))["db_url"] == url
        assert not (root / "gongwen.db").exists()
        listed = [gongwen("--json", "--as", "zhaomin", "list", cwd=root),  # db_url in gongwen.yaml
                  gongwen("--json", "--db", url, "--as", "zhaomin", "list", cwd=root),
                  gongwen("--json", "--as", "zhaomin", "list", cwd=root, env={"GONGWEN_DB": url})]
        assert all(proc.returncode == 0 for proc in listed), [proc.stderr for proc in listed]
        assert len({proc.stdout for proc in listed}) == 1 and len(json.loads(listed[0].stdout)["items"]) == 3
    # init through GONGWEN_DB writes the same db_url
    proc = gongwen("--json", "--as", "admin", "init", tmp_path / "w", cwd=tmp_path, env={"GONGWEN_DB": for_init})
    assert proc.returncode == 0, proc.stderr
    assert yaml.safe_load((tmp_path / "w" / "gongwen.yaml").read_text(encoding="utf-8"))["db_url"] == for_init
    # an untouched demo on a database that holds it: refused before the folder is emptied
    before = files_of(tmp_path / "d1")
    line = one_line(gongwen("--db", by_option, "demo", tmp_path / "d1", cwd=tmp_path))
    assert "already holds a gongwen database" in line
    assert files_of(tmp_path / "d1") == before


# -- gongwen demo never deletes work ---------------------------------------------------------------
def test_demo_replaces_only_an_untouched_demo_unless_forced(tmp_path, base):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "plan.txt").write_text("my own work\n", encoding="utf-8")
    with Unchanged(notes, readable=False):
        line = fault(notes, "demo", notes, reason="not_empty", cwd=tmp_path)
    assert "is not empty and it is not a demo workspace" in line and "--force" in line

    demo = tmp_path / "demo"
    first = gongwen("--json", "demo", demo, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    events = len(rows(demo)["events"])
    assert gongwen("--as", "zhaomin", "list", cwd=demo).returncode == 0  # reading adds nothing
    again = gongwen("--json", "demo", demo, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["replaced"] is True

    created = gongwen("--as", "zhangwei", "new", "plan", "--title", "真实工作", cwd=demo)
    assert created.returncode == 0, created.stderr
    with Unchanged(demo):
        line = fault(demo, "demo", demo, reason="not_empty", cwd=tmp_path)
    assert "holds work added since the demo made it (1 event more)" in line and "--force" in line

    (demo / "gongwen.db").unlink()  # nor when it cannot tell
    for name in SQLITE_TRANSIENT:
        (demo / name).unlink(missing_ok=True)
    with Unchanged(demo, readable=False):
        assert "cannot be read" in one_line(gongwen("demo", demo, cwd=tmp_path))

    forced = gongwen("--json", "demo", demo, "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert len(rows(demo)["events"]) == events

    (demo / "documents" / "note.txt").write_text("added by hand\n", encoding="utf-8")
    with Unchanged(demo):
        assert "files changed since the demo made it (e.g. documents/note.txt)" in one_line(
            gongwen("demo", demo, cwd=tmp_path))


# -- bugs --------------------------------------------------------------------------------------------
def test_a_bug_is_exit_70_asking_for_a_report(base, monkeypatch):
    from workflow.engine.engine import Engine

    def broken(*_args, **_kwargs):
        raise ZeroDivisionError("division by zero\nsecond line")

    monkeypatch.setattr(Engine, "list_items", broken)
    result = run_cli("--home", base[0], "--as", "chenjing", "list")
    assert result.exit_code == 70
    assert result.stderr == ("error: internal error, please report: ZeroDivisionError: division by zero "
                             "(run again with GONGWEN_DEBUG=1 to see the traceback)\n")
    document = json.loads(run_cli("--json", "--home", base[0], "--as", "chenjing", "list").stdout)
    assert document["error"]["reason"] == "internal" and "please report" in document["error"]["message"]
    with pytest.raises(ZeroDivisionError):
        run_cli("--home", base[0], "--as", "chenjing", "list", env={"GONGWEN_DEBUG": "1"})


# -- the README ----------------------------------------------------------------------------------------
def test_the_readme_lists_every_reason_the_cli_can_print():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("Exit codes."):text.index("## Layout")]
    documented = set(re.findall(r"`([a-z_]+)`", section))
    found = {"usage", "bad_input", "internal", "stale"}  # click's usage errors, the bug line, Conflict's default
    for path in (REPO / "workflow").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'reason(?:=| = |, hint = )"([a-z_]+)"', source))
    found -= {"refused", "environment"}  # the classes' defaults: every raise names its reason
    assert sorted(found - documented) == []
