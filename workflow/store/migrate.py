"""The database schema through Alembic: create (init), upgrade, current revision."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Connection

    from workflow.store.db import Database

from pathlib import Path

from workflow.errors import BadInput

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
HEAD = "0003"  # the newest revision in migrations/versions (a test keeps the two in step)


def _config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def heads() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head() or ""


def current(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(db: Database, revision: str = "head") -> tuple[str | None, str | None]:
    """Bring the schema to `revision`; returns (before, after)."""
    from alembic import command

    before = current(db)
    with db.engine.begin() as connection:
        command.upgrade(_config(connection), revision)
    return before, current(db)


def create(db: Database) -> None:
    """A new database: refuse one that already holds a gongwen schema, then build it."""
    from sqlalchemy import inspect

    with db.engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
    if tables & {"items", "events", "alembic_version"}:
        raise BadInput(f"{db.safe_url} already holds a gongwen database; use it with --db, or `gongwen db upgrade`")
    upgrade(db)


def require_current(db: Database) -> None:
    """Refuse to work on a database whose schema is not this release's (a plain query: no
    alembic import on every command)."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        with db.engine.connect() as connection:
            found = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:
        found = None
    wanted = HEAD
    if found != wanted:
        raise BadInput(f"the database schema is at revision {found or 'none'}, this gongwen needs {wanted}: "
                       "run `gongwen db upgrade`")
