"""Gap-free numbers: a counter row per (sequence, scope, year), drawn inside the caller's
transaction (INSERT ... ON CONFLICT DO UPDATE ... RETURNING), so a rollback returns the number."""

from __future__ import annotations

from sqlalchemy import select

from workflow.store.orm import AssignedNumber, Counter


def draw(session, name: str, scope: str, year: int) -> int:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(Counter).values(name=name, scope=scope, year=year, value=1)
    stmt = stmt.on_conflict_do_update(index_elements=[Counter.name, Counter.scope, Counter.year],
                                      set_={"value": Counter.value + 1}).returning(Counter.value)
    return session.execute(stmt).scalar_one()


def item_key(session, prefix: str, year: int) -> str:
    return f"{prefix}-{year}-{draw(session, 'key:' + prefix, '', year):04d}"


def assign(session, spec, definition_id: str, issuer_code: str, year: int, item_id: int) -> str:
    """Draw the next number of a declared sequence and record it (UNIQUE backstop)."""
    scope = issuer_code if spec.scope == "issuer" else definition_id
    seq = draw(session, spec.id, scope, year)
    text = spec.format.format(code=issuer_code, base=issuer_base(issuer_code), year=year, seq=seq)
    session.add(AssignedNumber(name=spec.id, scope=scope, year=year, seq=seq, text=text, item_id=item_id))
    return text


def issuer_base(issuer_code: str) -> str:
    """某教发 → 某教: the 机关代字 without the document-type character, for other sequences."""
    return issuer_code[:-1] if issuer_code.endswith("发") and len(issuer_code) > 1 else issuer_code


def assigned(session, name: str | None = None) -> list[AssignedNumber]:
    stmt = select(AssignedNumber).order_by(AssignedNumber.name, AssignedNumber.scope,
                                           AssignedNumber.year, AssignedNumber.seq)
    if name:
        stmt = stmt.where(AssignedNumber.name == name)
    return list(session.scalars(stmt))
