"""The read paths over many items, `list` (engine/listing.py, re-exported here) and `worklist`, in
a number of statements that does not grow with the number of items: Core rows of the columns
needed (never ORM objects, never whole histories), filtered in SQL, with cyclic garbage collection
off while the rows become objects.

`worklist`: from the definitions in use (the distinct definition_hash of the items: few, parsed
once and cached by registry.pinned), the (definition, state) pairs that can hold a worklist this
user sees (their roles, the roles delegated to them, `owner` for the items they created, the
待会签 of a 会签 state they may countersign in, the 督办 lists of a deadline) select the candidate
items; a worklist's `when` is evaluated on the row (a guard's Subject without past actors: a
`when` does not see them, guards.expression_context). Events are read only where a list depends
on them, each kind in one statement over every candidate at once: the 会签 rounds of the items in
a 会签 state, the 催办/督办 recorded by `gongwen tick` since the item entered its state, and, for a
`when` that reads `item.body_changed`, the 签发 events. The result is the same lists, items and
order as evaluating every item in turn (the order the lists are first met, items by id). With a
limit, each list holds its first items and its total: a group of items whose lists need no row
read is counted from the index ix_items_worklist and only its first items are read; and a `when`
that reads named fields gets those fields alone from SQL, not the whole form.

Over 400 lines: the worklist's plan, its fold over the rows and the batched event reads are one
algorithm that must stay equal to the per-item one (tests/test_read_paths.py checks them)."""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Text, and_, case, func, null, or_, select, type_coerce, union_all
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import aliased

from workflow.definition import expressions
from workflow.definition.model import CREATE, ESCALATE, MIGRATE, OVERDUE, Definition, Worklist
from workflow.engine import countersign, delegation, edits, guards, registry, timers, users, views, visibility
from workflow.engine.listing import (  # noqa: F401 (list_page, list_items, ItemPage: re-exported)
    SUMMARY_COLUMNS,
    ItemPage,
    Search,
    bulk_scan,
    check_page,
    json_value,
    list_items,
    list_page,
)
from workflow.store.orm import Event, Item

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Row
    from sqlalchemy.orm import Session

    from workflow.store.workspace import Workspace

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
    names: set[str] | None = field(default_factory=set)  # the fields read there (None: some read them whole)

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

    def read(self, reads: tuple[tuple[str, str], ...] | None) -> None:
        """Note the fields something reads (reads_of; None: the whole of them)."""
        if reads is None:
            self.names = None
        elif self.names is not None:
            self.names.update(name for kind, name in reads if kind == "fields")

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
            plan.read(reads_of(wl.when))
            if "body_changed" in wl.when and definition.signing is not None:
                plan.body.update(wl.states)
                plan.names = None  # the body hash reads the signed fields
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
            plan.read((("fields", d.met_by),) if d.met_by else ())
    plan.fields |= plan.deadline
    if actor.unit and any(role in actor.roles for role in definition.role_units):
        plan.fields |= plan.every | plan.own  # another unit's item is refused on its unit field
        plan.read(tuple(("fields", name) for name in definition.role_units.values()))
    return plan


def worklist(workspace: Workspace, login: str, now: dt.datetime, limit: int | None = None) -> list[views.Worklist]:
    """The worklists holding something for this user, in the order they are first met (items by
    id), each with its items by id: all of them, or the first `limit` with the total on the list.

    With a limit, the items of a (definition, state, created by the actor or not) group whose
    lists need no row read (no `when`, 会签, deadline or unit: shape.simple) are counted in SQL
    and only the first `limit` of them read; the others are read and evaluated as without one."""
    check_page(limit, 0)
    with workspace.db.read() as session:
        actor = delegation.with_grants(session, users.actor(session, login), now)
        base = set(actor.roles) | delegation.delegated_roles(actor)
        hashes = sorted(session.scalars(select(Item.definition_hash).distinct()))
        plans = {h: _plan(registry.pinned(session, h), actor, base) for h in hashes}
        wanted = [c for c in (p.candidates(actor.login) for p in plans.values()) if c is not None]
        if not wanted:
            return []
        if hidden := visibility.visible(session, actor, hashes):  # 密级: what the actor may not see is on no list
            wanted = [and_(or_(*wanted), *hidden)]
        with bulk_scan():
            shapes: dict[tuple[str, str, bool], _Shape] = {}
            counted: dict[tuple[str, str, bool], int] = {}  # simple groups: their size, counted in SQL
            if limit is not None:
                owned = case((Item.creator == actor.login, 1), else_=0)
                for definition_hash, state, mine, size in session.connection().execute(
                        select(Item.definition_hash, Item.state, owned, func.count()).where(or_(*wanted))
                        .group_by(Item.definition_hash, Item.state, owned)):
                    group = (definition_hash, state, bool(mine))
                    shape = shapes[group] = _shape(plans[definition_hash], state,
                                                   base | ({"owner"} if mine else set()), actor)
                    if shape.simple:
                        counted[group] = int(size)
            names, columns = _field_columns(session, plans)
            if counted:
                def in_group(group: tuple[str, str, bool]) -> ColumnElement[bool]:
                    mine = Item.creator == actor.login
                    return and_(Item.definition_hash == group[0], Item.state == group[1], mine if group[2] else ~mine)

                others = [in_group(g) for g in shapes if g not in counted]
                read = session.connection().execute(
                    select(*columns).where(or_(*others)).order_by(Item.id)).all() if others else []
                firsts = union_all(*[select(*columns).where(in_group(g)).order_by(Item.id).limit(limit)
                                     .subquery().select() for g in counted])
                rows: Sequence[Any] = sorted([*read, *session.connection().execute(firsts)], key=lambda row: row[0])
            else:
                rows = session.connection().execute(select(*columns).where(or_(*wanted)).order_by(Item.id)).all()
            rounds = _events_by_item(session, [p.among(p.cosign) for p in plans.values()],
                                     to_states={s for p in plans.values() for s in p.cosign})
            signed = _signing_events(session, plans)
            done = _recorded(session, [p.among(p.deadline) for p in plans.values()])
            return _fold(workspace, actor, base, now, plans, rows, names, rounds, signed, done, shapes, counted, limit)


def _field_columns(session: Session, plans: dict[str, _Plan]) -> tuple[list[str], tuple[Any, ...]]:
    """The columns a worklist reads: the summary's, then the item's fields where a row needs them
    whole (as stored: text on SQLite), then each field that is read alone, as JSON text (NULL: the
    item has no such field), so that a row of a long form costs a short parse, not the form's."""
    whole = [c for c in (p.among(p.fields) for p in plans.values() if p.names is None) if c is not None]
    fields = case((or_(*whole), type_coerce(Item.fields, Text)), else_=null()) if whole else null()
    names = sorted({n for p in plans.values() if p.names for n in p.names})
    sqlite = session.get_bind().dialect.name == "sqlite"
    alone: list[Any] = []
    for name in names:
        where = [c for c in (p.among(p.fields) for p in plans.values() if p.names and name in p.names)
                 if c is not None]
        value = (Item.fields.op("->")('$."' + name + '"') if sqlite
                 else sql_cast(Item.fields.op("->")(name), Text))  # psycopg would parse a json: keep the text
        alone.append(case((or_(*where), type_coerce(value, Text)), else_=null()).label(f"field_{len(alone)}"))
    return names, (*SUMMARY_COLUMNS, fields.label("fields"), *alone)


def _fold(workspace: Workspace, actor: guards.Actor, base: set[str], now: dt.datetime, plans: dict[str, _Plan],
          rows: Sequence[Any], names: list[str], rounds: dict[int, list[Row[Any]]], signed: dict[int, list[Row[Any]]],
          done: dict[int, set[tuple[str, str]]], shapes: dict[tuple[str, str, bool], _Shape],
          counted: dict[tuple[str, str, bool], int], limit: int | None) -> list[views.Worklist]:
    """Every candidate row in turn, as Engine.worklist evaluated every item: the lists it is on.
    The rows of a counted group (the first `limit` of it) add to their lists' items, not to their
    totals: the group's size does, once. (Rows are unpacked as tuples: an attribute of a Row costs
    as much as the rest of the loop.)"""
    lists: dict[tuple[str, str], tuple[Definition, Worklist, list[views.ItemSummary]]] = {}
    calendar = timers.LazyCalendar(workspace)
    whens: dict[tuple[Any, ...], bool] = {}  # a `when` on the same values it reads: the same answer
    scalars: dict[str, Any] = {}  # a field read alone, as JSON text -> its value (texts, numbers: few)
    totals: dict[tuple[str, str], int] = {}
    for (definition_hash, state, owned), size in counted.items():
        definition = plans[definition_hash].definition
        for wl in shapes[(definition_hash, state, owned)].lists:
            totals[(definition.id, wl.id)] = totals.get((definition.id, wl.id), 0) + size
    summary_of = views.ItemSummary
    login = actor.login
    for item_id, key, workflow_id, definition_hash, title, state, version, creator, updated_at, updated_by, \
            numbers, raw_fields, *alone in rows:
        owned = creator == login
        shape = shapes.get((definition_hash, state, owned))
        if shape is None:
            shape = shapes[(definition_hash, state, owned)] = _shape(
                plans[definition_hash], state, base | ({"owner"} if owned else set()), actor)
        definition = shape.definition
        if shape.simple:  # lists without a `when`, no 会签, no deadline, no unit: all of them
            holding = shape.lists
        else:
            fields: dict[str, Any] = {}
            if shape.needs_fields:  # whole, or the fields read alone (NULL: the item has no such field)
                fields = json_value(raw_fields) if raw_fields is not None else \
                    {n: scalars[v] if v in scalars else _field_value(v, scalars) for n, v in zip(names, alone)
                     if v is not None}
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
                                numbers=json_value(numbers), past_actors={}, calendar=calendar,
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
        summary = None  # made once, and only while a list it is on still shows fewer than `limit`
        read = (definition_hash, state, owned) not in counted
        for wl in holding:
            found = lists.get((definition.id, wl.id))
            if found is None:
                found = lists[(definition.id, wl.id)] = (definition, wl, [])
            if limit is None or len(found[2]) < limit:
                if summary is None:
                    summary = summary_of(item_id, key, workflow_id, definition.title, title, state, shape.state_title,
                                         version, creator, updated_at, updated_by, json_value(numbers))
                found[2].append(summary)
            if read:
                totals[(definition.id, wl.id)] = totals.get((definition.id, wl.id), 0) + 1
    return [views.Worklist(workflow=d.id, workflow_title=d.title, worklist=wl.id, title=wl.title,
                           items=tuple(items), total=totals[(d.id, wl.id)]) for d, wl, items in lists.values()]


def _field_value(text: str, scalars: dict[str, Any]) -> Any:
    """A field read alone (JSON text) as its value; a text, number or boolean is remembered (the
    same few values recur: 特急, 加急), a list or mapping is parsed each time (never shared)."""
    value = json.loads(text)
    if not isinstance(value, (list, dict)) and len(scalars) < 10_000:
        scalars[text] = value
    return value


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
            values.append(_value_key(json_value(item[name]) if name == "numbers" else item[name]))
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
