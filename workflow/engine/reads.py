"""The read paths over many items, `list` and `worklist`, in a number of statements that does not
grow with the number of items: Core rows of the columns needed (never ORM objects, never whole
histories), filtered in SQL, with cyclic garbage collection off while the rows become objects.

`list_items`: one page of summaries (LIMIT/OFFSET, ordered by id) and the total (one COUNT).

`worklist`: from the definitions in use (the distinct definition_hash of the items: few, parsed
once and cached by registry.pinned), the (definition, state) pairs that can hold a worklist this
user sees (their roles, the roles delegated to them, `owner` for the items they created, the
待会签 of a 会签 state they may countersign in, the 督办 lists of a deadline) select the candidate
items; a worklist's `when` is evaluated on the row (a guard's Subject without past actors: a
`when` does not see them, guards.expression_context). Events are read only where a list depends
on them, each kind in one statement over every candidate at once: the 会签 rounds of the items in
a 会签 state, the 催办/督办 recorded by `gongwen tick` since the item entered its state, and, for a
`when` that reads `item.body_changed`, the 签发 events. The result is the same lists, items and
order as evaluating every item in turn (the order the lists are first met, items by id).

Over 400 lines: the worklist's plan, its fold over the rows and the batched event reads are one
algorithm that must stay equal to the per-item one (tests/test_read_paths.py checks them)."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Text, and_, case, func, null, or_, select, type_coerce
from sqlalchemy.orm import aliased

from workflow.definition import expressions
from workflow.definition.model import CREATE, ESCALATE, MIGRATE, OVERDUE, Definition, Worklist
from workflow.engine import countersign, delegation, edits, guards, registry, timers, users, views
from workflow.errors import BadInput
from workflow.store.orm import Event, Item

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Row
    from sqlalchemy.orm import Session

    from workflow.store.workspace import Workspace

# what an ItemSummary shows (views.summary) and the item's definition version, then its numbers as
# stored (JSON text on SQLite, parsed by _json only when not "{}")
SUMMARY_COLUMNS = (Item.id, Item.key, Item.workflow_id, Item.definition_hash, Item.title, Item.state,
                   Item.version, Item.creator, Item.updated_at, Item.updated_by,
                   type_coerce(Item.numbers, Text).label("numbers"))


@contextlib.contextmanager
def bulk_scan() -> Iterator[None]:
    """No cyclic garbage collection while many rows become objects (it would run every few
    hundred allocations and walk them all each time); the previous setting is restored."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


# -- list ------------------------------------------------------------------------------------------
class ItemPage(list[views.ItemSummary]):
    """A page of `gongwen list`: the summaries (a list, as Engine.list_items always returned),
    the number of items matching (`total`) and the page asked for (`limit` None: all)."""

    def __init__(self, items: Sequence[views.ItemSummary], total: int, limit: int | None, offset: int) -> None:
        super().__init__(items)
        self.total = total
        self.limit = limit
        self.offset = offset


def check_page(limit: int | None, offset: int) -> None:
    """BadInput bad_value for a limit below 1 or an offset below 0 (the command refuses them first)."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise BadInput(f"a page holds at least 1 item, not {limit!r}", reason="bad_value")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise BadInput(f"an offset is 0 or more, not {offset!r}", reason="bad_value")


def list_items(workspace: Workspace, login: str, workflow: str | None = None, state: str | None = None,
               mine: bool = False, limit: int | None = None, offset: int = 0) -> tuple[list[views.ItemSummary], int]:
    """(the summaries of the items matching, ordered by id, `offset` of them skipped and at most
    `limit`; how many match in all). An unknown user is refused (unknown_user)."""
    check_page(limit, offset)
    with workspace.db.read() as session:
        actor = users.actor(session, login)
        where: list[ColumnElement[bool]] = []
        if workflow:
            where.append(Item.workflow_id == workflow)
        if state:
            where.append(Item.state == state)
        if mine:
            where.append(Item.creator == actor.login)
        paged = limit is not None or offset > 0
        total = int(session.scalar(select(func.count()).select_from(Item).where(*where)) or 0) if paged else -1
        if paged and offset >= total:
            return [], total
        stmt = select(*SUMMARY_COLUMNS).where(*where).order_by(Item.id)
        if offset:
            stmt = stmt.offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        found = []
        titles: dict[tuple[str, str], tuple[str, str]] = {}
        summary_of = views.ItemSummary
        with bulk_scan():
            for item_id, key, workflow_id, definition_hash, title, at, version, creator, updated_at, updated_by, \
                    numbers in session.connection().execute(stmt):
                named = titles.get((definition_hash, at))
                if named is None:
                    definition = registry.pinned(session, definition_hash)
                    named = titles[(definition_hash, at)] = (definition.title, definition.state_title(at))
                found.append(summary_of(item_id, key, workflow_id, named[0], title, at, named[1], version, creator,
                                        updated_at, updated_by, _json(numbers)))
        return found, (total if paged else len(found))


def list_page(workspace: Workspace, login: str, workflow: str | None = None, state: str | None = None,
              mine: bool = False, limit: int | None = None, offset: int = 0) -> ItemPage:
    """list_items as an ItemPage (what Engine.list_items returns)."""
    found, total = list_items(workspace, login, workflow, state, mine, limit, offset)
    return ItemPage(found, total, limit, offset)


# -- worklist ----------------------------------------------------------------------------------------
@dataclass
class _Plan:
    """What one definition version can hold for the actor: the states whose items are candidates
    (every item's; only the actor's own items'), and which of them need events read."""

    definition: Definition
    every: set[str] = field(default_factory=set)  # states: any item may be on a list the actor sees
    own: set[str] = field(default_factory=set)  # states: only an item the actor created may
    cosign: set[str] = field(default_factory=set)  # 会签 states the actor may be a countersigner in
    deadline: set[str] = field(default_factory=set)  # states of a deadline whose 督办 lists the actor sees
    body: set[str] = field(default_factory=set)  # states of a list whose `when` reads item.body_changed
    fields: set[str] = field(default_factory=set)  # states whose items' fields are read (`when`, deadline, unit)

    @property
    def hash(self) -> str:
        return self.definition.hash

    def candidates(self, login: str) -> ColumnElement[bool] | None:
        parts: list[ColumnElement[bool]] = []
        if self.every:
            parts.append(Item.state.in_(sorted(self.every)))
        if self.own - self.every:
            parts.append(and_(Item.creator == login, Item.state.in_(sorted(self.own - self.every))))
        if not parts:
            return None
        return and_(Item.definition_hash == self.hash, or_(*parts) if len(parts) > 1 else parts[0])

    def among(self, states: set[str]) -> ColumnElement[bool] | None:
        return and_(Item.definition_hash == self.hash, Item.state.in_(sorted(states))) if states else None


def _seen(roles: Sequence[str], base: set[str]) -> str | None:
    """Whether a list for `roles` is the actor's on every item ("every"), on their own ("own"), or not."""
    if not roles or base & set(roles):
        return "every"
    return "own" if "owner" in roles else None


def _plan(definition: Definition, actor: guards.Actor, base: set[str]) -> _Plan:
    plan = _Plan(definition)

    def add(roles: Sequence[str], states: Sequence[str]) -> bool:
        seen = _seen(roles, base)
        if seen is not None:
            (plan.every if seen == "every" else plan.own).update(states)
        return seen is not None

    for wl in definition.worklists.values():
        if add(wl.roles, wl.states) and wl.when:
            plan.fields.update(wl.states)
            if "body_changed" in wl.when and definition.signing is not None:
                plan.body.update(wl.states)
    signs_as = {actor.login} | {g.principal for g in actor.delegations}
    for state_id, st in definition.states.items():  # 待会签: only where the actor may countersign at all
        spec = st.countersign
        if spec is None:
            continue
        parties = set(spec.roles) | (set(definition.roles) if spec.from_field else set())
        if parties & base or set(spec.users) & signs_as:
            plan.cosign.add(state_id)
            plan.every.add(state_id)
    for d in definition.deadlines.values():  # 督办: the lists `gongwen tick` puts late items on
        lists = [d.notify] + ([d.escalate_to] if d.escalate_after or d.escalate_to else [])
        if any([add(roles, d.states) for roles in lists]):
            plan.deadline.update(d.states)
    plan.fields |= plan.deadline
    if actor.unit and any(role in actor.roles for role in definition.role_units):
        plan.fields |= plan.every | plan.own  # another unit's item is refused on its unit field
    return plan


def worklist(workspace: Workspace, login: str, now: dt.datetime) -> list[views.Worklist]:
    """The worklists holding something for this user, in the order they are first met (items by
    id), each with its items by id (Engine.worklist)."""
    with workspace.db.read() as session:
        actor = delegation.with_grants(session, users.actor(session, login), now)
        base = set(actor.roles) | delegation.delegated_roles(actor)
        hashes = sorted(session.scalars(select(Item.definition_hash).distinct()))
        plans = {h: _plan(registry.pinned(session, h), actor, base) for h in hashes}
        wanted = [c for c in (p.candidates(actor.login) for p in plans.values()) if c is not None]
        if not wanted:
            return []
        with bulk_scan():
            # fields and numbers as stored (text on SQLite), parsed only where a row needs them
            needing = [c for c in (p.among(p.fields) for p in plans.values()) if c is not None]
            fields = case((or_(*needing), type_coerce(Item.fields, Text)), else_=null()) if needing else null()
            rows = session.connection().execute(
                select(*SUMMARY_COLUMNS, fields.label("fields")).where(or_(*wanted)).order_by(Item.id)).all()
            rounds = _events_by_item(session, [p.among(p.cosign) for p in plans.values()],
                                     to_states={s for p in plans.values() for s in p.cosign})
            signed = _signing_events(session, plans)
            done = _recorded(session, [p.among(p.deadline) for p in plans.values()])
            return _fold(workspace, actor, base, now, plans, rows, rounds, signed, done)


def _json(value: Any) -> Any:
    """A JSON column read as stored: text on SQLite (parsed here), already parsed by psycopg."""
    if isinstance(value, str):
        return {} if value == "{}" else json.loads(value)
    return {} if value is None else value


def _fold(workspace: Workspace, actor: guards.Actor, base: set[str], now: dt.datetime, plans: dict[str, _Plan],
          rows: Sequence[Any], rounds: dict[int, list[Row[Any]]], signed: dict[int, list[Row[Any]]],
          done: dict[int, set[tuple[str, str]]]) -> list[views.Worklist]:
    """Every candidate row in turn, as Engine.worklist evaluated every item: the lists it is on.
    (Rows are unpacked as tuples: an attribute of a Row costs as much as the rest of the loop.)"""
    lists: dict[tuple[str, str], tuple[Definition, Worklist, list[views.ItemSummary]]] = {}
    calendar = timers.LazyCalendar(workspace)
    whens: dict[tuple[Any, ...], bool] = {}  # a `when` on the same values it reads: the same answer
    shapes: dict[tuple[str, str, bool], _Shape] = {}
    summary_of = views.ItemSummary
    login = actor.login
    for item_id, key, workflow_id, definition_hash, title, state, version, creator, updated_at, updated_by, \
            numbers, raw_fields in rows:
        owned = creator == login
        shape = shapes.get((definition_hash, state, owned))
        if shape is None:
            shape = shapes[(definition_hash, state, owned)] = _shape(
                plans[definition_hash], state, base | ({"owner"} if owned else set()), actor)
        definition = shape.definition
        if shape.simple:  # lists without a `when`, no 会签, no deadline, no unit: all of them
            holding = shape.lists
        else:
            fields: dict[str, Any] = _json(raw_fields) if shape.needs_fields else {}
            if shape.unit and guards.unit_refusal(definition, "worklist", actor, fields):
                continue  # another school's item: not theirs to see waiting
            holding = []
            context = None
            for wl in shape.lists:
                if wl.when:
                    memo = None if shape.body else _memo_key(wl.when, owned, fields, {
                        "key": key, "state": state, "title": title, "creator": creator, "numbers": numbers})
                    met = whens.get(memo) if memo is not None else None
                    if met is None:
                        if context is None:
                            subject = guards.Subject(
                                key=key, state=state, title=title, creator=creator, fields=fields,
                                numbers=_json(numbers), past_actors={}, calendar=calendar,
                                body_changed=edits.body_changed(definition, cast(list[Event], signed.get(item_id, [])),
                                                                fields) if shape.body else False)
                            context = guards.expression_context(definition, subject, actor, now)
                        met = expressions.evaluate(wl.when, context)[0]
                        if memo is not None:
                            whens[memo] = met
                    if not met:
                        continue
                holding.append(wl)
            if shape.cosign and countersign.waiting_for(definition, cast(Item, _State(state)),
                                                        cast(list[Event], rounds.get(item_id, [])), actor):
                holding.append(countersign.WORKLIST)  # 待会签: their opinion is awaited
            if shape.deadline:
                holding += [wl for wl in timers.overdue_lists(definition, state, fields, done.get(item_id, set()))
                            if not wl.roles or shape.roles & set(wl.roles)]
            if not holding:
                continue
        summary = summary_of(item_id, key, workflow_id, definition.title, title, state, shape.state_title, version,
                             creator, updated_at, updated_by, _json(numbers))
        for wl in holding:
            found = lists.get((definition.id, wl.id))
            if found is None:
                found = lists[(definition.id, wl.id)] = (definition, wl, [])
            found[2].append(summary)
    return [views.Worklist(workflow=d.id, workflow_title=d.title, worklist=wl.id, title=wl.title,
                           items=tuple(items)) for d, wl, items in lists.values()]


@dataclass(frozen=True)
class _State:
    """What countersign.waiting_for reads of an item."""

    state: str


@dataclass
class _Shape:
    """What every item of one definition version, in one state, created or not by the actor, needs."""

    definition: Definition
    roles: set[str]  # the actor's roles on such an item
    lists: list[Worklist]  # the definition's lists of the state the actor sees, in order (`when` to check)
    state_title: str
    unit: bool  # the actor acts for one unit on this definition: refuse another unit's items
    cosign: bool
    deadline: bool
    body: bool
    needs_fields: bool = False
    simple: bool = False

    def __post_init__(self) -> None:
        self.needs_fields = self.unit or self.deadline or any(wl.when for wl in self.lists)
        self.simple = not (self.needs_fields or self.cosign)


def _shape(plan: _Plan, state: str, roles: set[str], actor: guards.Actor) -> _Shape:
    definition = plan.definition
    return _Shape(definition=definition, roles=roles,
                  lists=[wl for wl in definition.worklists.values()
                         if state in wl.states and (not wl.roles or roles & set(wl.roles))],
                  state_title=definition.state_title(state),
                  unit=bool(actor.unit) and any(role in actor.roles for role in definition.role_units),
                  cosign=state in plan.cosign, deadline=state in plan.deadline, body=state in plan.body)


# -- `when` on the values it reads ---------------------------------------------------------------------
_MISSING = ("missing",)  # a field absent (Undefined to the expression), unlike a field that is None
_CONSTANT = frozenset({"user", "params", "today", "now", "workdays"})  # the same for every item of one call
_ITEM = frozenset({"key", "state", "title", "creator", "numbers"})


@functools.lru_cache(maxsize=256)
def reads_of(source: str) -> tuple[tuple[str, str], ...] | None:
    """What a `when` expression reads of the item: (fields | item, name) pairs, when it reads
    nothing else (names the same for every item of one call aside); None when it reads more
    (`fields` whole, an attribute a dict has as a method, a computed key ...): not memoised."""
    from jinja2 import nodes

    try:
        tree = expressions._environment().parse("{{ (" + source + ") }}")
    except Exception:
        return None
    found: list[tuple[str, str]] = []
    plain = True

    def name_of(node: Any) -> str | None:
        if isinstance(node, nodes.Getattr):
            return str(node.attr)
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            return str(node.arg.value)
        return None

    def walk(node: Any, parent: Any) -> None:
        nonlocal plain
        if isinstance(node, nodes.Name):
            attr = name_of(parent) if parent is not None and getattr(parent, "node", None) is node else None
            if node.name in ("fields", "item") and (attr is None or hasattr(dict, attr)):
                plain = False
            elif node.name == "fields":
                found.append(("fields", str(attr)))
            elif node.name == "item":
                if attr not in _ITEM:
                    plain = False
                found.append(("item", str(attr)))
            elif node.name not in _CONSTANT:
                plain = False
            return
        for child in node.iter_child_nodes():
            walk(child, node)

    walk(tree, None)
    return tuple(dict.fromkeys(found)) if plain else None


def _value_key(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return (type(value).__name__, value)
    return ("json", json.dumps(value, sort_keys=True, ensure_ascii=False, default=str))


def _memo_key(source: str, owned: bool, fields: dict[str, Any], item: dict[str, Any]) -> tuple[Any, ...] | None:
    """The key under which a `when` gives the same answer: the expression, whether the actor
    created the item (user.roles), and every value it reads; None: evaluate it on this row."""
    read = reads_of(source)
    if read is None:
        return None
    values: list[Any] = [source, owned]
    for kind, name in read:
        if kind == "fields":
            values.append(_value_key(fields[name]) if name in fields else _MISSING)
        else:
            values.append(_value_key(_json(item[name]) if name == "numbers" else item[name]))
    return tuple(values)


def _ids(conditions: Sequence[ColumnElement[bool] | None]) -> Any:
    """The ids of the items matching any of `conditions` (a subquery), or None for none."""
    present = [c for c in conditions if c is not None]
    return select(Item.id).where(or_(*present)) if present else None


def _events_by_item(session: Session, conditions: Sequence[ColumnElement[bool] | None],
                    to_states: set[str]) -> dict[int, list[Row[Any]]]:
    """The events of the items in a 会签 state that can matter to its round (tally.latest_round:
    those ending in a 会签 state), by item, in order: one statement."""
    ids = _ids(conditions)
    if ids is None:
        return {}
    stmt = (select(Event.item_id, Event.seq, Event.transition, Event.from_state, Event.to_state, Event.actor,
                   Event.comment, Event.time, Event.data)
            .where(Event.item_id.in_(ids), Event.to_state.in_(sorted(to_states)))
            .order_by(Event.item_id, Event.seq))
    found: dict[int, list[Row[Any]]] = {}
    for row in session.connection().execute(stmt):
        found.setdefault(row.item_id, []).append(row)
    return found


def _signing_events(session: Session, plans: dict[str, _Plan]) -> dict[int, list[Row[Any]]]:
    """For a `when` that reads item.body_changed: the 签发 and reopen events of those items (all
    edits.signed_hash looks at), by item, in order: one statement."""
    ids = _ids([p.among(p.body) for p in plans.values()])
    if ids is None:
        return {}
    names = sorted({n for p in plans.values() if p.body and p.definition.signing
                    for n in (p.definition.signing.transition, p.definition.signing.reopen) if n})
    stmt = (select(Event.item_id, Event.seq, Event.transition, Event.data)
            .where(Event.item_id.in_(ids), Event.transition.in_(names)).order_by(Event.item_id, Event.seq))
    found: dict[int, list[Row[Any]]] = {}
    for row in session.connection().execute(stmt):
        found.setdefault(row.item_id, []).append(row)
    return found


def _recorded(session: Session, conditions: Sequence[ColumnElement[bool] | None]) -> dict[int, set[tuple[str, str]]]:
    """(overdue | escalate, deadline id) recorded by tick since each item entered its state
    (timers.recorded after timers.entry_of), for the items in a deadline's states: one statement."""
    ids = _ids(conditions)
    if ids is None:
        return {}
    entry = aliased(Event)
    entered = (select(func.max(entry.seq)).where(
        entry.item_id == Event.item_id,
        or_(entry.transition.in_((CREATE, MIGRATE)), entry.from_state.is_(None), entry.from_state != entry.to_state))
        .scalar_subquery())
    stmt = (select(Event.item_id, Event.seq, Event.transition, Event.data, entered.label("entered"))
            .where(Event.item_id.in_(ids), Event.transition.in_((OVERDUE, ESCALATE))))
    found: dict[int, set[tuple[str, str]]] = {}
    for row in session.connection().execute(stmt):
        if row.seq > (row.entered or 0):
            deadline = (row.data or {}).get("deadline") or {}
            found.setdefault(row.item_id, set()).add((str(row.transition), str(deadline.get("id"))))
    return found
