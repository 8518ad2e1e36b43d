"""PostgreSQL database logins for clerks (`gongwen db grant`) and the check that a login mapped to
a gongwen user acts as that user only (defence in depth beside the application's own checks).

The schema belongs to its owner role: the login that ran `gongwen init --db URL` / `db upgrade`.
`grant()` gives a clerk's own login what the engine needs and no more: SELECT on every table,
INSERT where a create, a transition, an ingest or a checkpoint writes, UPDATE only on `items`,
`counters` and `delegations` (and, for an admin's login, writes to the user tables), USAGE on the id sequences. The
`events` table (the hash chain) gets INSERT only, and a statement trigger refuses UPDATE, DELETE
and TRUNCATE on it for every role, the owner and superusers included: the engine never issues
them, and the owner, who could drop the trigger anyway, must now say so out loud (`ALTER TABLE
events DISABLE TRIGGER gongwen_events_append_only`) before rewriting history. Migrations ALTER
the table and INSERT into it, which the trigger leaves alone.

`check_db_login()`: connected as a login listed in `db_logins`, only the mapped gongwen user may
act. The owner and logins without a row are unaffected (any known user may act through them, as
before), and so is SQLite (one file, no logins)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from workflow.errors import BadInput, NotFound, Refused
from workflow.store.orm import Base, DbLogin, User

# What the engine writes, table by table (found in engine/, store/, forms/ingest.py, audit/verify.py);
# SELECT is granted on every table. UPDATE only where a row changes in place.
WORK: dict[str, tuple[str, ...]] = {
    "events": ("INSERT",),  # append-only: the hash chain (never UPDATE, DELETE, TRUNCATE)
    "items": ("INSERT", "UPDATE"),  # create; a transition moves state, fields, numbers, version
    "counters": ("INSERT", "UPDATE"),  # numbers.draw: INSERT ... ON CONFLICT DO UPDATE
    "assigned_numbers": ("INSERT",),
    "definition_versions": ("INSERT",),  # registry.store: a definition's first use
    "blobs": ("INSERT",),  # documents, their templates and contexts, returned forms
    "form_receipts": ("INSERT",),  # ingest: a form is applied once
    "checkpoints": ("INSERT",),  # audit checkpoint
    "delegations": ("INSERT", "UPDATE"),  # a principal delegates (委托) and ends it: not only admins
}
# Users, roles and keys change only through an admin (`gongwen users ...`): a clerk's login that
# can write them could make itself an admin, so only `db grant --admin` gives these.
USER_ADMIN: dict[str, tuple[str, ...]] = {
    "users": ("INSERT",),  # accounts.add_user (nothing updates a user row in place)
    "user_roles": ("INSERT", "DELETE"),  # revoking a role deletes its row (the projection)
    "user_keys": ("INSERT", "UPDATE"),  # the projection of key events (revoked_event)
}
# Read only for every clerk: the schema revision, the form secret, the login mapping itself.
READ_ONLY: tuple[str, ...] = ("alembic_version", "settings", "db_logins")
PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
TRIGGER = "gongwen_events_append_only"

_TRIGGER_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    RAISE EXCEPTION 'gongwen: the events table is append-only (the hash chain): % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'history is corrected by a new transition, never by editing events';
END
$body$"""


def tables() -> list[str]:
    """Every gongwen table (the models' and Alembic's), in a fixed order."""
    return sorted({*Base.metadata.tables, "alembic_version"})


def db_login_columns() -> tuple[Any, Any]:
    """current_user and the gongwen user it is mapped to, as columns to read with another row
    (PostgreSQL; kept as session.info[DB_LOGIN] for check_db_login)."""
    return func.current_user(), select(DbLogin.login).where(DbLogin.db_login == func.current_user()).scalar_subquery()


def check_db_login(session: Session, login: str) -> None:
    """On PostgreSQL: if the connected role (current_user) is mapped in db_logins, `login` must be
    its gongwen user, else Refused (not_authenticated). Unmapped roles and SQLite: nothing."""
    if session.get_bind().dialect.name != "postgresql":
        return
    from workflow.store.db import DB_LOGIN

    db_login, mapped = session.info.get(DB_LOGIN) or session.execute(text(  # read with the write lock
        "SELECT current_user, (SELECT login FROM db_logins WHERE db_login = current_user)")).one()
    if mapped is not None and mapped != login:
        raise Refused(f"the database login {db_login} acts only as the gongwen user {mapped}, not {login} "
                      f"(`gongwen db grant`): connect with {login}'s own database login",
                      reason="not_authenticated", db_login=db_login, mapped_user=mapped)


def grant(session: Session, db_login: str, login: str, admin: bool = False) -> dict[str, Any]:
    """Give the PostgreSQL role `db_login` exactly the privileges of a clerk (with `admin`, also
    the user tables' writes), map it to the gongwen user `login`, make events append-only. Run as
    the schema owner, inside one write transaction; granting again replaces the earlier grant."""
    if session.get_bind().dialect.name != "postgresql":
        url = session.get_bind().engine.url.render_as_string(hide_password=True)
        raise BadInput(f"gongwen db grant needs PostgreSQL: this workspace's database is {url}, "
                       "one file without database logins")
    names = present_tables(session)
    me, owner, is_owner = session.execute(text(
        "SELECT current_user, pg_get_userbyid(relowner), pg_has_role(current_user, relowner, 'USAGE') "
        "FROM pg_class WHERE oid = to_regclass('events')")).one()
    if not is_owner:
        raise Refused(f"gongwen db grant runs as the schema owner {owner}, not {me}: use --db with the "
                      "owner's URL", reason="not_owner")
    role = session.execute(text("SELECT pg_has_role(:r, :owner, 'USAGE') FROM pg_roles WHERE rolname = :r"),
                           {"r": db_login, "owner": owner}).first()
    if role is None:
        raise NotFound(f"no PostgreSQL role {db_login!r} on this server: a DBA creates it first "
                       f"(CREATE ROLE {db_login} LOGIN PASSWORD '...')")
    if role[0]:
        raise BadInput(f"{db_login} has the privileges of the schema owner {owner} (the owner, a member or a "
                       "superuser): a clerk's database login is a role of its own")
    if session.get(User, login) is None:
        raise NotFound(f"unknown user {login!r}: ask an admin to run `gongwen users add {login}`")

    quote = session.get_bind().dialect.identifier_preparer.quote_identifier
    who, all_tables = quote(db_login), ", ".join(quote(t) for t in names)
    sequences = [seq for seq in (session.scalar(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                                {"t": quote(t.name), "c": t.primary_key.columns[0].name})
                                 for t in Base.metadata.sorted_tables
                                 if t.name in names and len(t.primary_key.columns) == 1) if seq]
    session.execute(text(f"REVOKE ALL ON TABLE {all_tables} FROM {who}"))
    session.execute(text(f"GRANT SELECT ON TABLE {all_tables} TO {who}"))
    writes = {**WORK, **(USER_ADMIN if admin else {})}
    for table, privileges in writes.items():
        if table in names:
            session.execute(text(f"GRANT {', '.join(privileges)} ON TABLE {quote(table)} TO {who}"))
    if sequences:
        session.execute(text(f"REVOKE ALL ON SEQUENCE {', '.join(sequences)} FROM {who}"))
        session.execute(text(f"GRANT USAGE ON SEQUENCE {', '.join(sequences)} TO {who}"))
    schema = session.scalar(text("SELECT current_schema()"))
    if not session.scalar(text("SELECT has_schema_privilege(:r, current_schema(), 'USAGE')"), {"r": db_login}):
        session.execute(text(f"GRANT USAGE ON SCHEMA {quote(schema)} TO {who}"))
    install_append_only(session)

    row = session.get(DbLogin, db_login)
    if row is None:
        session.add(DbLogin(db_login=db_login, login=login))
    else:
        row.login = login
    session.flush()
    return {"db_login": db_login, "user": login, "admin": admin, "owner": owner,
            "privileges": privileges_of(session, db_login), "sequences": sequences, "trigger": TRIGGER}


def install_append_only(session: Session) -> None:
    """The trigger that refuses UPDATE, DELETE and TRUNCATE on events for every role (idempotent)."""
    session.execute(text(_TRIGGER_FUNCTION))
    session.execute(text(f"DROP TRIGGER IF EXISTS {TRIGGER} ON events"))
    session.execute(text(f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE OR DELETE OR TRUNCATE ON events "
                         f"FOR EACH STATEMENT EXECUTE FUNCTION {TRIGGER}()"))


def present_tables(session: Session) -> list[str]:
    """The gongwen tables this database holds (in the connection's current schema)."""
    found = set(session.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")))
    return [t for t in tables() if t in found]


def privileges_of(session: Session, db_login: str) -> dict[str, list[str]]:
    """{table: what the role may do on it}, as PostgreSQL answers (PUBLIC and memberships count)."""
    rows = session.execute(text(
        "SELECT t, p FROM unnest(CAST(:tables AS text[])) AS t, unnest(CAST(:privileges AS text[])) AS p "
        "WHERE has_table_privilege(:r, t, p)"),
        {"tables": present_tables(session), "privileges": list(PRIVILEGES), "r": db_login})
    held: dict[str, list[str]] = {}
    for table, privilege in rows:
        held.setdefault(table, []).append(privilege)
    return {t: sorted(held[t], key=PRIVILEGES.index) for t in sorted(held)}
