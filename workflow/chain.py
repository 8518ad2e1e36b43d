"""The event hash chain: hash = sha256(prev_hash ‖ canonical JSON of the event)."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select

from .models import Event

GENESIS = "0" * 64


def canonical(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def payload(event: Event, item_key: str) -> dict:
    return {"item": item_key, "seq": event.seq, "transition": event.transition,
            "from": event.from_state, "to": event.to_state, "actor": event.actor,
            "roles": event.actor_roles, "comment": event.comment, "changes": event.changes,
            "data": event.data, "time": event.time, "definition": event.definition_hash}


def link(prev_hash: str, body: dict) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical(body)).hexdigest()


def last_hash(session) -> str:
    found = session.scalars(select(Event.hash).order_by(Event.id.desc()).limit(1)).first()
    return found or GENESIS
