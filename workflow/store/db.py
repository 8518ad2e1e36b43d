"""Engines and sessions: SQLite (WAL, BEGIN IMMEDIATE for writes) or a server given by URL.

A fault of the database's surroundings (a locked, read-only, full, damaged or missing SQLite file;
an unreachable PostgreSQL server) leaves the driver as a typed EnvironmentFault with one true line
(`Database.explain`, hooked into the engine's handle_error event), so every caller, the command
line's included, reports it the same way; anything else stays the driver's error (a bug)."""

from __future__ import annotations

import os
import re
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from workflow.errors import BadInput, EnvironmentFault

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, ExceptionContext

WRITE_LOCK = 0x676F6E6777656E  # "gongwen"
LOCKED_AT = "gongwen_locked_at"  # connection.info: when this write transaction took the write lock
OPTIMISTIC = "gongwen_optimistic"  # execution option, and SQLite connection.info: a write that locks at its first write
DB_LOGIN = "gongwen_db_login"  # session.info of a PostgreSQL write: (current_user, the gongwen user it maps to)
BUSY_TIMEOUT = "GONGWEN_BUSY_TIMEOUT"  # seconds a write waits for another writer's lock (default 30)
URL_FORMS = "sqlite:///PATH or postgresql://USER:PASSWORD@HOST[:PORT]/DATABASE"


class SnapshotMoved(Exception):
    """An optimistic write found that another writer committed, since it began reading, what it
    depends on (SQLite: anything; PostgreSQL: its items or the users' stream, chain.catch_up):
    nothing was written; the caller runs the unit of work again under the lock (Database.write)."""


def take_write_lock(session: Session) -> None:
    """The write lock for an optimistic PostgreSQL unit of work, at its first write (a flush, or a
    number drawn), then its pending events linked after those appended meanwhile. A write that
    holds it already, and SQLite (whose first write takes it), pass."""
    connection = session.connection()
    if connection.dialect.name != "postgresql" or LOCKED_AT in connection.info:
        return
    from workflow.store import chain

    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK})
    connection.info[LOCKED_AT] = time.perf_counter()
    try:
        chain.catch_up(session)
    except chain.HeadMoved:
        raise SnapshotMoved() from None


def normalise_url(url: str) -> str:
    """postgresql:// and postgres:// mean psycopg 3 (the driver gongwen ships with)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _masked(url: str) -> str:
    """A URL as the user wrote it, its password (if any) hidden."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


def check_url(url: str, source: str = "the database URL") -> URL:
    """The parsed URL, or BadInput (reason bad_db_url) naming where it came from (--db,
    GONGWEN_DB, db_url in gongwen.yaml) when it is no URL or not one gongwen can use."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if not isinstance(url, str) or not url.strip():
        raise BadInput(f"{source}: {url!r} is not a database URL; write {URL_FORMS}", reason="bad_db_url")
    try:
        parsed = make_url(normalise_url(url.strip()))
    except (ArgumentError, ValueError):
        raise BadInput(f"{source}: {_masked(url)!r} is not a database URL; write {URL_FORMS}",
                       reason="bad_db_url") from None
    backend, _, driver = parsed.drivername.partition("+")  # no dialect loaded: an unknown one is no error
    if (backend, driver or "default") not in (("sqlite", "default"), ("sqlite", "pysqlite"),
                                              ("postgresql", "psycopg")):
        what = parsed.drivername
        raise BadInput(f"{source}: {what} databases are not supported ({_masked(url)}); gongwen works with "
                       f"SQLite and PostgreSQL: write {URL_FORMS}", reason="bad_db_url")
    return parsed


def busy_timeout() -> float:
    """Seconds a write waits for a lock another process holds: $GONGWEN_BUSY_TIMEOUT, else 30."""
    value = os.environ.get(BUSY_TIMEOUT)
    if not value:
        return 30.0
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < 86400:
        raise BadInput(f"{BUSY_TIMEOUT}={value!r} is not a number of seconds (e.g. 30)", reason="bad_config")
    return seconds


class Database:
    """One engine and one sessionmaker per database; `write()` and `read()` are units of work."""

    def __init__(self, url: str, source: str = "the database URL"):
        parsed = check_url(url, source)
        url = normalise_url(url.strip())
        self.url = url
        self.source = source
        self.is_sqlite = parsed.drivername.startswith("sqlite")
        self._parsed = parsed
        try:
            if self.is_sqlite:
                self.timeout = busy_timeout()
                self.engine = create_engine(url, connect_args={"timeout": self.timeout})
                _sqlite_setup(self.engine, self.timeout)
            else:
                self.engine = create_engine(url, pool_pre_ping=True)
        except ImportError as exc:  # the driver is not installed
            raise BadInput(f"{source}: cannot use {self.safe_url}: {exc}", reason="bad_db_url") from None
        event.listen(self.engine, "handle_error", self._handle_error)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # reads first, writes at commit: SQLite's write lock is held only from the flush to the commit
        self.optimistic_sessions = sessionmaker(self.engine.execution_options(**{OPTIMISTIC: True}),
                                                expire_on_commit=False, autoflush=False)
        event.listen(self.optimistic_sessions, "before_flush", lambda session, *_: take_write_lock(session))
        self.lock_holds: deque[float] = deque(maxlen=100_000)  # seconds each committed write held the lock
        self.read_sessions = sessionmaker(self.engine.execution_options(gongwen_read=True),
                                          expire_on_commit=False)

    @property
    def safe_url(self) -> str:
        return self._parsed.render_as_string(hide_password=True)

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file (None: in memory, or not SQLite)."""
        name = self._parsed.database
        if not self.is_sqlite or not name or name == ":memory:" or name.startswith("file:"):
            return None
        return Path(name)

    @property
    def where(self) -> str:
        """The database as a person would name it: the SQLite file, or the server and database."""
        if self.is_sqlite:
            return str(self.sqlite_path or self.safe_url)
        parsed = self._parsed
        host = parsed.host or parsed.query.get("host") or "localhost"  # ?host=/socket/folder
        host = host[0] if isinstance(host, tuple) else host
        return f"PostgreSQL at {host}{f':{parsed.port}' if parsed.port else ''} (database {parsed.database})"

    def create_schema(self) -> None:
        from workflow.store.migrate import create

        create(self)

    @contextmanager
    def write(self, optimistic: bool = False) -> Iterator[Session]:
        """A write transaction: BEGIN IMMEDIATE on SQLite, a transaction-wide advisory lock on
        PostgreSQL (event appends are a chain: one writer at a time); commit or roll back.

        `optimistic` (SQLite): a deferred transaction whose session does not autoflush, so that
        everything is read and computed from one snapshot and written at the commit, the write lock
        held only for that. If another writer committed meanwhile, SQLite refuses the first write
        (SQLITE_BUSY_SNAPSHOT) and SnapshotMoved is raised, nothing written: run it again, not
        optimistic. Every change leaves an event, so an unmoved snapshot means nothing changed. On
        PostgreSQL the advisory lock is taken at the first flush instead (take_write_lock), and
        only events on the unit's own items or on the users' stream make it run again."""
        with (self.optimistic_sessions if optimistic else self.sessions)() as session, session.begin():
            if optimistic:
                session.connection().info.pop(LOCKED_AT, None)  # a rolled-back optimistic write's, on this connection
            if not self.is_sqlite and not optimistic:  # the lock, and who the login may act as (check_db_login)
                session.info[DB_LOGIN] = tuple(session.execute(text(
                    "SELECT current_user, (SELECT login FROM db_logins WHERE db_login = current_user), "
                    "pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK}).one())[:2]
                session.connection().info[LOCKED_AT] = time.perf_counter()
            yield session
            # the connection, to read how long the lock was held (none when the caller rolled back)
            held = session.connection().info if session.in_transaction() else {}
        if LOCKED_AT in held:  # committed: how long the write lock was held
            self.lock_holds.append(time.perf_counter() - held.pop(LOCKED_AT))

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.read_sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()

    # -- faults --------------------------------------------------------------------------------
    def _handle_error(self, context: ExceptionContext) -> None:
        if context.is_pre_ping:  # the pool tests a pooled connection and reconnects on its own
            return
        if (self.is_sqlite and context.connection is not None and OPTIMISTIC in context.connection.info
                and _sqlite_error_name(context.original_exception).startswith("SQLITE_BUSY")):
            raise SnapshotMoved() from context.original_exception  # another writer was first: run it again
        fault = self.explain(context.original_exception)
        if fault is not None:
            raise fault from context.original_exception

    def explain(self, error: BaseException) -> EnvironmentFault | None:
        """The driver's error as an environment fault, or None when it is not one (a bug)."""
        if self.is_sqlite:
            return self._explain_sqlite(error)
        return self._explain_postgresql(error)

    def _explain_sqlite(self, error: BaseException) -> EnvironmentFault | None:
        import sqlite3

        if not isinstance(error, sqlite3.Error):
            return None
        said = _one_line(str(error))
        name = _sqlite_error_name(error)
        where = self.where
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            return EnvironmentFault(f"the database {where} is locked by another program (waited {self.timeout:g} s, "
                                    f"{BUSY_TIMEOUT}): try again when it is done", reason="db_busy")
        if name.startswith("SQLITE_READONLY"):
            return EnvironmentFault(f"the database {where} is read-only: gongwen cannot write to it (check the "
                                    "permissions of the file and of its folder)", reason="read_only")
        if name == "SQLITE_FULL":
            return EnvironmentFault(f"the disk holding the database {where} is full: free some space and try again "
                                    "(nothing was written)", reason="disk_full")
        if name.startswith("SQLITE_IOERR"):
            return EnvironmentFault(f"cannot read or write the database {where}: {said} (the disk may be full, over "
                                    "a file size limit, or failing); nothing was written", reason="io_error")
        if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
            return EnvironmentFault(f"{where} is not a gongwen database or is damaged ({said}): restore it from a "
                                    "backup", reason="damaged_db")
        if name.startswith("SQLITE_CANTOPEN"):
            return EnvironmentFault(f"cannot open the database {where}: {said} (SQLite needs its folder to exist "
                                    "and to be writable: it keeps -wal and -shm files beside the database)",
                                    reason="cannot_open")
        if name in ("SQLITE_PERM", "SQLITE_AUTH"):
            return EnvironmentFault(f"the database {where} refused access: {said}", reason="read_only")
        return None

    def _explain_postgresql(self, error: BaseException) -> EnvironmentFault | None:
        try:
            import psycopg
        except ImportError:
            return None
        if not isinstance(error, psycopg.Error):
            return None
        said = _one_line(str(error))
        state = getattr(error, "sqlstate", None) or ""
        where = self.where
        if isinstance(error, psycopg.OperationalError) and (
                not state or state.startswith(("08", "28", "57P")) or state in ("3D000", "53300")):
            return EnvironmentFault(f"cannot connect to {where}: {said}", reason="db_unreachable")
        if state in ("55P03", "40P01", "57014"):
            return EnvironmentFault(f"{where} is busy: {said}; try again", reason="db_busy")
        if state == "25006":
            return EnvironmentFault(f"{where} is read-only: {said}", reason="read_only")
        if state == "53100":
            return EnvironmentFault(f"{where} has no disk space left: {said}", reason="disk_full")
        if state.startswith("53") or state == "58030":
            return EnvironmentFault(f"{where} cannot go on: {said}", reason="io_error")
        if state in ("XX001", "XX002"):
            return EnvironmentFault(f"{where} is damaged ({said}): restore it from a backup", reason="damaged_db")
        if state == "42501":
            login = self._parsed.username or "this login"
            return EnvironmentFault(f"{where} refused the database login {login}: {said} (the schema owner grants "
                                    "what gongwen needs with `gongwen db grant`)", reason="db_denied")
        return None


def _one_line(said: str) -> str:
    """A driver's message on one line, without SQLAlchemy's background link."""
    said = said.split("(Background on this error", 1)[0]
    said = " ".join(said.split())
    return said if len(said) <= 400 else said[:397] + "..."


_SQLITE_NAMES = (("database is locked", "SQLITE_BUSY"), ("database table is locked", "SQLITE_LOCKED"),
                 ("readonly database", "SQLITE_READONLY"), ("database or disk is full", "SQLITE_FULL"),
                 ("disk I/O error", "SQLITE_IOERR"), ("malformed", "SQLITE_CORRUPT"),
                 ("file is not a database", "SQLITE_NOTADB"), ("unable to open database", "SQLITE_CANTOPEN"))


def _sqlite_error_name(error: BaseException) -> str:
    """SQLite's result code name (SQLITE_BUSY…), from the error or, before Python 3.11, its message."""
    said = str(error)
    return getattr(error, "sqlite_errorname", "") or next((name for words, name in _SQLITE_NAMES if words in said), "")


def _ours_or_new(cursor: Any) -> bool:
    """Whether a database not yet in WAL mode may be switched (which rewrites its header): an
    empty one, or gongwen's; never someone else's file opened by mistake."""
    names = {row[0] for row in cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return not names or "alembic_version" in names


def _sqlite_setup(engine: Engine, timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")  # first: the next one may wait
        if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal" and _ours_or_new(cursor):
            cursor.execute("PRAGMA journal_mode=WAL")  # persistent: once, when the schema is made
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        read_only, optimistic = options.get("gongwen_read"), options.get(OPTIMISTIC)
        connection.info.pop(LOCKED_AT, None)
        connection.info.pop(OPTIMISTIC, None)
        connection.exec_driver_sql("BEGIN" if read_only or optimistic else "BEGIN IMMEDIATE")
        if optimistic:
            connection.info[OPTIMISTIC] = True  # the lock is taken by the first write (below)
        elif not read_only:
            connection.info[LOCKED_AT] = time.perf_counter()  # the write lock is held from here

    @event.listens_for(engine, "after_cursor_execute")
    def _on_statement(connection: Connection, _cursor: Any, statement: str, *_rest: Any) -> None:
        if OPTIMISTIC in connection.info and LOCKED_AT not in connection.info and not statement.startswith("SELECT"):
            connection.info[LOCKED_AT] = time.perf_counter()  # an optimistic write's first write took the lock
