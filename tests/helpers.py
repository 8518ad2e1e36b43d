"""Shared test helpers (plain functions and constants; the fixtures are in conftest.py): sample
field values per workflow, engine.fire with keyword --set pairs, a whole-database snapshot, one
item's row, and the CLI in-process or as a real subprocess. Test files import them with
`from helpers import ...`."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from workflow.demo.run import USERS as DEMO_USERS

REPO = Path(__file__).resolve().parents[1]
NOW = "2025-03-10T09:00:00"  # fixed clock (Engine.now honours GONGWEN_NOW)
YEAR = 2025

# the demo's users: login, name, post, roles; and a drafter who also holds the signing role, for
# separation-of-duties refusals. ALL_USERS for the shipped workflows; USERS, those whose roles the
# frozen test workflows (tests/data/classic, the `workspace` fixture) know.
ALL_USERS = [*DEMO_USERS, ("boss", "周总", "副局长（兼拟稿）", ["clerk", "reviewer", "supervisor", "office"])]
_CLASSIC_ROLES = {"clerk", "reviewer", "supervisor", "office", "auditor", "inspector", "finance", "personnel",
                  "basic_edu", "supervision"}
USERS = [user for user in ALL_USERS if set(user[3]) <= _CLASSIC_ROLES]


DEMO_END = {"inspection": "closed", "clean_school": "publish", "plan": "archived"}  # where the demo leaves its items


# -- the engine --------------------------------------------------------------------------------
def fire(engine, login, key, transition, comment="", **sets):
    """engine.fire with --set pairs given as keyword arguments (`a__1__b` means `a.1.b`)."""
    pairs = [(name.replace("__", "."), str(value)) for name, value in sets.items()]
    return engine.fire(login, key, transition, comment, pairs)


# -- sample data -------------------------------------------------------------------------------
def plan_values(**extra) -> dict:
    values = {
        "title": f"某某县教育局{YEAR}年工作要点", "year": YEAR, "kind": "工作要点", "department": "办公室",
        "sections": [{"heading": "推进学前教育普及普惠", "content": "新建公办幼儿园。", "due": f"{YEAR}-12-31"}],
    }
    values.update(extra)
    return values


def inspection_values(**extra) -> dict:
    values = {
        "school": "某某县第一实验小学", "stage": "小学", "kind": "综合督导",
        "notice_date": "2025-01-02", "visit_start": "2025-01-10", "visit_end": "2025-01-11",
        "team": [{"name": "刘洋", "role": "组长"}, {"name": "孙丽", "role": "成员"}],
    }
    values.update(extra)
    return values


def clean_school_values(**extra) -> dict:
    values = {
        "school": "某某县城关中学", "stage": "初中", "tier": "示范校", "batch": YEAR,
        "self_report": "学校建立小微权力清单，推进校务公开。",
        "self_scores": [{"code": "1", "indicator": "组织领导", "score": "14"},
                        {"code": "2", "indicator": "制度建设与权力运行", "score": "18.5"}],
        "veto_items": [{"item": "班子成员违纪违法受处分", "hit": False}],
    }
    values.update(extra)
    return values


# -- database snapshot -------------------------------------------------------------------------
# The engine tests run on a frozen copy of the three workflows and their templates as they were
# before the shipped ones followed the regulation step by step (issue 15): generic engine behaviour
# is tested on small, stable workflows; the shipped procedures have their own end-to-end tests
# (test_procedures.py) and the demo.
CLASSIC = Path(__file__).resolve().parent / "data" / "classic"


def use_classic(root) -> None:
    """Put the frozen test workflows (tests/data/classic) in the workspace at `root`."""
    for name in ("definitions", "templates_docx"):
        shutil.rmtree(Path(root) / name)
        shutil.copytree(CLASSIC / name, Path(root) / name)


def db_path(ws) -> Path:
    return Path(ws.root) / "gongwen.db"


def raw_engine(ws):
    """A separate engine on the workspace's database (not the one gongwen uses)."""
    from sqlalchemy import create_engine

    from workflow.store.db import normalise_url

    return create_engine(normalise_url(ws.db_url))


def rows_of(ws, as_row=dict) -> dict:
    """Every row of every table ({column: value} each, or as_row of it), in primary-key order,
    read through a separate connection."""
    from sqlalchemy import MetaData, select

    engine = raw_engine(ws)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            return {name: [as_row(r._mapping) for r in connection.execute(
                        select(table).order_by(*table.primary_key.columns))]
                    for name, table in sorted(metadata.tables.items())}
    finally:
        engine.dispose()


def snapshot(ws) -> dict:
    """Every row of every table as a tuple, in primary-key order: compare before and after."""
    return rows_of(ws, lambda mapping: tuple(mapping.values()))


def item_row(ws, key: str) -> dict:
    from sqlalchemy import text

    engine = raw_engine(ws)
    try:
        with engine.connect() as connection:
            row = connection.execute(text("SELECT * FROM items WHERE key = :key"), {"key": key}).mappings().one()
            events = connection.execute(text("SELECT seq, hash FROM events WHERE item_id = :id ORDER BY seq"),
                                        {"id": row["id"]}).all()
    finally:
        engine.dispose()
    loads = lambda v: json.loads(v) if isinstance(v, str) else v
    return {**dict(row), "fields": loads(row["fields"]), "numbers": loads(row["numbers"]),
            "events": [tuple(e) for e in events]}


# -- the CLI -----------------------------------------------------------------------------------
def run_cli(*args, env=None):
    """The CLI in-process without any workspace option."""
    from cli import cli

    return CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)


def gongwen_command() -> list[str]:
    script = Path(sys.executable).with_name("gongwen")
    if script.is_file():
        return [str(script)]
    found = shutil.which("gongwen")
    return [found] if found else [sys.executable, "-m", "cli"]


def run_subprocess(*args, cwd, extra_env=None) -> subprocess.CompletedProcess:
    """The installed command in a child process, with the test's clock and key folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGWEN_")}
    env["GONGWEN_NOW"] = NOW
    if os.environ.get("GONGWEN_CONFIG_HOME"):
        env["GONGWEN_CONFIG_HOME"] = os.environ["GONGWEN_CONFIG_HOME"]
    env.update(extra_env or {})
    if gongwen_command()[0] == sys.executable:  # `python -m cli` needs the checkout on the path
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.run(gongwen_command() + [str(a) for a in args], cwd=cwd, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=120)


USERS_EVENTS = 1 + len(USERS)  # the @users events of the `workspace` fixture: the admin's bootstrap, each user


def add_users(ws, people, admin_login: str = "admin") -> None:
    """The first admin (bootstrap) unless there is one, then each (login, name, post, roles), each
    with a key made in this account's key folder and registered by the admin."""
    from workflow.engine import admin
    from workflow.identity.keyring import KeyRing

    keys = KeyRing()
    with ws.db.read() as session:
        from workflow.store.orm import User

        empty = session.get(User, admin_login) is None
    if empty:
        admin.bootstrap_admin(ws, admin_login, keys)
    from workflow.demo.run import UNITS

    for login, name, post, granted in people:
        line = keys.create(login, overwrite=True).line
        admin.manage_users(ws, admin_login, "add", login, granted, name=name, title=post, key_line=line, keys=keys,
                           unit=UNITS.get(login, ""))


def sql(workspace, statement: str, **params) -> list:
    """Tamper the way someone with the database would: plain SQL on a connection of their own
    (the sqlite3 module on the SQLite file; a separate SQLAlchemy engine on PostgreSQL)."""
    if workspace.db.is_sqlite:
        con = sqlite3.connect(db_path(workspace))
        try:
            with con:
                return con.execute(statement, params).fetchall()
        finally:
            con.close()
    from sqlalchemy import text

    engine = raw_engine(workspace)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(statement), params)
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        engine.dispose()


# -- shared by the fault and bad-input tests --------------------------------------------------------
HOLD_LOCK = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("held", flush=True)
sys.stdin.read()
connection.execute("ROLLBACK")
"""  # a child that holds SQLite's write lock until its stdin closes


def time_limit(seconds: float):
    """A generator for an autouse fixture: the test fails after `seconds` (a hang), where Python
    code runs in the main thread (SIGALRM); elsewhere it does nothing."""
    import signal
    import threading

    import pytest

    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum, frame):
        pytest.fail(f"still running after {seconds} s: a hang", pytrace=False)

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def require_soffice() -> str:
    """The soffice executable; without it the test is skipped with a printed reason (failed in CI,
    which installs LibreOffice)."""
    import pytest

    from workflow.documents import office

    soffice = office.find_soffice()
    if soffice is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice) is not installed, and CI must run this test")
        print("skipped: LibreOffice (soffice) is not installed; CI installs it")
        pytest.skip("LibreOffice (soffice) is not installed")
    return soffice


def make_read_only(path: Path):
    """Make `path` read-only and return the step that undoes it: chmod as a user; as root (whom
    file modes do not stop) chattr +i, or the test is skipped with the reason printed."""
    import pytest

    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        return lambda: path.chmod(mode)
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True) \
        if shutil.which("chattr") else None
    if done is None or done.returncode != 0:
        why = "no chattr" if done is None else done.stderr.strip()
        print(f"skipped: running as root, whom file modes do not stop, and chattr +i is refused ({why})")
        pytest.skip(f"cannot make {path.name} read-only as root here ({why})")
    return lambda: subprocess.run(["chattr", "-i", str(path)], check=True)


# -- workspaces copied from a template made once per test process --------------------------------
_PG_ADMIN: list = []  # per test process: one autocommit connection to the server's postgres database
_TEMPLATES: dict[tuple[str, str], tuple] = {}  # (database kind, variant) -> (folder, url, database)


def pg_admin(pg_server, statement: str) -> None:
    """Run a statement such as CREATE DATABASE on the test server (a connection kept per test
    process: no psql process per test)."""
    import psycopg

    if not _PG_ADMIN:
        url = pg_server.get_uri("postgres").replace("postgresql+psycopg://", "postgresql://")
        _PG_ADMIN.append(psycopg.connect(url, autocommit=True))
    _PG_ADMIN[0].execute(statement)


def _template(kind: str, variant: str, build, tmp_path_factory, pg_server) -> tuple:
    """A workspace made through the real commands (init, then `build(ws)`: workflows, users and
    their keys), kept with its account's keys in a folder and, on PostgreSQL, its database to copy."""
    if (kind, variant) not in _TEMPLATES:
        import uuid

        from workflow.store.workspace import init

        folder = tmp_path_factory.mktemp(f"template_{kind}_{variant}")
        url, name = None, None
        if kind == "postgresql":
            name = "gw_template_" + uuid.uuid4().hex[:8]
            pg_admin(pg_server, f"CREATE DATABASE {name}")
            url = pg_server.get_uri(name)
        saved = os.environ.get("GONGWEN_CONFIG_HOME")
        os.environ["GONGWEN_CONFIG_HOME"] = str(folder / "account")
        try:
            ws = init(folder / "ws", db_url=url)
            build(ws)
            ws.close()  # a template database takes no connection while it is copied
        finally:
            os.environ["GONGWEN_CONFIG_HOME"] = saved or ""
        _TEMPLATES[kind, variant] = (folder, url, name)
    return _TEMPLATES[kind, variant]


def shipped_users(ws) -> None:
    """The `shipped` variant of workspace_copy: the shipped workflows and every demo user."""
    add_users(ws, ALL_USERS)


def workspace_copy(request, tmp_path, db_url, variant: str, build, name: str = "ws"):
    """A workspace at tmp_path/name as `build` leaves a fresh one, on db_url (None: SQLite): a copy
    of a template made once per test process and variant (the folder, the account's keys into
    this test's GONGWEN_CONFIG_HOME, and the SQLite file, or a PostgreSQL database created from
    the template's). What a test then does is its own."""
    from sqlalchemy.engine import make_url

    from workflow.store.workspace import Workspace

    kind = "sqlite" if db_url is None else "postgresql"
    pg_server = request.getfixturevalue("pg_server") if db_url else None
    folder, template_url, template_db = _template(kind, variant, build, request.getfixturevalue("tmp_path_factory"),
                                                  pg_server)
    shutil.copytree(folder / "ws", tmp_path / name)
    shutil.copytree(folder / "account", Path(os.environ["GONGWEN_CONFIG_HOME"]), dirs_exist_ok=True)
    if db_url:
        database = make_url(db_url).database
        pg_admin(pg_server, f"DROP DATABASE {database}")
        pg_admin(pg_server, f"CREATE DATABASE {database} TEMPLATE {template_db}")
        config = tmp_path / name / "gongwen.yaml"
        config.write_text(config.read_text(encoding="utf-8").replace(template_url, db_url), encoding="utf-8")
    return Workspace(tmp_path / name, db_url)
