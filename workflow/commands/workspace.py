"""Workspace commands: init, demo, and the database (db current, db upgrade, db grant)."""

from __future__ import annotations

import click

from workflow.commands.app import App


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
    import os
    from pathlib import Path

    from workflow.engine.admin import bootstrap_admin
    from workflow.store import workspace as wsmod

    ws = wsmod.init(Path(directory), issuer_name, issuer_code, init_db or app.db_url or os.environ.get("GONGWEN_DB"))
    login = admin_login or app.login
    line = bootstrap_admin(ws, login, app.keys)
    app.emit({"workspace": str(ws.root), "database": ws.db.safe_url, "admin": login, "admin_key": line},
             f"initialised gongwen workspace in {ws.root}\n  database: {ws.db.safe_url}\n"
             f"  admin user: {login}, key {line}\n"
             "  (each user runs `gongwen key new` on their own account; add them with "
             "`gongwen users add LOGIN --role ROLE --key LINE`)")


@click.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.pass_obj
def demo(app: App, directory: str | None) -> None:
    """Create a fresh demo workspace and take one item of each workflow to publish."""
    from workflow.demo.run import run_demo

    result = run_demo(directory, echo=None if app.as_json else click.echo, db_url=app.db_url)
    app.emit(result)


@click.group()
def db() -> None:
    """The database: schema (Alembic migrations) and, on PostgreSQL, the clerks' logins."""


@db.command("current")
@click.pass_obj
def db_current(app: App) -> None:
    """Show the schema revision of the database and the one this gongwen needs."""
    from workflow.store.migrate import HEAD, current

    app.check_schema = False
    found = current(app.workspace.db)
    app.emit({"database": app.workspace.db.safe_url, "current": found, "head": HEAD, "up_to_date": found == HEAD},
             f"{app.workspace.db.safe_url}: revision {found or 'none'} (this gongwen: {HEAD})"
             + ("" if found == HEAD else " — run `gongwen db upgrade`"))


@db.command("upgrade")
@click.pass_obj
def db_upgrade(app: App) -> None:
    """Upgrade the database schema in place to this gongwen's revision."""
    from workflow.store.migrate import upgrade

    app.check_schema = False
    before, after = upgrade(app.workspace.db)
    app.emit({"database": app.workspace.db.safe_url, "before": before, "after": after},
             f"{app.workspace.db.safe_url}: {before or 'none'} → {after}" if before != after
             else f"{app.workspace.db.safe_url}: already at {after}")


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
