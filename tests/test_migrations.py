"""Schema migrations (Alembic, workflow/migrations): a workspace created by an older release
upgrades in place without losing anything, on SQLite and on PostgreSQL.

The older release is gongwen as it was at revision 0001: its migrations folder ended there and
its HEAD was 0001. The test reproduces exactly that (a copy of the migrations folder without
the later revisions, HEAD set to 0001) and uses the real `init`, engine and ingest to create and
fill a workspace; then, back to this release, commands refuse the old schema, `gongwen db
upgrade` brings it to HEAD, and every row of every table is still there, unchanged."""

from __future__ import annotations

import json
import shutil

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from helpers import NOW, USERS, plan_values, raw_engine, snapshot
from sqlalchemy import inspect

from cli import cli
from workflow.audit import verify as audit
from workflow.audit.merkle import Checkpoint
from workflow.engine import admin, registry, users
from workflow.engine.engine import Engine
from workflow.forms import fill as formfill
from workflow.forms.ingest import ingest
from workflow.store import migrate as schema
from workflow.store.orm import Base
from workflow.store.workspace import init

OLD = "0001"
NEW_INDEX = "ix_events_item_key"


@pytest.fixture
def old_migrations(tmp_path):
    """The migrations folder of the older release: this one without the revisions after 0001."""
    folder = tmp_path / "migrations-0001"
    shutil.copytree(schema.MIGRATIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    for path in (folder / "versions").glob("*.py"):
        if path.name != "__init__.py" and not path.name.startswith(OLD + "_"):
            path.unlink()
    return folder


def gongwen(root, *args):
    return CliRunner().invoke(cli, ["--home", str(root), *map(str, args)], catch_exceptions=False)


def index_names(ws) -> dict:
    engine = raw_engine(ws)
    try:
        return {ix["name"]: ix["column_names"] for ix in inspect(engine).get_indexes("events")}
    finally:
        engine.dispose()


def schema_differences(ws) -> list:
    """What Alembic's autogenerate would change to make the database match the models."""
    engine = raw_engine(ws)
    try:
        with engine.connect() as connection:
            return compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()


def fill(ws, tmp_path) -> dict:
    """Items in every kind of state, through the engine (and one returned form through ingest),
    so that every table has rows."""
    engine = Engine(ws)
    admin.bootstrap_admin(ws, "admin")
    with ws.db.write() as session:
        for login, name, post, granted in USERS:
            users.add(session, login, name, post, granted, admin.known_roles(ws), NOW)
    keys = {}

    def plan(name, *steps, **values):
        key = engine.create("zhangwei", "plan", values=plan_values(**values)).key
        for login, transition, *comment in steps:
            engine.fire(login, key, transition, *comment)
        keys[name] = key

    to_publish = [("zhangwei", "submit"), ("lina", "forward"), ("wangqiang", "approve"), ("chenjing", "publish")]
    plan("published", *to_publish)
    plan("published_too", *to_publish, copies=30)
    plan("returned", ("zhangwei", "submit"), ("lina", "return", "请补充量化目标。"))
    plan("signed", *to_publish[:3])
    plan("draft", ("zhangwei", "edit"), title="某某县教育局2025年工作计划")
    plan("by_form", *to_publish[:2])
    # the supervisor signs the 发文稿纸 handed out at forward; chenjing ingests it (form_receipts)
    [event] = [e for e in engine.history("zhaomin", keys["by_form"]).history if e.transition == "forward"]
    [doc] = [d for d in event.data["documents"] if "form_id" in d]
    with ws.db.read() as session:
        item = engine.get_item(session, keys["by_form"])
        spec = registry.pinned(session, item.definition_hash).transitions["forward"].form
    blob = (ws.root / "documents" / keys["by_form"] / doc["file"]).read_bytes()
    signed = tmp_path / "returned" / "签发.docx"
    signed.parent.mkdir()
    signed.write_bytes(formfill.fill(blob, spec, "同意", opinion="同意印发。", signer="王强", date="2025年3月10日"))
    [result] = ingest(engine, "chenjing", [str(signed)], None)
    assert result["ok"], result
    keys["checkpoint"] = audit.make_checkpoint(ws.db, "zhaomin", NOW)
    return keys


def test_a_workspace_of_the_older_release_upgrades_in_place(old_migrations, monkeypatch, db_url, tmp_path):
    with monkeypatch.context() as older_release:
        older_release.setattr(schema, "MIGRATIONS", old_migrations)
        older_release.setattr(schema, "HEAD", OLD)
        ws = init(tmp_path / "ws", db_url=db_url)
        assert schema.current(ws.db) == OLD and schema.heads() == OLD
        assert NEW_INDEX not in index_names(ws)
        keys = fill(ws, tmp_path)
        ws.close()
        assert gongwen(ws.root, "--as", "zhaomin", "show", keys["signed"]).exit_code == 0  # its own CLI works
    before = snapshot(ws)
    assert all(before[table] for table in before), [t for t in before if not before[t]]  # every table has rows
    assert before["alembic_version"] == [(OLD,)]

    # this release refuses the old schema, and touches nothing
    for args in (("show", keys["signed"]), ("do", keys["signed"], "publish"), ("list",)):
        result = gongwen(ws.root, "--as", "chenjing", *args)
        assert result.exit_code == 4, result.output
        assert result.stderr.strip() == ("error: the database schema is at revision 0001, this gongwen needs "
                                         f"{schema.HEAD}: run `gongwen db upgrade`")
    result = gongwen(ws.root, "--json", "db", "current")
    assert result.exit_code == 0 and json.loads(result.stdout) == {
        "database": ws.db.safe_url, "current": OLD, "head": schema.HEAD, "up_to_date": False}
    assert snapshot(ws) == before

    result = gongwen(ws.root, "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"{ws.db.safe_url}: {OLD} → {schema.HEAD}"

    # at HEAD, with every row of every table as it was
    result = gongwen(ws.root, "--json", "db", "current")
    assert json.loads(result.stdout)["current"] == schema.HEAD and json.loads(result.stdout)["up_to_date"]
    after = snapshot(ws)
    assert after.pop("alembic_version") == [(schema.HEAD,)]
    before.pop("alembic_version")
    assert after == before
    assert index_names(ws)[NEW_INDEX] == ["item_key"]
    assert schema_differences(ws) == []
    checkpoint = keys["checkpoint"]
    report = audit.verify(ws.db, Checkpoint(checkpoint["size"], checkpoint["root"]))
    assert report.ok, report.problems
    assert report.events == len(after["events"]) and report.items == len(after["items"])
    assert any("consistent with the checkpoint" in note for note in report.notes)

    # and the workspace works: the signed items are published with the next 发文字号
    for key, number in ((keys["signed"], 3), (keys["by_form"], 4)):
        result = gongwen(ws.root, "--as", "chenjing", "do", key, "publish")
        assert result.exit_code == 0, result.output
        assert f"doc_number: 某教发〔2025〕{number}号" in result.stdout
    result = gongwen(ws.root, "--json", "--as", "zhaomin", "show", keys["published"])
    assert result.exit_code == 0 and json.loads(result.stdout)["numbers"] == {"doc_number": "某教发〔2025〕1号"}
    assert audit.verify(ws.db).ok

    # upgrading again changes nothing
    before = snapshot(ws)
    result = gongwen(ws.root, "db", "upgrade")
    assert result.exit_code == 0 and result.stdout.strip() == f"{ws.db.safe_url}: already at {schema.HEAD}"
    assert snapshot(ws) == before


def test_head_is_the_newest_migration():
    assert schema.HEAD == schema.heads()


def test_the_models_match_a_newly_created_schema(workspace):
    assert schema.current(workspace.db) == schema.HEAD
    assert schema_differences(workspace) == []
