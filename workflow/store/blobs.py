"""Content-addressed bytes (the blobs table): documents, templates, contexts, evidence."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.store.orm import Blob


def store_blob(session: Session, data: bytes, kind: str) -> str:
    digest = hashlib.sha256(data).hexdigest()
    # ask for the key only: session.get would load the stored bytes (autoflush covers pending rows)
    if session.scalar(select(Blob.sha256).where(Blob.sha256 == digest)) is None:
        session.add(Blob(sha256=digest, kind=kind, size=len(data), data=data))
    return digest


def load_blob(session: Session, digest: str) -> bytes | None:
    row = session.get(Blob, digest)
    return row.data if row is not None else None
