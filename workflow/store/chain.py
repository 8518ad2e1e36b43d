"""The event hash chain: hash = sha256(prev_hash ‖ canonical JSON of the event).

The body hashed is workflow.canonical.canonical_json of the event's payload.
`body_from_row` builds the same bytes from an event row's stored text without parsing its JSON
columns (they are stored canonical), which is what makes `audit verify` fast."""

from __future__ import annotations

import hashlib
from json.encoder import encode_basestring as _q  # the encoder json.dumps uses with ensure_ascii=False
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.canonical import canonical_json
from workflow.store.orm import Event

if TYPE_CHECKING:
    from workflow.identity.keys import Signer

GENESIS = "0" * 64


def payload(event: Event) -> dict[str, Any]:
    return {"item": event.item_key, "seq": event.seq, "transition": event.transition,
            "from": event.from_state, "to": event.to_state, "actor": event.actor,
            "roles": event.actor_roles, "comment": event.comment, "changes": event.changes,
            "data": event.data, "time": event.time, "definition": event.definition_hash}


def body_from_row(item_key: str, seq: int, transition: str, from_state: str | None, to_state: str, actor: str,
                  roles_text: str, comment: str, changes_text: str, data_text: str, time: str,
                  definition: str) -> bytes:
    """canonical(payload(event)) from the stored columns (JSON columns as their stored text)."""
    return ('{"actor":' + _q(actor) + ',"changes":' + changes_text + ',"comment":' + _q(comment)
            + ',"data":' + data_text + ',"definition":' + _q(definition)
            + ',"from":' + (_q(from_state) if from_state is not None else "null")
            + ',"item":' + _q(item_key) + ',"roles":' + roles_text + ',"seq":' + str(seq)
            + ',"time":' + _q(time) + ',"to":' + _q(to_state) + ',"transition":' + _q(transition)
            + "}").encode()


def link(prev_hash: str, body: bytes) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + body).hexdigest()


HEAD = "gongwen_chain_head"  # session.info: the newest event's hash, when the unit of work read it
EVENTS = "gongwen_item_events"  # session.info: item id -> its events, oldest first, as loaded and appended


PENDING = "gongwen_pending_events"  # session.info: (event, signer) appended and not yet written


class HeadMoved(Exception):
    """Events were appended since this unit of work read the head, on its own items or on the
    users' stream (users, roles, keys, delegations): what it decided may no longer hold."""


def catch_up(session: Session) -> None:
    """Under the write lock, for a unit of work that read the chain's head before taking it
    (Database.write optimistic, PostgreSQL): when other writers appended only events of other
    items meanwhile, link its pending events after theirs, each hashed and signed again; when any
    of theirs is on one of its items or on the users' stream, raise HeadMoved (it runs again)."""
    pending = session.info.get(PENDING, [])
    if pending:
        read = pending[0][0].prev_hash  # the head it read (HEAD is its own newest pending event by now)
    elif HEAD in session.info:  # none yet (the lock taken to draw a number): those to come link after
        read = session.info[HEAD] or GENESIS
    else:
        return  # the head is read under the lock when the first event is appended
    stmt = select(Event.item_id, Event.hash).order_by(Event.id)
    if read != GENESIS:
        stmt = stmt.where(Event.id > select(Event.id).where(Event.hash == read).scalar_subquery())
    moved = session.execute(stmt).all()
    if not moved:
        return
    ours = {event.item_id for event, _signer in pending} | set(session.info.get(EVENTS, {}))  # read or written
    if any(item_id is None or item_id in ours for item_id, _hash in moved):
        raise HeadMoved()
    prev = moved[-1][1]
    for event, signer in pending:
        event.prev_hash = prev
        event.hash = prev = link(prev, canonical_json(payload(event)))
        event.signature = signer.sign_event(event.hash)
    session.info[HEAD] = prev


def head_query() -> Any:
    """The newest event's hash, as a scalar subquery to read with another row (Engine.fire)."""
    return select(Event.hash).order_by(Event.id.desc()).limit(1).scalar_subquery()


def last_hash(session: Session) -> str:
    if HEAD in session.info:
        return str(session.info[HEAD] or GENESIS)
    found = session.scalars(select(Event.hash).order_by(Event.id.desc()).limit(1)).first()
    return found or GENESIS


def next_seq(session: Session, event: Event) -> int:
    """The next number in the event's stream: its item, or a pseudo-item such as @users."""
    where = Event.item_id == event.item_id if event.item_id is not None else Event.item_key == event.item_key
    return (session.scalar(select(func.max(Event.seq)).where(where)) or 0) + 1


def append(session: Session, event: Event, signer: Signer) -> Event:
    """Link the event to the newest one, sign its hash with the actor's key and add it. The
    caller holds the write lock (Database.write), so the chain has one writer at a time."""
    if not event.seq:
        event.seq = next_seq(session, event)
    event.prev_hash = last_hash(session)
    event.hash = link(event.prev_hash, canonical_json(payload(event)))
    event.signature = signer.sign_event(event.hash)
    event.signer = signer.fingerprint
    session.add(event)
    if session.autoflush:
        session.flush()
    else:  # written with the rest at the commit (Database.write optimistic): relinked if the head moved
        session.info.setdefault(PENDING, []).append((event, signer))
    session.info[HEAD] = event.hash  # the caller holds the lock: this is the newest event now
    loaded = session.info.get(EVENTS, {}).get(event.item_id)
    if loaded is not None:
        loaded.append(event)
    return event
