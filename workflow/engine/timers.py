"""When timers and deadlines fall due, computed when their period starts.

Every event of an item whose state has a timer or a deadline records in its data `due`: the
moment each of them falls due (`timer:<transition>`, `deadline:<id>`), computed
with the working-day calendar at the moment the period starts (the item enters the state, or a
date field it counts from is set). A date the calendar does not know is an error at that moment
(reason calendar_unknown: the transition or the --set is refused and nothing changes); working
days are never counted as plain weekdays. `gongwen tick` (engine/tick.py) reads the latest `due`.

Periods:
- `hours: N`: N hours after the start.
- `days: N`: N calendar days after the start (same time of day).
- `workdays: N`: at the end of the N-th whole working day after the start: from a date field the
  day itself counts (a 公示 of 5 working days that starts on Tuesday 2025-09-30 runs 9-30, 10-09,
  10-10, 10-11 (调休), 10-13, and is over at 2025-10-14 00:00); from the moment the item entered
  the state, counting starts the next day.
- a deadline `due: {field: F}` falls due at the end of day F (overdue from the next day on).
- `escalate.after` counts from the moment the deadline fell due: that period starts with the 催办,
  which records when it ends (`escalate_due`); a calendar that does not know those days then holds
  the escalation back (tick reports it as blocked, every run, until calendar.yaml covers them)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.definition.model import CREATE, ESCALATE, MIGRATE, OVERDUE, SYSTEM_USER, Definition, Worklist
from workflow.definition.timers import ENTERED, Period
from workflow.engine.workdays import WorkdayCalendar
from workflow.store.orm import Event, Item

if TYPE_CHECKING:
    from workflow.identity.keyring import KeyRing
    from workflow.store.workspace import Workspace

SYSTEM_NAME = "系统（定时任务）"


def has_timers(definition: Definition) -> bool:
    return bool(definition.deadlines) or any(t.timer for t in definition.transitions.values())


def calendar(workspace: Workspace) -> WorkdayCalendar:
    return WorkdayCalendar.of_workspace(workspace.root)


class LazyCalendar:
    """The workspace's calendar, read when a guard first counts working days (`workdays(a, b)`)."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._calendar: WorkdayCalendar | None = None

    def count(self, start: dt.date, end: dt.date) -> int:
        if self._calendar is None:
            self._calendar = calendar(self.workspace)
        return self._calendar.count(start, end)


def moment(text: str, tz: dt.tzinfo) -> dt.datetime:
    found = dt.datetime.fromisoformat(text)
    return found if found.tzinfo else found.replace(tzinfo=tz)


def day_start(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=tz)


def period_end(cal: WorkdayCalendar, period: Period, start: dt.datetime) -> dt.datetime:
    """When `period` is over, counted from `start` (see the module's doc)."""
    if period.kind == "hours":
        return start + dt.timedelta(hours=period.amount)
    if period.kind == "days":
        return start + dt.timedelta(days=period.amount)
    first = start.date() if start.timetz().replace(tzinfo=None) == dt.time() else start.date() + dt.timedelta(days=1)
    last = cal.add(first - dt.timedelta(days=1), period.amount)  # the N-th working day from `first` on
    return day_start(last + dt.timedelta(days=1), start.tzinfo or dt.timezone.utc)


def _since(since: str, fields: dict[str, Any], entered: dt.datetime) -> dt.datetime | None:
    if since == ENTERED:
        return entered
    value = fields.get(since)
    return day_start(dt.date.fromisoformat(value), entered.tzinfo or dt.timezone.utc) if value else None


def dues(cal: WorkdayCalendar, definition: Definition, state: str, fields: dict[str, Any],
         entered: dt.datetime, only: Iterable[str] | None = None) -> dict[str, str]:
    """When each timer and deadline of `state` falls due (ISO), for an item that entered it at
    `entered`; those counting from an empty date field are not armed. With `only` (changed
    fields), every timer and deadline counting from one of them, in any state (to refuse a date
    the calendar does not know at the moment it is set). BadInput calendar_unknown / bad_period."""
    changed = set(only) if only is not None else None
    found: dict[str, str] = {}
    for tr in definition.transitions.values():
        if tr.timer and (state in tr.sources if changed is None else tr.timer.since in changed):
            start = _since(tr.timer.since, fields, entered)
            if start is not None:
                found[f"timer:{tr.id}"] = period_end(cal, tr.timer.after, start).isoformat()
    for d in definition.deadlines.values():
        if not (state in d.states if changed is None else d.date_fields & changed) or d.met(fields):
            continue
        due: dt.datetime | None
        if d.due_field:
            value = fields.get(d.due_field)
            due = day_start(dt.date.fromisoformat(value) + dt.timedelta(days=1), entered.tzinfo or dt.timezone.utc) \
                if value else None
        else:
            start = _since(d.since, fields, entered)
            due = period_end(cal, d.after, start) if start is not None and d.after else None
        if due is None:
            continue
        found[f"deadline:{d.id}"] = due.isoformat()
    return found


def entry_of(events: list[Event]) -> Event | None:
    """The event that brought the item into its current state (its creation, a move between
    states or a migration); events that stay in the state do not restart its periods."""
    for event in reversed(events):
        if event.transition in (CREATE, MIGRATE) or event.from_state != event.to_state:
            return event
    return None


def stamp(workspace: Workspace, session: Session, item: Item, definition: Definition, transition: str,
          from_state: str | None, changes: dict[str, Any], now: dt.datetime,
          events: list[Event] | None = None) -> dict[str, Any]:
    """The `due` an event records (empty when nothing of the definition applies); raises
    calendar_unknown inside the caller's transaction, which then changes nothing."""
    if not has_timers(definition):
        return {}
    cal = calendar(workspace)
    date_changes = {n for n in changes if n in definition.fields and definition.fields[n].type == "date"}
    if date_changes:
        dues(cal, definition, item.state, item.fields, now, only=date_changes)  # refuses an unknown date now
    if transition in (CREATE, MIGRATE) or from_state != item.state:
        entered = now
    else:
        if events is None:
            events = list(session.scalars(select(Event).where(Event.item_id == item.id).order_by(Event.seq)))
        entry = entry_of(events)
        entered = moment(entry.time, workspace.timezone) if entry is not None else now
    found = dues(cal, definition, item.state, item.fields, entered)
    return {"due": found} if found else {}


def recorded(session: Session, item: Item, entry_seq: int) -> dict[tuple[str, str], dict[str, Any]]:
    """(overdue | escalate, deadline id) -> the event's `deadline` data, for those recorded since
    the item's entry into its state."""
    rows = session.execute(select(Event.transition, Event.data).where(
        Event.item_id == item.id, Event.seq > entry_seq, Event.transition.in_((OVERDUE, ESCALATE))))
    found = {}
    for transition, data in rows:
        deadline = (data or {}).get("deadline") or {}
        found[(str(transition), str(deadline.get("id")))] = deadline
    return found


def worklists_of(session: Session, item: Item, definition: Definition) -> list[Worklist]:
    """The built-in overdue worklists the item is on: `overdue_<deadline>` (for `notify`) once
    tick recorded its 催办, and `escalated_<deadline>` (for `escalate.to`) once it escalated."""
    deadlines = [d for d in definition.deadlines.values() if item.state in d.states and not d.met(item.fields)]
    if not deadlines:
        return []
    events = list(session.scalars(select(Event).where(Event.item_id == item.id).order_by(Event.seq)))
    entry = entry_of(events)
    return overdue_lists(definition, item.state, item.fields, set(recorded(session, item,
                                                                            entry.seq if entry is not None else 0)))


def overdue_lists(definition: Definition, state: str, fields: dict[str, Any],
                  done: set[tuple[str, str]]) -> list[Worklist]:
    """The overdue worklists of an item in `state`, given the (催办 | 督办, deadline id) recorded
    since it entered it."""
    found = []
    for d in definition.deadlines.values():
        if state not in d.states or d.met(fields):
            continue
        if (OVERDUE, d.id) in done:
            found.append(Worklist(id=d.overdue_list, title=f"逾期未办：{d.title}", states=list(d.states),
                                  roles=list(d.notify)))
        if (ESCALATE, d.id) in done:
            found.append(Worklist(id=d.escalated_list, title=f"督办（逾期已上报）：{d.title}",
                                  states=list(d.states), roles=list(d.escalate_to)))
    return found


def bootstrap_system(workspace: Workspace, admin_login: str, keys: KeyRing | None = None,
                     demo: bool = False) -> str:
    """The system user that signs what `gongwen tick` records, added by the admin with a key
    made now (without a passphrase: cron has no terminal) in this account's key folder (or the
    demo workspace's), unless this account holds one already. Returns its public key line."""
    from workflow.engine import admin
    from workflow.identity.keyring import KeyRing

    keys = keys or KeyRing(workspace.root)
    if keys.path(SYSTEM_USER) is None:
        keys.create(SYSTEM_USER, None, demo=demo)
    line = keys.signer(SYSTEM_USER).public.line
    admin.manage_users(workspace, admin_login, "add", SYSTEM_USER, [], name=SYSTEM_NAME, title="定时任务",
                       key_line=line, keys=keys)
    return line
