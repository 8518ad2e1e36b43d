"""Workspace commands: init, demo, and the database (db current, db upgrade, db grant)."""

from __future__ import annotations

import click

from workflow.commands.app import App
from workflow.i18n import say


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--issuer-name", help="发文机关 name, e.g. 某某县教育局.")
@click.option("--issuer-code", help="机关代字 used in 发文字号, e.g. 某教发.")
@click.option("--admin", "admin_login", metavar="LOGIN", help="First admin user (default: the acting user).")
@click.option("--db", "init_db", metavar="URL", help="Create the schema in this (empty) database instead of "
              "the workspace's SQLite file, e.g. postgresql://user:pw@host/gongwen.")
@click.pass_obj
def init(app: App, directory: str, issuer_name: str | None, issuer_code: str | None, admin_login: str | None,
         init_db: str | None) -> None:
    """Create a workspace: config, database (SQLite, or --db URL), definitions and templates."""
    from pathlib import Path

    from workflow.engine.admin import bootstrap_admin
    from workflow.engine.timers import bootstrap_system
    from workflow.store import workspace as wsmod

    db_url, given_by = (init_db, "--db") if init_db else wsmod.given_db_url(app.db_url)
    ws = wsmod.init(Path(directory), issuer_name, issuer_code, db_url, given_by)
    login = admin_login or app.login
    line = bootstrap_admin(ws, login, app.keys)
    system_line = bootstrap_system(ws, login, app.keys)  # signs what `gongwen tick` records
    app.emit({"workspace": str(ws.root), "database": ws.db.safe_url, "admin": login, "admin_key": line,
              "system_key": system_line},
             say("initialised gongwen workspace in {root}\n  database: {database}\n  admin user: {login}, key {line}\n"
                 "  system user (gongwen tick): key {system_line}, private key on this account\n"
                 "  (each user runs `gongwen key new` on their own account; add them with "
                 "`gongwen users add LOGIN --role ROLE --key LINE`)", root=ws.root, database=ws.db.safe_url,
                 login=login, line=line, system_line=system_line))


@click.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.option("--force", is_flag=True, help="Replace DIRECTORY even if it holds other files or work added "
              "since an earlier demo (deleted first).")
@click.pass_obj
def demo(app: App, directory: str | None, force: bool) -> None:
    """Create a fresh demo workspace and take one item of each workflow to publish.

    DIRECTORY (default gongwen-demo) must be empty or missing, or a demo workspace nobody has
    added to since the demo made it; anything else is refused unless --force. The database is
    --db, $GONGWEN_DB, else a SQLite file in DIRECTORY; a server database must be empty."""
    from workflow.demo.run import run_demo
    from workflow.store.workspace import given_db_url

    db_url, given_by = given_db_url(app.db_url)
    result = run_demo(directory, echo=None if app.as_json else _echo_while_read, db_url=db_url, force=force,
                      db_given_by=given_by)
    app.emit(result)


def _echo_while_read(line: str) -> None:
    """click.echo, until the reader goes away (`gongwen demo | head`): the demo still finishes,
    so that it leaves a whole demo workspace (one a later demo may replace)."""
    import os
    import sys

    try:
        click.echo(line)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


@click.group()
def db() -> None:
    """The database: schema (Alembic migrations) and, on PostgreSQL, the clerks' logins."""


@db.command("current")
@click.pass_obj
def db_current(app: App) -> None:
    """Show the schema revision of the database and the one this gongwen needs."""
    from workflow.store.migrate import HEAD, revision

    app.check_schema = False
    found = revision(app.workspace.db)  # refuses a database that is not gongwen's
    app.emit({"database": app.workspace.db.safe_url, "current": found, "head": HEAD, "up_to_date": found == HEAD},
             say("{database}: revision {found} (this gongwen: {head})", database=app.workspace.db.safe_url,
                 found=found or "none", head=HEAD) + ("" if found == HEAD else say(" — run `gongwen db upgrade`")))


@db.command("upgrade")
@click.pass_obj
def db_upgrade(app: App) -> None:
    """Upgrade the database schema in place to this gongwen's revision."""
    from workflow.store.migrate import upgrade_in_place

    app.check_schema = False
    before, after = upgrade_in_place(app.workspace.db)
    app.emit({"database": app.workspace.db.safe_url, "before": before, "after": after},
             f"{app.workspace.db.safe_url}: {before or 'none'} → {after}" if before != after
             else say("{database}: already at {after}", database=app.workspace.db.safe_url, after=after))


@db.command("grant")
@click.argument("db_login", metavar="DB_LOGIN")
@click.option("--user", "login", required=True, metavar="LOGIN",
              help="The gongwen user this database login acts as, and the only one it may act as.")
@click.option("--admin", "user_admin", is_flag=True,
              help="Also let it write users, roles and keys (the login of a gongwen admin).")
@click.pass_obj
def db_grant(app: App, db_login: str, login: str, user_admin: bool) -> None:
    """PostgreSQL: give a clerk's own database login what gongwen needs and bind it to one user.

    Run it as the schema owner (the login of `gongwen init --db` and `db upgrade`), after a DBA
    created the login (CREATE ROLE DB_LOGIN LOGIN PASSWORD '...'). DB_LOGIN gets SELECT on every
    table, INSERT where gongwen writes, UPDATE only on items and counters (with --admin also
    INSERT on users, user_roles and user_keys, UPDATE on user_keys, DELETE on user_roles: the
    writes of `gongwen users`), USAGE on the id sequences, and never UPDATE, DELETE or TRUNCATE
    on events: a trigger refuses those for every role, the owner included (a deliberate repair
    first runs ALTER TABLE events DISABLE TRIGGER gongwen_events_append_only). Granting again
    replaces the earlier grant and mapping.

    Connected as DB_LOGIN, gongwen acts only as LOGIN: `--as` anyone else is refused
    (not_authenticated). The owner and logins without a grant may act as any user. On SQLite
    there are no database logins (exit 4)."""
    from workflow.store.grants import grant

    db = app.workspace.db
    with db.write() as session:
        done = grant(session, db_login, login, user_admin)
    lines = [f"{db.safe_url}: the database login {db_login} acts as {login} only"]
    for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE"):
        on = [t for t, held in done["privileges"].items() if privilege in held]
        lines.append(f"  {privilege:<6} on {', '.join(on) or 'nothing'}")
    lines.append(f"  events: append-only (trigger {done['trigger']} refuses UPDATE, DELETE, TRUNCATE for every role)")
    app.emit({"database": db.safe_url, **done}, "\n".join(lines))
