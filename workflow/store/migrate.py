"""The database schema through Alembic: create (init), upgrade, current revision, and the check
every command makes first: is this a gongwen database, and at this release's revision?"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Connection

    from workflow.store.db import Database

from pathlib import Path

from workflow.errors import BadInput, EnvironmentFault

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
HEAD = "0007"  # the newest revision in migrations/versions (a test keeps the two in step)
GONGWEN_TABLES = {"items", "events", "alembic_version"}
SQLITE_HEADER = b"SQLite format 3\x00"


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


def known_revisions() -> set[str]:
    """The revisions of migrations/versions (their files are named REVISION_what.py)."""
    return {path.name.partition("_")[0] for path in (MIGRATIONS / "versions").glob("[0-9]*_*.py")}


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


def upgrade_in_place(db: Database) -> tuple[str | None, str | None]:
    """`gongwen db upgrade`: only a gongwen database of a known revision is upgraded; an empty,
    foreign, damaged or missing one is refused (upgrading it would make a new, empty database)."""
    revision(db)  # refuses what is not a gongwen database
    return upgrade(db)


def _tables(db: Database) -> set[str]:
    from sqlalchemy import inspect

    with db.engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def check_empty(db: Database) -> None:
    """A database to create a schema in: refuse one that already holds a gongwen schema."""
    if _tables(db) & GONGWEN_TABLES:
        raise BadInput(f"{db.safe_url} already holds a gongwen database; use it with --db, or `gongwen db upgrade`",
                       reason="db_not_empty")


def create(db: Database) -> None:
    """A new database: refuse one that already holds a gongwen schema, then build it."""
    check_empty(db)
    upgrade(db)


def _not_gongwen(db: Database, why: str) -> EnvironmentFault:
    return EnvironmentFault(f"{db.where} is not a gongwen database or is damaged ({why}): restore it from a backup",
                            reason="damaged_db")


def _check_file(db: Database) -> None:
    """A workspace's SQLite file must be there and be an SQLite file before anything opens it:
    opening would otherwise make an empty database of a missing or empty file."""
    path = db.sqlite_path
    if path is None:
        return
    if not path.exists():
        raise EnvironmentFault(f"the database {path} does not exist: restore it from a backup, or give the right "
                               "database (--db, GONGWEN_DB or db_url in gongwen.yaml)", reason="no_database")
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:  # the newest pages may still be in the WAL only
        return
    try:
        with path.open("rb") as file:
            header = file.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise EnvironmentFault(f"cannot read the database {path}: {exc.strerror}", reason="cannot_open") from None
    if not header:
        raise _not_gongwen(db, "the file is empty")
    if header != SQLITE_HEADER:
        raise _not_gongwen(db, "not an SQLite file")


def revision(db: Database) -> str:
    """The schema revision of a gongwen database; EnvironmentFault (reason damaged_db) when the
    database is missing, empty, not gongwen's or damaged. Faults of the surroundings (locked,
    unreachable...) come as the database explains them."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    _check_file(db)
    try:
        with db.engine.connect() as connection:
            found = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:  # no such table: look at what is there
        tables = _tables(db)
        if not tables:
            raise _not_gongwen(db, "it holds no tables") from None
        raise _not_gongwen(db, "it has no alembic_version table") from None
    if not found:
        raise _not_gongwen(db, "its alembic_version table is empty")
    if found != HEAD and found not in known_revisions():
        if found.isdigit() and HEAD.isdigit() and int(found) > int(HEAD):
            raise EnvironmentFault(f"the database schema is at revision {found}, newer than this gongwen's "
                                   f"({HEAD}): use the newer gongwen that upgraded it", reason="schema_newer")
        raise _not_gongwen(db, f"unknown schema revision {found!r}")
    return str(found)


def require_current(db: Database) -> None:
    """Refuse to work on a database whose schema is not this release's (a plain query: no
    alembic import on every command)."""
    found = revision(db)
    if found != HEAD:
        raise BadInput(f"the database schema is at revision {found}, this gongwen needs {HEAD}: "
                       "run `gongwen db upgrade`", reason="schema_old")
