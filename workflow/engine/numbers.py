"""Gap-free numbers: a counter row per (sequence, scope, year), drawn inside the caller's
transaction (INSERT ... ON CONFLICT DO UPDATE ... RETURNING), so a rollback returns the number."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from workflow.definition.model import NumberSpec
from workflow.store.db import take_write_lock
from workflow.store.orm import AssignedNumber, Counter


def draw(session: Session, name: str, scope: str, year: int) -> int:
    take_write_lock(session)  # an optimistic write draws numbers in the lock's order, after the others'
    values = {"name": name, "scope": scope, "year": year, "value": 1}
    index, bump = [Counter.name, Counter.scope, Counter.year], {"value": Counter.value + 1}
    stmt: Insert  # the two dialects spell the upsert alike; each is imported only when used
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(Counter).values(values).on_conflict_do_update(index_elements=index, set_=bump)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(Counter).values(values).on_conflict_do_update(index_elements=index, set_=bump)
    return session.execute(stmt.returning(Counter.value)).scalar_one()


def item_key(session: Session, prefix: str, year: int) -> str:
    return f"{prefix}-{year}-{draw(session, 'key:' + prefix, '', year):04d}"


def assign(session: Session, spec: NumberSpec, definition_id: str, issuer_code: str, year: int,
           item_id: int) -> str:
    """Draw the next number of a declared sequence and record it (UNIQUE backstop)."""
    scope = issuer_code if spec.scope == "issuer" else definition_id
    seq = draw(session, spec.counter, scope, year)  # numbers that share a sequence share its counter
    text = spec.format.format(code=issuer_code, base=issuer_base(issuer_code), year=year, seq=seq)
    session.add(AssignedNumber(name=spec.counter, scope=scope, year=year, seq=seq, text=text, item_id=item_id))
    return text


def issuer_base(issuer_code: str) -> str:
    """某教发 → 某教: the 机关代字 without the document-type character, for other sequences."""
    return issuer_code[:-1] if issuer_code.endswith("发") and len(issuer_code) > 1 else issuer_code


def assigned(session: Session, name: str | None = None) -> list[AssignedNumber]:
    stmt = select(AssignedNumber).order_by(AssignedNumber.name, AssignedNumber.scope,
                                           AssignedNumber.year, AssignedNumber.seq)
    if name:
        stmt = stmt.where(AssignedNumber.name == name)
    return list(session.scalars(stmt))
