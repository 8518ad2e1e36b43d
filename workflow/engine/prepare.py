"""A unit of work's loading, and what a transition can prepare before the write lock.

`events_of` reads an item's events once per unit of work (chain.append adds the ones it writes)
with the users they name; `item_for_write` reads the item with the chain's head and whether a
delegation to the actor is in force, in one statement.

A transition is first fired optimistically (Database.write optimistic: everything read and
rendered before the write lock, which only the writes and the commit hold). When that attempt
finds that another writer moved what it read, it runs again under the lock from the start, and
then `prepare` runs first, in a read transaction: it loads the item, its events and users, and
renders the transition's documents from the context the write will build, so that rendering
(most of a transition's time) happens outside the write lock here too. Under the lock the engine
reads the item and the head again: when the head has not moved, nothing anywhere changed (every
change is an event), and it reuses what was loaded; the documents are taken from the cache when the context it builds
is the same (documents/produce.py `prerendered`), else rendered again. Nothing prepared is trusted
beyond that: guards, numbers, hashes and signatures are done under the lock as before."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from workflow import inputs
from workflow.documents import ahead
from workflow.documents import produce as documents
from workflow.engine import delegation, edits, registry, users
from workflow.errors import GongwenError, NotFound
from workflow.i18n import Msg
from workflow.store import chain
from workflow.store.db import DB_LOGIN
from workflow.store.grants import db_login_columns
from workflow.store.orm import Event, Item

if TYPE_CHECKING:
    from workflow.store.workspace import Workspace


def events_of(session: Session, item: Item, *logins: str | None) -> list[Event]:
    """The item's events, oldest first, read once per unit of work, with the users they name (and
    `logins`) in one more query."""
    loaded = session.info.setdefault(chain.EVENTS, {})
    if item.id not in loaded:
        loaded[item.id] = list(session.scalars(select(Event).where(Event.item_id == item.id).order_by(Event.seq)))
        users.preload(session, {item.creator, *logins, *(e.actor for e in loaded[item.id])})
    return list(loaded[item.id])


def get_item(session: Session, key: str) -> Item:
    """The item by key (or by id, for a number); NotFound otherwise."""
    inputs.check_item_key(key)  # a number the database cannot hold is no item (not an overflow)
    item = session.scalars(select(Item).where(Item.key == key)).first()
    if item is None and key.isdigit():
        item = session.get(Item, int(key))
    if item is None:
        raise NotFound(Msg("no item {key!r}", key=key))
    return item


_ITEM_FOR_WRITE: dict[tuple[str, bool], Any] = {}  # the statements, built once (by key or id; PostgreSQL or not)


def _item_statement(by: str, postgresql: bool) -> Any:
    if (by, postgresql) not in _ITEM_FOR_WRITE:
        where = Item.key == bindparam("key") if by == "key" else Item.id == bindparam("id")
        columns = (chain.head_query(), delegation.any_in_force()) + (db_login_columns() if postgresql else ())
        _ITEM_FOR_WRITE[by, postgresql] = select(Item, *columns).where(where)
    return _ITEM_FOR_WRITE[by, postgresql]


def item_for_write(session: Session, key: str, login: str, today: dt.date) -> tuple[Item, bool]:
    """The item with the chain's head (kept in session.info), whether any delegation to `login` is
    in force today (the delegations are read only then) and, on PostgreSQL, who the connected
    database login may act as (grants.check_db_login), in one statement."""
    inputs.check_item_key(key)
    found = {"login": login, "day": today.isoformat()}
    postgresql = session.get_bind().dialect.name == "postgresql"
    for by, value in [("key", key)] + ([("id", int(key))] if key.isdigit() else []):
        row = session.execute(_item_statement(by, postgresql), {**found, by: value}).first()
        if row is not None:
            session.info[chain.HEAD] = row[1]
            if postgresql:
                session.info.setdefault(DB_LOGIN, (row[3], row[4]))
            return row[0], bool(row[2])
    raise NotFound(Msg("no item {key!r}", key=key))


# item key -> its definition version, as last seen in this process: fire skips preparing a transition
# that draws a number (its documents show the number, drawn under the lock) or that an automatic one
# may follow (rendered under the lock in any case): the read would add statements for little. Nor
# one without documents: its read transaction costs more (about 2 ms) than the loading it moves
# out of the lock saves (about 0.8 ms; benchmarks/transition.py, dept_approve).
_VERSION_OF: dict[str, str] = {}


def worth_preparing(key: str, transition_id: str) -> bool:
    known = _VERSION_OF.get(key)
    definition = registry.cached(known) if known is not None else None
    tr = definition.transitions.get(transition_id) if definition is not None else None
    if definition is None or tr is None:
        return True
    after = [tr.target] if tr.target else tr.sources
    return bool(tr.templates) and not tr.assign and not any(t.automatic for state in after
                                                            for t in definition.exits(state))


@dataclasses.dataclass
class Prepared:
    head: str | None
    version: int
    events: list[Event]
    users: dict[str, Any]

    def reuse(self, session: Session, item: Item) -> None:
        """Under the lock, when the head is the one read before: what was loaded is current."""
        if session.info.get(chain.HEAD) == self.head and item.version == self.version:
            session.info.setdefault(chain.EVENTS, {})[item.id] = list(self.events)
            session.info.setdefault(users.HELD, {}).update(self.users)


@dataclasses.dataclass
class _Projected:
    """The item as the transition will leave it, for its render context (never written)."""
    id: int
    key: str
    title: str
    state: str
    fields: dict[str, Any]
    numbers: dict[str, Any]
    creator: str


def prepare(workspace: Workspace, key: str, login: str, transition_id: str, comment: str,
            sets: Sequence[tuple[str, Any]], now: dt.datetime) -> Prepared | None:
    """Load, and render the documents of `transition_id` ahead of the write; None if the item
    cannot be read (the write reports why)."""
    try:
        with workspace.db.read() as session:
            session.autoflush = False  # nothing here is written
            item, _ = item_for_write(session, key, login, now.date())
            events = events_of(session, item, login)
            prepared = Prepared(session.info.get(chain.HEAD), item.version, events,
                                dict(session.info.get(users.HELD, {})))
            definition = registry.pinned(session, item.definition_hash)
            if len(_VERSION_OF) > 10_000:
                _VERSION_OF.clear()
            _VERSION_OF[item.key] = item.definition_hash
            tr = definition.transitions.get(transition_id)
            if (tr is None or not tr.templates or tr.assign or tr.automatic or tr.outcome_of or tr.timer
                    or item.state not in tr.sources):
                return prepared  # nothing to render, or a number to draw first (under the lock)
            fields = edits.apply(definition, item, tr, sets) if sets else dict(item.fields)
            changes = {k for k, v in fields.items() if item.fields.get(k) != v}
            projected = _Projected(item.id, item.key, edits.title_after(definition, item.title, fields, changes),
                                   tr.target_from(item.state), fields, dict(item.numbers), item.creator)
            actor = users.actor(session, login)
            context = documents.render_context(session, workspace, definition, projected, tr, actor, comment,  # type: ignore[arg-type]
                                               now, item.state, events)
            ahead.prerender(session, workspace, definition, projected, tr, len(events) + 1, context,  # type: ignore[arg-type]
                            revision=item.version + 1,
                            template_path=lambda name: documents.template_path(workspace, definition.id, name))
            return prepared
    except GongwenError:
        return None
