"""The demo's story: every item's steps, each on its own working day (`at: {workdays: -N}`, counted
back from today on the official calendar), played in time order across the items on the
workspace's clock, so that each document is dated the day its step happened and every deadline
falls after the document that sets it. The last steps happen today."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workflow.errors import BadInput

if TYPE_CHECKING:
    from workflow.engine.engine import Engine
    from workflow.engine.views import ItemView
    from workflow.engine.workdays import WorkdayCalendar

OFFSET_KEYS = {"days", "workdays", "years", "format"}
START = dt.time(9, 0)  # the office opens; steps of one day follow a minute apart

Say = Callable[[str], Any]


@dataclass
class Clock:
    """Dates relative to the demo's today: days, working days (on the calendar), years."""

    today: dt.date
    calendar: WorkdayCalendar
    timezone: dt.tzinfo = dt.timezone.utc

    def shift(self, workdays: int) -> dt.date:
        """`workdays` working days after today (before it, if negative); 0 is today."""
        day, left = self.today, abs(workdays)
        step = dt.timedelta(days=1 if workdays > 0 else -1)
        while left:
            day += step
            left -= self.calendar.is_workday(day)
        return day

    def resolve(self, value: Any) -> Any:
        """The data with its offsets made dates, years and text; plain lists and dicts otherwise."""
        if isinstance(value, dict):
            if value and set(value) <= OFFSET_KEYS:
                return self.offset(value)
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        return value

    def offset(self, spec: dict[str, Any]) -> str | int:
        year = self.today.year + int(spec.get("years", 0))
        if "format" in spec:
            return str(spec["format"]).format(year=year, today=self.today.isoformat())
        if set(spec) == {"days"}:
            return (self.today + dt.timedelta(days=int(spec["days"]))).isoformat()
        if set(spec) == {"workdays"}:
            return self.shift(int(spec["workdays"])).isoformat()
        if set(spec) == {"years"}:
            return year
        raise ValueError(f"demo data: {spec} is not an offset: days, workdays or years alone, or format (and years)")


def set_value(value: Any) -> str:
    """A step's --set value: text as on the command line (lists and mappings as JSON)."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else str(value)


def schedule(plans: list[dict[str, Any]], clock: Clock) -> list[tuple[dt.date, int, int, dict[str, Any]]]:
    """(day, item, step number, step) for every step (step 0: the item's creation), in time order;
    an item's steps keep their order."""
    timeline = []
    for index, plan in enumerate(plans):
        last = None
        for number, step in enumerate([{"create": True, "at": plan["at"]}, *plan["steps"]]):
            day = dt.date.fromisoformat(str(clock.resolve(step["at"])))
            if last is not None and day < last:
                raise ValueError(f"demo data: step {number} of item {index + 1} is dated before the step above it")
            timeline.append((day, index, number, step))
            last = day
    return sorted(timeline, key=lambda entry: (entry[0], entry[1], entry[2]))


def opening(plans: list[dict[str, Any]], clock: Clock) -> dt.datetime:
    """The morning of the story's first day, before its first step (when the users are set up)."""
    first = min(day for day, *_ in schedule(plans, clock))
    return dt.datetime.combine(first, dt.time(8, 0), clock.timezone)


def play(engine: Engine, plans: list[dict[str, Any]], clock: Clock, say: Say, log: list[dict[str, str]]) -> list[str]:
    """Every step, each at its moment on the workspace's clock; returns the items' keys."""
    keys: list[str] = [""] * len(plans)
    views: dict[int, ItemView] = {}
    minute: dict[dt.date, int] = {}  # day -> the next free minute
    try:
        for day, index, _, step in schedule(plans, clock):
            at = minute.get(day, 0)
            minute[day] = at + 1
            engine.ws.clock = dt.datetime.combine(day, START, engine.ws.timezone) + dt.timedelta(minutes=at)
            plan = plans[index]
            if step.get("create"):
                views[index] = engine.create(plan["by"], plan["workflow"], values=clock.resolve(plan["values"]))
                keys[index] = views[index].key
                say(f"{day}  {keys[index]} {views[index].workflow_title}：{views[index].title}（{plan['by']} 起草）")
                continue
            views[index] = _step(engine, keys[index], clock.resolve(step), day, say, log) or views[index]
    finally:
        engine.ws.clock = None
    return keys


def _step(engine: Engine, key: str, step: dict[str, Any], day: dt.date, say: Say,
          log: list[dict[str, str]]) -> ItemView | None:
    if "tick" in step:  # the cron job: what is due today
        from workflow.engine.tick import tick

        for thing in tick(engine):
            say(f"{day}  system（定时任务） {thing.line()}")
            log.append({"key": thing.key, "actor": "system", "transition": thing.name, "state": thing.target or ""})
        return None
    if "signed_form" in step:
        _sign_on_paper(engine, key, step["signed_form"], day, say, log)
        return None
    login, comment = step["as"], step.get("comment", "")
    if "countersign" in step:  # an office's 会签 opinion
        from workflow.engine import countersign

        view = countersign.record(engine, login, key, step["countersign"], comment)
        transition = "countersign"
        what = f"会签 {step['countersign']}"
    else:
        transition = what = step["do"]
        sets = [(path, set_value(value)) for path, value in step.get("set", {}).items()]
        view = engine.fire(login, key, transition, comment, sets)
    number = "".join(f"，{n}：{v}" for n, v in view.numbers.items() if transition in ("publish", "register"))
    say(f"{day}  {key} {login:<10} {what:<14} → {view.state}（{view.state_title}）"
        f"{'  意见：' + comment if comment else ''}{number}")
    log.append({"key": key, "actor": login, "transition": transition, "state": view.state})
    return view


def _sign_on_paper(engine: Engine, key: str, signed: dict[str, Any], day: dt.date, say: Say,
                   log: list[dict[str, str]]) -> None:
    """The supervisor ticks the decision on the approval form the last step printed, writes his
    instruction and signs it with his key (`gongwen sign`), and the office feeds the returned file
    back (`gongwen ingest`)."""
    from workflow.engine import registry
    from workflow.forms import fill as formfill
    from workflow.forms.ingest import ingest
    from workflow.forms.sign import sign_file

    forms = [d for d in engine.documents(signed["login"], key).documents if d.get("form_id")]
    if not forms:
        raise BadInput(f"demo: {key} has no approval form to sign")
    with engine.db.read() as session:
        version = engine.get_item(session, key).definition_hash
        spec = registry.pinned(session, version).transitions[forms[-1]["transition"]].form
    assert spec is not None
    form_path = engine.ws.root / "documents" / key / forms[-1]["file"]
    returned = Path(engine.ws.root) / "returned" / f"{key}_{signed['file']}.docx"
    returned.parent.mkdir(exist_ok=True)
    returned.write_bytes(formfill.fill(form_path.read_bytes(), spec, signed["decision"], opinion=signed["opinion"],
                                       signer=signed["signer"], date=f"{day.year}年{day.month}月{day.day}日"))
    say(f"{day}  {key} {signed['signer']} ticks {signed['decision']} on {form_path.name} in Word and signs it "
        f"with his key (gongwen --as {signed['login']} sign); the office ingests {returned.name}")
    sign_file(engine, signed["login"], returned)
    [result] = ingest(engine, signed["ingested_by"], [returned])
    if not result["ok"]:
        raise BadInput(f"demo: the signed form was refused: {result['message']}")
    say(f"{day}  {key} {result['signer']:<10} {result['transition']:<14} → {result['state']}（{result['state_title']}）"
        f"  (from the returned form, read as: {result['read_as']}; {result['auth']})")
    log.append({"key": key, "actor": result["signer"], "transition": result["transition"], "state": result["state"]})
