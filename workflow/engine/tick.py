"""`gongwen tick`: fire the timed transitions that are due, record the 催办 (overdue) of passed
deadlines with their 催办通知, and escalate those still overdue, as the system user.

Safe to run every minute, and concurrently: each due thing is decided again inside its own write
transaction (Database.write holds the global write lock: BEGIN IMMEDIATE on SQLite, an advisory
lock on PostgreSQL), where a timer fires only if the item is still in the state it entered at
that moment, and a 催办 or escalation is recorded only if none is recorded for the same deadline
since that entry. A second tick, or two at once, therefore records each thing exactly once."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.definition.model import ESCALATE, OVERDUE, SYSTEM_USER, Definition, Transition
from workflow.documents import produce as documents
from workflow.engine import registry, timers, users
from workflow.errors import BadInput, Refused
from workflow.store.orm import Event, Item

if TYPE_CHECKING:
    from workflow.engine.engine import Engine


@dataclass(frozen=True)
class Due:
    kind: str  # timer | overdue | escalate
    key: str
    workflow: str
    name: str  # the timer transition, or the deadline
    title: str
    due: str  # ISO moment
    state: str
    entry: int  # the seq of the event that entered the state
    target: str | None = None  # a timer's target state
    roles: tuple[str, ...] = ()  # who is told (notify / escalate.to)
    outcome: str = "due"  # due (dry run) | fired | noticed | escalated | skipped | blocked
    message: str = ""
    documents: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    def line(self) -> str:
        what = {"timer": f"{self.name}（{self.title}）{self.state} → {self.target}",
                "overdue": f"overdue {self.name}（{self.title}）催办 → {'、'.join(self.roles)}",
                "escalate": f"escalate {self.name}（{self.title}）督办 → {'、'.join(self.roles)}"}[self.kind]
        verb = {"due": "would fire", "fired": "fired", "noticed": "noticed", "escalated": "escalated",
                "skipped": "skipped", "blocked": "blocked"}[self.outcome]
        tail = f": {self.message}" if self.message else ""
        docs = f" [{', '.join(self.documents)}]" if self.documents else ""
        return f"{verb} {self.key} {what}, due {self.due}{docs}{tail}"


def due_now(engine: Engine, session: Session, item: Item, definition: Definition, now: dt.datetime) -> list[Due]:
    """What of this item is due at `now`: its earliest due timer (one at most: it moves the item),
    else each 催办 and escalation not yet recorded since the item entered its state."""
    events = list(session.scalars(select(Event).where(Event.item_id == item.id).order_by(Event.seq)))
    entry = timers.entry_of(events)
    if not events or entry is None:
        return []
    recorded = events[-1].data.get("due") if isinstance(events[-1].data, dict) else None
    if not isinstance(recorded, dict):  # events written before the definition had timers
        recorded = timers.dues(timers.calendar(engine.ws), definition, item.state, item.fields,
                               timers.moment(entry.time, engine.ws.timezone))
    tz = engine.ws.timezone
    base: dict[str, Any] = {"key": item.key, "workflow": definition.id, "state": item.state, "entry": entry.seq}
    fired = sorted((timers.moment(recorded[f"timer:{tr.id}"], tz), tr.id) for tr in definition.exits(item.state)
                   if tr.timer and f"timer:{tr.id}" in recorded
                   and timers.moment(recorded[f"timer:{tr.id}"], tz) <= now)
    if fired:
        tr = definition.transitions[fired[0][1]]
        return [Due("timer", name=tr.id, title=tr.title, due=recorded[f"timer:{tr.id}"], target=tr.target, **base)]
    done = timers.recorded(session, item, entry.seq)
    found = []
    for d in definition.deadlines.values():
        due = recorded.get(f"deadline:{d.id}")
        if item.state not in d.states or due is None or timers.moment(due, tz) > now:
            continue
        notice = done.get((OVERDUE, d.id))
        if notice is None:
            found.append(Due("overdue", name=d.id, title=d.title, due=due, roles=tuple(d.notify), **base))
        elif d.escalate_after and (ESCALATE, d.id) not in done:
            escalate, problem = str(notice.get("escalate_due") or ""), ""
            if not escalate:  # the calendar did not know those days at the 催办: ask again
                try:
                    escalate = escalation_due(engine, d, str(notice.get("due") or due))
                except BadInput as exc:
                    problem = exc.message
            if problem or (escalate and timers.moment(escalate, tz) <= now):
                found.append(Due("escalate", name=d.id, title=d.title, due=escalate or "?", roles=tuple(d.escalate_to),
                                 outcome="blocked" if problem else "due", message=problem, **base))
    return found


def escalation_due(engine: Engine, d: Any, due: str) -> str:
    """When a deadline that fell due at `due` escalates (BadInput calendar_unknown: days unknown)."""
    cal = timers.calendar(engine.ws)
    return timers.period_end(cal, d.escalate_after, timers.moment(due, engine.ws.timezone)).isoformat()


def candidates(engine: Engine, now: dt.datetime) -> list[Due]:
    """Everything due at `now`, over the items in a state with a timer or a deadline."""
    found: list[Due] = []
    with engine.db.read() as session:
        versions: dict[str, Definition] = {}
        for item in session.scalars(select(Item).order_by(Item.id)):
            if item.definition_hash not in versions:
                versions[item.definition_hash] = registry.pinned(session, item.definition_hash)
            definition = versions[item.definition_hash]
            if not timers.has_timers(definition) or not _watched(definition, item.state):
                continue
            try:
                found.extend(due_now(engine, session, item, definition, now))
            except BadInput as exc:  # an event from before the timers, over a date the calendar does not know
                raise BadInput(f"{item.key}: {exc.message}", reason=exc.reason) from None
    return found


def _watched(definition: Definition, state: str) -> bool:
    return any(tr.timer for tr in definition.exits(state)) or any(state in d.states
                                                                   for d in definition.deadlines.values())


def tick(engine: Engine, dry_run: bool = False) -> list[Due]:
    """Fire (or, dry run, list) what is due now; one line each."""
    now = engine.now()
    due = candidates(engine, now)
    if dry_run or not any(d.outcome == "due" for d in due):
        return due
    try:
        signer = engine.keys.signer(SYSTEM_USER)
    except Refused as exc:
        raise Refused(f"gongwen tick signs as the system user, whose key this account does not hold "
                      f"({exc.message}); see README, Timers and 督办", reason="not_authenticated") from None
    return [_fire(engine, signer, thing, now) if thing.outcome == "due" else thing for thing in due]


def _fire(engine: Engine, signer: Any, thing: Due, now: dt.datetime) -> Due:
    out = documents.Rendered()
    try:
        with engine.db.write() as session:
            item = engine.get_item(session, thing.key)
            definition = registry.pinned(session, item.definition_hash)
            still = [d for d in due_now(engine, session, item, definition, now)
                     if (d.kind, d.name, d.entry, d.outcome) == (thing.kind, thing.name, thing.entry, "due")]
            if not still:
                return dataclasses.replace(thing, outcome="skipped", message="already done (another tick)")
            actor = users.authenticate(session, SYSTEM_USER, signer)
            documents.check_writable(engine.ws, item.key)
            if thing.kind == "timer":
                tr = definition.transitions[thing.name]
                assert tr.timer is not None
                engine._transition(session, signer, item, definition, tr, actor, f"{tr.timer.after.describe()}已满",
                                   (), now, out)
                engine._run_automatic(session, signer, item, definition, actor, now, out)
                outcome = "fired"
            else:
                _notice(engine, session, signer, item, definition, thing, actor, now, out)
                outcome = "noticed" if thing.kind == "overdue" else "escalated"
            session.flush()
            key = item.key
    except Refused as exc:  # the timer's own guard (a required field, `when`): it waits, nothing changes
        if exc.reason == "not_authenticated":  # the system key is not the one registered: nothing will work
            raise
        return dataclasses.replace(thing, outcome="blocked", message=exc.message)
    written, warning = documents.write_files_after_commit(engine.ws, key, f"{key} {thing.kind} {thing.name}",
                                                          out.documents, out.blobs)
    return dataclasses.replace(thing, outcome=outcome, documents=tuple(d["file"] for d in out.documents),
                               message=warning or "")


def _notice(engine: Engine, session: Session, signer: Any, item: Item, definition: Definition, thing: Due,
            actor: Any, now: dt.datetime, out: documents.Rendered) -> None:
    """The 催办 (overdue) or 督办 (escalate) event: stays in the state, the item's revision
    unchanged (a form handed out earlier stays valid); the 催办 renders the deadline's notice."""
    d = definition.deadlines[thing.name]
    last_day = (timers.moment(thing.due, engine.ws.timezone) - dt.timedelta(microseconds=1)).date().isoformat()
    kind = OVERDUE if thing.kind == "overdue" else ESCALATE
    title = "催办" if kind == OVERDUE else "督办上报"
    roles = "、".join(definition.role_title(r) for r in thing.roles)
    comment = (f"{d.title}已逾期（期限{last_day}），请{roles}督促办理" if kind == OVERDUE
               else f"{d.title}逾期未办，报{roles}督办")
    pseudo = Transition(id=kind, title=title, sources=[item.state], target=None, issuer=d.issuer,
                        templates=[d.notice] if d.notice and kind == OVERDUE else [])
    earlier = engine.events_of(session, item)
    produced: list[dict[str, Any]] = []
    if pseudo.templates:
        context = documents.render_context(session, engine.ws, definition, item, pseudo, actor, comment, now,
                                           item.state, earlier)
        context["deadline"] = {"id": d.id, "title": d.title, "due": last_day, "due_time": thing.due,
                               "roles": list(thing.roles), "roles_title": roles,
                               "escalate_after": d.escalate_after.describe() if d.escalate_after else None,
                               "escalate_to": "、".join(definition.role_title(r) for r in d.escalate_to)}
        produced = documents.render_transition(session, engine.ws, definition, item, pseudo, len(earlier) + 1,
                                               context, out.blobs, revision=item.version)
        out.documents.extend(produced)
    data: dict[str, Any] = {"documents": produced, "deadline": {"id": d.id, "due": thing.due, "entry": thing.entry,
                                                                "roles": list(thing.roles)}}
    if kind == OVERDUE and d.escalate_after:  # the escalation's period starts now
        try:
            data["deadline"]["escalate_due"] = escalation_due(engine, d, thing.due)
        except BadInput:
            data["deadline"]["escalate_due"] = None  # tick asks again, and reports it blocked meanwhile
    engine._append_event(session, signer, item, definition, kind, item.state, actor, comment, {}, data, now)

