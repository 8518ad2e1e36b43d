"""Content-addressed bytes (the blobs table): documents, templates, contexts, evidence."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from workflow.canonical import canonical_json
from workflow.store.orm import Blob

PENDING = "gongwen_pending_blobs"  # session.info: sha256 -> (kind, bytes), written at commit


def store_blob(session: Session, data: bytes, kind: str) -> str:
    """Keep `data` under its sha256: collected in the session and written when it commits, all
    at once (INSERT … ON CONFLICT DO NOTHING: bytes already stored, or stored meanwhile by
    another writer, are no error)."""
    digest = hashlib.sha256(data).hexdigest()
    session.info.setdefault(PENDING, {}).setdefault(digest, (kind, data))
    return digest


def load_blob(session: Session, digest: str) -> bytes | None:
    pending = session.info.get(PENDING, {}).get(digest)
    if pending is not None:
        return pending[1]
    row = session.get(Blob, digest)
    return row.data if row is not None else None


@event.listens_for(Session, "before_commit")
def flush_blobs(session: Session) -> None:
    """The blobs the unit of work stored, in one statement, inside its transaction."""
    pending = session.info.pop(PENDING, None)
    if not pending:
        return
    rows = [{"sha256": digest, "kind": kind, "size": len(data), "data": data}
            for digest, (kind, data) in pending.items()]
    stmt: Insert
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(Blob).on_conflict_do_nothing(index_elements=["sha256"])
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(Blob).on_conflict_do_nothing(index_elements=["sha256"])
    session.execute(stmt, rows)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(PENDING, None)


# -- render contexts, with their long texts stored once ------------------------------------------
TEXT_REF = "$text"  # {"$text": sha256} stands for a long text stored as a blob of its own
PACK_FROM = 4096  # bytes of UTF-8: texts this long are stored once, however many contexts name them


def store_context(session: Session, context: Any) -> str:
    """Store a render context (plain JSON) and return its blob's sha256. Each text of PACK_FROM
    bytes or more is a blob of its own, named in the context by {"$text": sha256}: a long 总体要求
    is stored once, not once per transition that renders it."""
    def pack(value: Any) -> Any:
        if isinstance(value, str):
            data = value.encode("utf-8", "surrogatepass")
            return {TEXT_REF: store_blob(session, data, "text")} if len(data) >= PACK_FROM else value
        if isinstance(value, dict):
            return {k: pack(v) for k, v in value.items()}
        if isinstance(value, list):
            return [pack(v) for v in value]
        return value

    return store_blob(session, canonical_json(pack(context)), "context")


def load_context(session: Session, digest: str) -> Any:
    """The render context stored under `digest`, its long texts put back; None when the context
    or one of its texts is missing."""
    data = load_blob(session, digest)
    if data is None:
        return None
    missing = object()

    def unpack(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {TEXT_REF} and isinstance(value[TEXT_REF], str):
                text = load_blob(session, value[TEXT_REF])
                return missing if text is None else text.decode("utf-8", "surrogatepass")
            return {k: unpack(v) for k, v in value.items()}
        if isinstance(value, list):
            return [unpack(v) for v in value]
        return value

    found = unpack(json.loads(data))
    return None if _holds(found, missing) else found


def text_refs(context_bytes: bytes) -> list[str]:
    """The long texts a stored context names (for verify: each must be present)."""
    return TEXT_REFS.findall(context_bytes.decode("utf-8", "replace")) if b'"$text"' in context_bytes else []


TEXT_REFS = re.compile(r'\{"\$text":"([0-9a-f]{64})"\}')


def _holds(value: Any, marker: object) -> bool:
    if value is marker:
        return True
    if isinstance(value, dict):
        return any(_holds(v, marker) for v in value.values())
    if isinstance(value, list):
        return any(_holds(v, marker) for v in value)
    return False
