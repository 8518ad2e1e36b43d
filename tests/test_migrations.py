"""Schema migrations (Alembic, workflow/store/migrations): a workspace created by an older release
upgrades in place without losing anything, on SQLite and on PostgreSQL.

The older release is gongwen at schema revision 0001. Its data is recorded in
tests/data/release_0001.json, made once with that release's own code (commit 663d600, the last of
the release whose schema ended at 0002, with its migrations folder cut after 0001 and its HEAD set
to 0001, as it was at 0001):

    git worktree add /tmp/gongwen-0001 663d600
    python tools/record_release.py /tmp/gongwen-0001
    git worktree remove /tmp/gongwen-0001

That is init, the admin and the demo's users, four items of the three workflows through
transitions (rendered documents), an approval form signed in Word and ingested, a published plan
with its 发文字号, and an audit checkpoint: every row of every table but alembic_version (blobs
as base64: documents are verified by their hash). The test builds that database again without
today's write path: Alembic brings an empty database to 0001 and SQLAlchemy Core inserts the
recorded rows; the workspace folder is the recorded gongwen.yaml (the documents/ copies of the
stored blobs are left out: nothing here reads them). Then, with this release, commands refuse
the old schema, `gongwen db upgrade` brings it to HEAD, every recorded row is still there,
unchanged (columns added since are NULL), and the event log holds one more event: the unsigned
schema_upgrade marker of 0003 on the @users stream (the users and roles it starts from), chained
after the older release's last event; `audit verify` passes, consistent with the older release's
checkpoint."""

from __future__ import annotations

import base64
import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
import yaml
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from helpers import raw_engine, rows_of, snapshot
from sqlalchemy import MetaData, inspect, text

from cli import cli
from workflow.audit import verify as audit
from workflow.audit.merkle import parse_checkpoint
from workflow.canonical import canonical_json, canonical_text
from workflow.store import chain
from workflow.store import migrate as schema
from workflow.store.orm import Base
from workflow.store.workspace import CONFIG_NAME, Workspace, init, shipped_dir

DATASET = Path(__file__).resolve().parent / "data" / "release_0001.json"
OLD = "0001"
NEW_INDEX = "ix_events_item_key"  # added by 0002
MARKED = "0003"  # the revision whose upgrade appends the schema_upgrade marker
MARKER_STREAM = "@users"  # the marker's item_key


@pytest.fixture(scope="module")
def release() -> dict:
    return json.loads(DATASET.read_text(encoding="utf-8"))


def recorded_rows(release) -> dict:
    """The recorded tables as lists of {column: value}, binary columns back to bytes."""
    tables = {}
    for name, table in release["tables"].items():
        binary = set(release["binary"].get(name, ()))
        tables[name] = [{column: base64.b64decode(value) if column in binary and value is not None else value
                         for column, value in zip(table["columns"], row)} for row in table["rows"]]
    return tables


def gongwen(root, *args):
    return CliRunner().invoke(cli, ["--home", str(root), *map(str, args)], catch_exceptions=False)


def reflected(ws) -> MetaData:
    engine = raw_engine(ws)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        return metadata
    finally:
        engine.dispose()


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


def older_workspace(root: Path, db_url: str | None, release: dict) -> Workspace:
    """The recorded workspace: its gongwen.yaml (naming the PostgreSQL database if there is one),
    the schema at 0001 by Alembic, the recorded rows inserted with SQLAlchemy Core."""
    root.mkdir()
    config = release["config"] + (yaml.safe_dump({"db_url": db_url}) if db_url else "")
    (root / CONFIG_NAME).write_text(config, encoding="utf-8")
    ws = Workspace(root)
    assert schema.upgrade(ws.db, OLD) == (None, OLD)
    recorded = recorded_rows(release)
    metadata = reflected(ws)
    assert set(metadata.tables) - {"alembic_version"} == set(recorded)  # the dataset is of revision 0001
    with ws.db.engine.begin() as connection:
        for table in metadata.sorted_tables:  # parents first
            if recorded.get(table.name):
                connection.execute(table.insert(), recorded[table.name])
        if not ws.db.is_sqlite:  # the id sequences where the older release's inserts left them
            for table in metadata.sorted_tables:
                keys = list(table.primary_key.columns)
                if recorded.get(table.name) and len(keys) == 1 and keys[0].type.python_type is int:
                    connection.execute(text("SELECT setval(pg_get_serial_sequence(:table, :column), :value)"),
                                       {"table": table.name, "column": keys[0].name,
                                        "value": max(row[keys[0].name] for row in recorded[table.name])})
    return ws


def test_a_workspace_of_the_older_release_upgrades_in_place(release, db_url, tmp_path):
    recorded = recorded_rows(release)
    assert all(recorded.values()), [name for name, rows in recorded.items() if not rows]  # every table has rows
    assert {row["workflow_id"] for row in recorded["items"]} == {"plan", "inspection", "clean_school"}
    ws = older_workspace(tmp_path / "ws", db_url, release)
    keys = release["keys"]
    assert NEW_INDEX not in index_names(ws)
    before = snapshot(ws)
    assert before["alembic_version"] == [(OLD,)]

    # this release refuses the old schema, and touches nothing
    for args in (("show", keys["published"]), ("do", keys["returned"], "edit"), ("list",)):
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

    # at HEAD: the schema is the models', with the index of 0002
    result = gongwen(ws.root, "--json", "db", "current")
    assert json.loads(result.stdout)["current"] == schema.HEAD and json.loads(result.stdout)["up_to_date"]
    assert schema.HEAD == schema.heads()
    assert schema_differences(ws) == []
    assert index_names(ws)[NEW_INDEX] == ["item_key"]

    # every recorded row of every table as it was, the columns added since NULL (users.unit, of 0005:
    # the empty text, no unit)
    after = rows_of(ws)
    assert after.pop("alembic_version") == [{"version_num": schema.HEAD}]
    old_events = recorded["events"]
    *kept_events, marker = after["events"]
    for name, rows in recorded.items():
        found = kept_events if name == "events" else after[name]
        assert [{column: row[column] for column in rows[0]} for row in found] == rows, name
        added = set(found[0]) - set(rows[0])
        default = {("users", "unit"): ""}
        assert all(row[column] == default.get((name, column)) for row in found for column in added), name
    assert {"signature", "signer"} <= set(after["events"][0]) - set(old_events[0])

    # and one event more: the unsigned marker of 0003 on the @users stream, with the users and roles
    # of that moment, chained after the older release's last event
    roles: dict = {}
    for row in sorted(recorded["user_roles"], key=lambda row: (row["login"], row["role"])):
        roles.setdefault(row["login"], []).append(row["role"])
    baseline = [{"login": user["login"], "name": user["name"], "title": user["title"],
                 "roles": roles.get(user["login"], [])} for user in sorted(recorded["users"], key=lambda u: u["login"])]
    payload = {"item": MARKER_STREAM, "seq": 1, "transition": "schema_upgrade", "from": None, "to": MARKED,
               "actor": "gongwen", "roles": [], "comment": "", "changes": {},
               "data": {"revision": MARKED, "signed_from_here": True, "users": baseline},
               "time": marker["time"], "definition": ""}
    expected = {
        "id": old_events[-1]["id"] + 1, "item_id": None, "item_key": MARKER_STREAM, "seq": 1,
        "transition": "schema_upgrade", "from_state": None, "to_state": MARKED, "actor": "gongwen",
        "actor_roles": "[]", "comment": "", "changes": "{}", "data": canonical_text(payload["data"]),
        "time": marker["time"], "definition_hash": "", "prev_hash": old_events[-1]["hash"],
        "hash": chain.link(old_events[-1]["hash"], canonical_json(payload)), "signature": None, "signer": None}
    assert {column: marker[column] for column in expected} == expected
    assert dt.datetime.fromisoformat(marker["time"]).utcoffset() is not None

    # the chain (the marker included), the documents and the items verify, consistent with the
    # checkpoint the older release made
    report = audit.verify(ws.db, parse_checkpoint(release["checkpoint"]))
    assert report.ok, report.problems
    assert report.events == len(old_events) + 1 and report.items == len(recorded["items"])
    assert any("consistent with the checkpoint" in note for note in report.notes)

    # the workspace reads: the published plan with its 发文字号
    result = gongwen(ws.root, "--json", "--as", "zhaomin", "show", keys["published"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["numbers"] == {"doc_number": "某教发〔2025〕1号"}

    # upgrading again changes nothing
    before = snapshot(ws)
    result = gongwen(ws.root, "db", "upgrade")
    assert result.exit_code == 0 and result.stdout.strip() == f"{ws.db.safe_url}: already at {schema.HEAD}"
    assert snapshot(ws) == before

    # nobody holds a key yet: the admin registers their own first (signed by it), then the others'
    # (the older release's workspace folder held its copies of the Word templates, as every one does)
    shutil.copytree(shipped_dir("templates_docx"), ws.root / "templates_docx", dirs_exist_ok=True)
    refused = gongwen(ws.root, "--json", "--as", "zhangwei", "do", keys["returned"], "submit", "-m", "已补充")
    assert refused.exit_code == 1 and json.loads(refused.stdout)["error"]["reason"] == "not_authenticated"
    assert snapshot(ws) == before
    for login in ("admin", "zhangwei"):
        line = json.loads(gongwen(ws.root, "--json", "key", "new", "--login", login).stdout)["key"]
        registered = gongwen(ws.root, "--json", "--as", "admin", "users", "key", login, line)
        assert registered.exit_code == 0, registered.output
    moved = gongwen(ws.root, "--json", "--as", "zhangwei", "do", keys["returned"], "submit", "-m", "已补充")
    assert moved.exit_code == 0, moved.output
    report = audit.verify(ws.db, parse_checkpoint(release["checkpoint"]))
    assert report.ok, report.problems
    assert report.signatures == 3  # the admin's own key, zhangwei's, and his transition
    assert any(note.startswith(f"{len(old_events)} events from before signed events") for note in report.notes)
    ws.close()


def test_head_is_the_newest_migration():
    assert schema.HEAD == schema.heads()


def test_the_models_match_a_newly_created_schema(db_url, tmp_path):
    ws = init(tmp_path / "ws", db_url=db_url)
    assert schema.current(ws.db) == schema.HEAD
    assert schema_differences(ws) == []
    ws.close()
