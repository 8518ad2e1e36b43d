"""Workspace commands: init, demo, and the database schema (db current, db upgrade)."""

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
    bootstrap_admin(ws, login)
    app.emit({"workspace": str(ws.root), "database": ws.db.safe_url, "admin": login},
             f"initialised gongwen workspace in {ws.root}\n  database: {ws.db.safe_url}\n"
             f"  admin user: {login} (add users with `gongwen users add`)")


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
    """The database schema (Alembic migrations)."""


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
