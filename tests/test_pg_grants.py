"""`gongwen db grant` on a real PostgreSQL server (pgserver): a clerk's own database login gets
exactly the privileges the engine needs, the events table refuses UPDATE, DELETE and TRUNCATE
(privileges for the clerk, the append-only trigger for everyone, the owner included), the clerk
still works through gongwen, a mapped login acts only as its gongwen user (not_authenticated),
and on SQLite `db grant` is one line and exit 4. Roles are made with the server's superuser;
every refusal asserts the whole database is unchanged (helpers.snapshot)."""

from __future__ import annotations

import json
import uuid

import pytest
from click.testing import CliRunner
from helpers import USERS, item_row, plan_values, raw_engine, snapshot, use_classic
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from workflow.engine import admin, registry
from workflow.engine.engine import Engine
from workflow.forms import fill as formfill
from workflow.identity.keyring import KeyRing
from workflow.store import grants
from workflow.store.db import normalise_url
from workflow.store.orm import Base
from workflow.store.workspace import init

PEOPLE = [u for u in USERS if u[0] in ("zhangwei", "lina", "wangqiang", "chenjing")]  # clerk, reviewer, 局长, office
CLERK_PRIVILEGES = {  # what `db grant` must leave, as PostgreSQL reports it
    "alembic_version": ["SELECT"], "assigned_numbers": ["SELECT", "INSERT"], "blobs": ["SELECT", "INSERT"],
    "checkpoints": ["SELECT", "INSERT"], "counters": ["SELECT", "INSERT", "UPDATE"],
    "delegations": ["SELECT", "INSERT", "UPDATE"],  # a principal delegates (委托) and ends it
    "db_logins": ["SELECT"], "definition_versions": ["SELECT", "INSERT"], "events": ["SELECT", "INSERT"],
    "form_receipts": ["SELECT", "INSERT"], "items": ["SELECT", "INSERT", "UPDATE"], "settings": ["SELECT"],
    "user_keys": ["SELECT"], "user_roles": ["SELECT"], "users": ["SELECT"],
}
ADMIN_PRIVILEGES = {**CLERK_PRIVILEGES, "users": ["SELECT", "INSERT"],
                    "user_roles": ["SELECT", "INSERT", "DELETE"], "user_keys": ["SELECT", "INSERT", "UPDATE"]}
INSUFFICIENT_PRIVILEGE = "42501"


# -- fixtures ----------------------------------------------------------------------------------
def make_workspace(tmp_path, monkeypatch, db_url):
    monkeypatch.setenv("GONGWEN_CONFIG_HOME", str(tmp_path / "config"))  # this account's private keys
    ws = init(tmp_path / "ws", db_url=db_url)
    use_classic(ws.root)
    admin.bootstrap_admin(ws, "admin")
    ring = KeyRing(ws.root)
    for login, name, post, roles in PEOPLE:
        admin.manage_users(ws, "admin", "add", login, roles, name, post, key_line=ring.create(login).line)
    return ws


@pytest.fixture
def pg_ws(pg_server, tmp_path, monkeypatch):
    if pg_server is None:
        print("skipped: pgserver is not installed (pip install -e '.[test]')")
        pytest.skip("pgserver is not installed")
    name = "gw_" + uuid.uuid4().hex[:12]
    pg_server.psql(f"CREATE DATABASE {name};")
    ws = make_workspace(tmp_path, monkeypatch, pg_server.get_uri(name))
    yield ws
    ws.close()


def new_role(pg_server, prefix="clerk") -> str:
    """A login role of its own (roles are server-wide: a fresh name per test)."""
    role = f"{prefix}_{uuid.uuid4().hex[:8]}"
    pg_server.psql(f"CREATE ROLE {role} LOGIN PASSWORD 'pw';")
    return role


def url_as(ws, role: str) -> str:
    """The workspace's database URL, connecting as `role`."""
    return make_url(ws.db_url).set(username=role, password="pw").render_as_string(hide_password=False)


def run(ws, *args):
    from cli import cli

    return CliRunner().invoke(cli, ["--home", str(ws.root), *map(str, args)], catch_exceptions=False)


def ok_json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def error_of(result, exit_code: int) -> dict:
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    return json.loads(result.stdout)["error"]


def new_plan(ws, *db) -> str:
    sets = ["title=某某县教育局2025年工作要点", "year=2025", "department=办公室",
            "sections.+.heading=推进学前教育普及普惠", "sections.1.content=新建公办幼儿园2所"]
    options = [a for s in sets for a in ("--set", s)]
    created = ok_json(run(ws, *db, "--json", "--as", "zhangwei", "new", "plan", *options))
    return created["key"]


def refused_by_postgresql(url: str, statement: str) -> DBAPIError:
    """Run one statement in its own transaction; it must fail with insufficient_privilege."""
    engine = create_engine(normalise_url(url))
    try:
        with pytest.raises(DBAPIError) as caught, engine.begin() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()
    assert caught.value.orig is not None and caught.value.orig.sqlstate == INSUFFICIENT_PRIVILEGE, caught.value
    return caught.value


# -- the privileges and the append-only events table -------------------------------------------
def test_every_table_is_classified():
    """A new table must be placed in WORK, USER_ADMIN or READ_ONLY (a decision, not an accident)."""
    every = {*Base.metadata.tables, "alembic_version"}
    places = [set(grants.WORK), set(grants.USER_ADMIN), set(grants.READ_ONLY)]
    assert set().union(*places) == every
    assert sum(len(p) for p in places) == len(every)  # no table in two places
    assert grants.WORK["events"] == ("INSERT",)


def test_clerk_cannot_update_delete_or_truncate_events(pg_ws, pg_server):
    key = new_plan(pg_ws)
    ok_json(run(pg_ws, "--json", "--as", "zhangwei", "do", key, "submit"))
    clerk = new_role(pg_server)
    granted = ok_json(run(pg_ws, "--json", "db", "grant", clerk, "--user", "zhangwei"))
    assert granted["privileges"] == CLERK_PRIVILEGES
    assert granted["db_login"] == clerk and granted["user"] == "zhangwei" and granted["trigger"] == grants.TRIGGER
    assert len(granted["sequences"]) == 5  # items, events, assigned_numbers, checkpoints, delegations ids
    before = snapshot(pg_ws)
    assert before["db_logins"] == [(clerk, "zhangwei")]

    as_clerk = url_as(pg_ws, clerk)
    for statement in ("UPDATE events SET comment = 'rewritten'", "UPDATE events SET comment = '' WHERE id < 0",
                      "DELETE FROM events", f"DELETE FROM events WHERE item_key = '{key}'", "TRUNCATE events",
                      "UPDATE users SET name = 'x'", "DELETE FROM items", "INSERT INTO user_roles VALUES "
                      "('zhangwei', 'admin')", "UPDATE db_logins SET login = 'lina'"):
        error = refused_by_postgresql(as_clerk, statement)
        assert "permission denied" in str(error.orig), error
    # the owner (here the server's superuser) is stopped by the trigger, not by privileges
    for statement in ("UPDATE events SET comment = 'rewritten'", "DELETE FROM events", "TRUNCATE events"):
        error = refused_by_postgresql(pg_ws.db_url, statement)
        assert "the events table is append-only" in str(error.orig), error
    assert snapshot(pg_ws) == before

    # INSERT is what the clerk may do to events (rolled back here: it would break the chain)
    engine = create_engine(normalise_url(as_clerk))
    try:
        with engine.connect() as connection:
            connection.execute(text(
                "INSERT INTO events (item_id, item_key, seq, transition, from_state, to_state, actor, actor_roles, "
                "comment, changes, data, time, definition_hash, prev_hash, hash) SELECT item_id, item_key, seq + 100, "
                "transition, from_state, to_state, actor, actor_roles, comment, changes, data, time, definition_hash, "
                "prev_hash, repeat('f', 64) FROM events ORDER BY id DESC LIMIT 1"))
            assert connection.execute(text("SELECT count(*) FROM events")).scalar() == len(before["events"]) + 1
            connection.rollback()
    finally:
        engine.dispose()
    assert snapshot(pg_ws) == before


def test_clerk_works_through_gongwen_with_its_own_login(pg_ws, pg_server):
    clerk, reviewer = new_role(pg_server), new_role(pg_server, "reviewer")
    ok_json(run(pg_ws, "--json", "db", "grant", clerk, "--user", "zhangwei"))
    ok_json(run(pg_ws, "--json", "db", "grant", reviewer, "--user", "lina"))
    as_clerk, as_reviewer = ("--db", url_as(pg_ws, clerk)), ("--db", url_as(pg_ws, reviewer))

    key = new_plan(pg_ws, *as_clerk)
    assert ok_json(run(pg_ws, *as_clerk, "--json", "--as", "zhangwei", "do", key, "submit"))["state"] == "review"
    returned = ok_json(run(pg_ws, *as_reviewer, "--json", "--as", "lina", "do", key, "return", "-m", "请补充量化目标"))
    assert returned["state"] == "returned"
    assert ok_json(run(pg_ws, *as_clerk, "--json", "--as", "zhangwei", "show", key))["key"] == key
    row = item_row(pg_ws, key)
    assert row["version"] == 3 and len(row["events"]) == 3
    engine = raw_engine(pg_ws)
    try:
        with engine.connect() as connection:
            actors = connection.execute(text("SELECT actor FROM events WHERE item_key = :k ORDER BY seq"),
                                        {"k": key}).scalars().all()
    finally:
        engine.dispose()
    assert actors == ["zhangwei", "zhangwei", "lina"]

    # an admin's login granted with --admin manages users through gongwen (the writes of `users`)
    admin_login = new_role(pg_server, "admin")
    ok_json(run(pg_ws, "--json", "db", "grant", admin_login, "--user", "admin", "--admin"))
    as_admin = ("--db", url_as(pg_ws, admin_login), "--json", "--as", "admin")
    line = KeyRing(pg_ws.root).create("newbie").line
    ok_json(run(pg_ws, *as_admin, "users", "add", "newbie", "--name", "新人", "--role", "clerk", "--key", line))
    ok_json(run(pg_ws, *as_admin, "users", "grant", "newbie", "reviewer"))
    ok_json(run(pg_ws, *as_admin, "users", "revoke", "newbie", "reviewer"))
    ok_json(run(pg_ws, *as_admin, "users", "key", "newbie", KeyRing(pg_ws.root).create("newbie", overwrite=True).line))
    assert ok_json(run(pg_ws, "--json", "--as", "admin", "audit", "verify"))["ok"] is True


def test_mapped_login_acts_only_as_its_user(pg_ws, pg_server):
    key = new_plan(pg_ws)
    clerk = new_role(pg_server)
    ok_json(run(pg_ws, "--json", "db", "grant", clerk, "--user", "zhangwei"))
    as_clerk = ("--db", url_as(pg_ws, clerk))
    before = snapshot(pg_ws)
    for args in (("do", key, "submit"), ("new", "plan", "--set", "year=2025")):
        error = error_of(run(pg_ws, *as_clerk, "--json", "--as", "lina", *args), 1)
        assert error["reason"] == "not_authenticated", error
        assert error["message"].startswith(f"the database login {clerk} acts only as the gongwen user zhangwei, "
                                           "not lina"), error
        assert error["db_login"] == clerk and error["mapped_user"] == "zhangwei"
    assert snapshot(pg_ws) == before
    # one clear line without --json
    result = run(pg_ws, *as_clerk, "--as", "lina", "do", key, "submit")
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1
    assert snapshot(pg_ws) == before

    # the owner's login and a login without a mapping are unaffected
    assert ok_json(run(pg_ws, "--json", "--as", "lina", "show", key))["key"] == key
    reader = new_role(pg_server, "reader")
    engine = raw_engine(pg_ws)
    try:
        with engine.begin() as connection:
            connection.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {reader}"))
    finally:
        engine.dispose()
    assert ok_json(run(pg_ws, "--db", url_as(pg_ws, reader), "--json", "--as", "lina", "show", key))["key"] == key

    # granting again moves the mapping (one row per login) and keeps the privileges exact
    again = ok_json(run(pg_ws, "--json", "db", "grant", clerk, "--user", "lina", "--admin"))
    assert again["privileges"] == ADMIN_PRIVILEGES
    assert ok_json(run(pg_ws, "--json", "db", "grant", clerk, "--user", "lina"))["privileges"] == CLERK_PRIVILEGES
    assert snapshot(pg_ws)["db_logins"] == [(clerk, "lina")]
    assert ok_json(run(pg_ws, *as_clerk, "--json", "--as", "lina", "show", key))["key"] == key
    assert error_of(run(pg_ws, *as_clerk, "--json", "--as", "zhangwei", "do", key, "submit"), 1)["reason"] == \
        "not_authenticated"


def test_office_clerk_ingests_a_signed_form_with_her_own_login(pg_ws, pg_server, tmp_path):
    engine = Engine(pg_ws)
    key = engine.create("zhangwei", "plan", values=plan_values(copies=30)).key
    engine.fire("zhangwei", key, "submit")
    engine.fire("lina", key, "forward", "同意呈送签发。")
    forward = engine.history("lina", key).history[-1]
    [form] = [d for d in forward.data["documents"] if "form_id" in d]
    with pg_ws.db.read() as session:
        spec = registry.pinned(session, engine.get_item(session, key).definition_hash).transitions["forward"].form
    signed = tmp_path / "signed.docx"
    signed.write_bytes(formfill.fill((pg_ws.root / "documents" / key / form["file"]).read_bytes(), spec, "同意",
                                     opinion="同意印发。", signer="王强", date="2025年3月10日"))
    office = new_role(pg_server, "office")
    ok_json(run(pg_ws, "--json", "db", "grant", office, "--user", "chenjing"))
    result = run(pg_ws, "--db", url_as(pg_ws, office), "--json", "--as", "chenjing", "ingest", signed)
    [row] = json.loads(result.stdout)["results"]
    assert row["ok"] and row["signer"] == "wangqiang" and row["state"] == "signed", row


def test_db_grant_refusals_change_nothing(pg_ws, pg_server):
    clerk, other = new_role(pg_server), new_role(pg_server)
    ok_json(run(pg_ws, "--json", "db", "grant", clerk, "--user", "zhangwei"))
    before = snapshot(pg_ws)
    error = error_of(run(pg_ws, "--json", "db", "grant", "nobody_" + uuid.uuid4().hex[:6], "--user", "zhangwei"), 4)
    assert error["reason"] == "not_found" and "no PostgreSQL role" in error["message"]
    error = error_of(run(pg_ws, "--json", "db", "grant", other, "--user", "ghost"), 4)
    assert error["reason"] == "not_found" and "unknown user 'ghost'" in error["message"]
    owner = make_url(pg_ws.db_url).username
    error = error_of(run(pg_ws, "--json", "db", "grant", owner, "--user", "zhangwei"), 4)
    assert "privileges of the schema owner" in error["message"]
    # a clerk cannot grant: not even itself more, nor another login
    for target in (clerk, other):
        error = error_of(run(pg_ws, "--db", url_as(pg_ws, clerk), "--json", "--as", "zhangwei", "db", "grant", target,
                             "--user", "zhangwei", "--admin"), 1)
        assert error["reason"] == "not_owner" and f"not {clerk}" in error["message"]
    assert snapshot(pg_ws) == before


def test_db_grant_on_sqlite_is_one_line_and_exit_4(tmp_path, monkeypatch):
    ws = make_workspace(tmp_path, monkeypatch, None)
    try:
        before = snapshot(ws)
        result = run(ws, "db", "grant", "clerk1", "--user", "zhangwei")
        assert result.exit_code == 4, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: gongwen db grant needs PostgreSQL"), result.stderr
        assert snapshot(ws) == before
    finally:
        ws.close()
