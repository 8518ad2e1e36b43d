"""Shared fixtures: a fresh workspace (real SQLite file in tmp_path, or a database on a
throwaway PostgreSQL server) with the demo's users, an Engine on it and a CliRunner wrapper.
The plain helpers (sample values, snapshot, run_cli, ...) are in helpers.py."""

from __future__ import annotations

import os
import uuid

import pytest
from click.testing import CliRunner
from helpers import NOW, USERS, add_users, pg_admin, use_classic, workspace_copy

from workflow.engine.engine import Engine


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No ambient workspace, user, database, clock or key leaks into a test: each test has its
    own key folder (the account's keys, as `gongwen key new` makes them)."""
    for name in ("GONGWEN_HOME", "GONGWEN_USER", "GONGWEN_DB", "GONGWEN_NOW", "GONGWEN_PASSPHRASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GONGWEN_NOW", NOW)
    monkeypatch.setenv("GONGWEN_CONFIG_HOME", str(tmp_path / "account"))
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):  # English messages whatever the developer's locale
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


# -- databases: every workspace test runs on SQLite and on a real PostgreSQL server --------------
@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """One throwaway PostgreSQL server per test process, from the pgserver package."""
    os.environ.setdefault("XDG_RUNTIME_DIR", str(tmp_path_factory.mktemp("run")))  # pgserver wants one
    try:
        import pgserver
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI must test PostgreSQL: pgserver is in the test extra")
        yield None
        return
    server = pgserver.get_server(str(tmp_path_factory.mktemp("pg")), cleanup_mode="stop")
    yield server
    server.cleanup()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request):
    """None for the workspace's SQLite file, or the URL of a fresh PostgreSQL database. The server
    is asked for only here, so that a run of SQLite tests alone (`-k sqlite`) never starts one."""
    if request.param == "sqlite":
        return None
    if request.node.get_closest_marker("sqlite_only"):
        reason = request.node.get_closest_marker("sqlite_only").args[0]
        print(f"skipped on PostgreSQL: {reason}")
        pytest.skip(f"SQLite only: {reason}")
    pg_server = request.getfixturevalue("pg_server")
    if pg_server is None:
        print("skipped: pgserver is not installed (pip install -e '.[test]')")
        pytest.skip("pgserver is not installed")
    name = "gw_" + uuid.uuid4().hex[:12]
    pg_admin(pg_server, f"CREATE DATABASE {name}")
    return pg_server.get_uri(name)


@pytest.fixture
def workspace(request, tmp_path, db_url):
    """A workspace with the admin and the demo's users, each with a registered key held by
    this test's account (GONGWEN_CONFIG_HOME), on the frozen test workflows: a copy of one made
    once per test process (helpers.workspace_copy)."""
    ws = workspace_copy(request, tmp_path, db_url, "classic", _classic)
    yield ws
    ws.close()


def _classic(ws) -> None:
    use_classic(ws.root)
    add_users(ws, USERS)


@pytest.fixture
def engine(workspace):
    return Engine(workspace)


# -- the CLI -----------------------------------------------------------------------------------
@pytest.fixture
def gw(workspace):
    """Run the CLI in-process against the workspace: gw('--as', 'lina', 'show', key)."""
    runner = CliRunner()

    def run(*args, home=True, env=None):
        from cli import cli

        argv = (["--home", str(workspace.root)] if home else []) + [str(a) for a in args]
        return runner.invoke(cli, argv, env=env, catch_exceptions=False)

    return run
