"""Timed transitions and deadlines (督办) of a definition: their model and their checks.

A transition with `trigger: timer` is fired by `gongwen tick` (as the system user, never by hand)
once a period has passed since the item entered its source state or since a date field:

    end_publicity:
      from: publicity
      to: publicized
      trigger: timer
      after: {workdays: 5}        # or {days: N} / {hours: N}: one kind, a whole number > 0
      since: publicity_start      # `entered` (default) or a date field

A deadline (top-level `deadlines:`) puts an item that stays too long on an overdue worklist, with a
催办通知 rendered once, and escalates it to its supervisors after a further period:

    deadlines:
      rectification:
        title: 整改报告报送
        states: [publish]
        due: {field: report_due}                 # or {after: {workdays: 10}, since: entered | FIELD}
        met_by: report_received                  # optional: a field whose value means it is done
        notice: 催办通知.docx                    # rendered when it becomes overdue (optional)
        notify: [inspector, office]              # who sees the overdue worklist
        escalate: {after: {workdays: 3}, to: [supervisor]}   # optional

The builder (loader.Builder) is passed in for its `problem`, `mapping`, `str_list` and
`check_role`, so every problem is a `file:line` line like the rest of the definition's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workflow.definition.model import ID_PATTERN, template_name_problem

PERIOD_KINDS = ("workdays", "days", "hours")
ENTERED = "entered"
TIMER_KEYS = {"after", "since"}
MAX_AMOUNT = {"workdays": 2500, "days": 3650, "hours": 87600}  # about ten years


@dataclass(frozen=True)
class Period:
    kind: str  # workdays | days | hours
    amount: int

    def describe(self) -> str:
        return {"workdays": "{}个工作日", "days": "{}天", "hours": "{}小时"}[self.kind].format(self.amount)


@dataclass(frozen=True)
class TimerSpec:
    after: Period
    since: str = ENTERED  # `entered` or a date field


@dataclass
class Deadline:
    id: str
    title: str
    states: list
    due_field: str | None = None  # due at the end of this date field's day
    after: Period | None = None  # else: this period after `since`
    since: str = ENTERED
    notice: str | None = None  # the 催办通知 template
    notify: list = field(default_factory=list)
    escalate_after: Period | None = None
    escalate_to: list = field(default_factory=list)
    met_by: str | None = None  # a field: once it has a value, the deadline is met
    issuer: str | None = None  # the issuer its 催办通知 is in the name of (gongwen.yaml issuers:)

    def met(self, fields: dict) -> bool:
        return bool(self.met_by) and fields.get(self.met_by) not in (None, "", [])

    @property
    def overdue_list(self) -> str:
        return f"overdue_{self.id}"

    @property
    def escalated_list(self) -> str:
        return f"escalated_{self.id}"

    @property
    def date_fields(self) -> set:
        return {f for f in (self.due_field, self.since) if f and f != ENTERED}


def build_period(b: Any, raw: Any, line: int, what: str) -> Period | None:
    """{workdays: N} | {days: N} | {hours: N}, N a whole number above 0."""
    spec = b.mapping(raw, line, what)
    if not spec:
        b.problem(line, f"{what} needs a period: one of {', '.join(k + ': N' for k in PERIOD_KINDS)}")
        return None
    if len(spec) != 1:
        b.problem(spec.line, f"{what} takes exactly one of {', '.join(PERIOD_KINDS)}, not {', '.join(map(str, spec))}")
        return None
    [(kind, amount)] = spec.items()
    at = spec.line_of(kind)
    if kind not in PERIOD_KINDS:
        b.problem(at, f"unknown period kind {kind!r} in {what} (known: {', '.join(PERIOD_KINDS)})")
        return None
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        b.problem(at, f"{what}: {kind} must be a whole number above 0, not {amount!r}")
        return None
    if amount > MAX_AMOUNT[kind]:
        b.problem(at, f"{what}: {amount} {kind} is over ten years")
        return None
    return Period(str(kind), amount)


def check_since(b: Any, value: Any, line: int, fields: dict, what: str) -> str:
    """`entered` or a top-level date field."""
    if value is None:
        return ENTERED
    name = str(value)
    if name == ENTERED:
        return ENTERED
    if name not in fields:
        b.problem(line, f"{what}: since {name!r} is neither `entered` nor a field")
    elif fields[name].type != "date":
        b.problem(line, f"{what}: since {name!r} is not a date field (it is {fields[name].type})")
    return name


def build_timer(b: Any, spec: Any, tid: str, fields: dict, trigger: Any) -> TimerSpec | None:
    """The timer of transition `tid` (None unless `trigger: timer`); its own checks."""
    if trigger != "timer":
        for key in TIMER_KEYS & set(spec):
            b.problem(spec.line_of(key), f"{key}: is only for a transition with trigger: timer ({tid!r})")
        return None
    what = f"timer transition {tid!r}"
    for key in ("roles", "permissions", "distinct_from", "form"):
        if spec.get(key):
            b.problem(spec.line_of(key), f"{what} is fired by `gongwen tick` as the system user: it takes no {key}")
    for key in ("comment", "signature"):
        if spec.get(key) == "required":
            b.problem(spec.line_of(key), f"{what} is fired by `gongwen tick`: no one gives it a {key}")
    if "after" not in spec:
        b.problem(spec.line, f"{what} needs after: (e.g. after: {{workdays: 5}})")
        return None
    period = build_period(b, spec.get("after"), spec.line_of("after"), f"after of {tid!r}")
    since = check_since(b, spec.get("since"), spec.line_of("since"), fields, what)
    target = spec.get("to")
    sources = spec.get("from")
    sources = [sources] if isinstance(sources, str) else sources if isinstance(sources, list) else []
    if target is None or str(target) in sources:
        b.problem(spec.line_of("to") if target is not None else spec.line,
                  f"{what} must lead to another state (to:): one that stays would fire again on every tick")
    return TimerSpec(period, since) if period else None


def build_deadlines(b: Any, raw: Any, fields: dict, states: dict, worklists: dict,
                    wf_id: str) -> dict[str, Deadline]:
    out: dict[str, Deadline] = {}
    known = {"title", "states", "due", "notice", "notify", "escalate", "met_by", "issuer"}
    for did, spec in raw.items():
        line = raw.line_of(did)
        did = str(did)
        spec = b.mapping(spec, line, f"deadline {did!r}")
        b.known_keys(spec, known, f"deadline {did!r}")
        what = f"deadline {did!r}"
        if not ID_PATTERN.fullmatch(did):
            b.problem(line, f"bad deadline id {did!r} (lowercase letters, digits, _)")
        if not spec.get("title"):
            b.problem(line, f"{what} needs a title")
        in_states = b.str_list(spec.get("states"), spec.line_of("states"), "states")
        if not in_states:
            b.problem(line, f"{what} needs states: (where the item must not stay past the deadline)")
        for state in in_states:
            if state not in states:
                b.problem(spec.line_of("states"), f"unknown state {state!r} in {what}")
            elif states[state].final:
                b.problem(spec.line_of("states"), f"{what}: {state!r} is final, nothing can be overdue there")
        deadline = Deadline(id=did, title=str(spec.get("title") or did), states=in_states,
                            issuer=spec.get("issuer") and str(spec["issuer"]))
        _due(b, spec, deadline, fields)
        if spec.get("met_by") is not None:
            if str(spec["met_by"]) not in fields:
                b.problem(spec.line_of("met_by"), f"unknown field {spec['met_by']!r} in met_by of {what}")
            else:
                deadline.met_by = str(spec["met_by"])
        notice = spec.get("notice")
        if notice is not None:
            problem = template_name_problem(notice)
            if problem:
                b.problem(spec.line_of("notice"), f"bad notice template name {notice!r} of {what}: {problem}")
            elif b.templates_dir is not None and wf_id and not (b.templates_dir / wf_id / notice).is_file():
                b.problem(spec.line_of("notice"), f"missing template file {wf_id}/{notice} (in {b.templates_dir})")
            else:
                deadline.notice = str(notice)
        deadline.notify = b.str_list(spec.get("notify"), spec.line_of("notify"), "notify")
        if not deadline.notify:
            b.problem(line, f"{what} needs notify: (the roles that see the overdue worklist)")
        for role in deadline.notify:
            b.check_role(role, spec.line_of("notify"))
        if "escalate" in spec:
            _escalation(b, spec, deadline)
        for listed in (deadline.overdue_list, deadline.escalated_list):
            if listed in worklists:
                b.problem(line, f"{what} makes the worklist {listed!r}, which worklists: already declares")
        out[did] = deadline
    return out


def _due(b: Any, spec: Any, deadline: Deadline, fields: dict) -> None:
    what = f"deadline {deadline.id!r}"
    due = b.mapping(spec.get("due"), spec.line_of("due"), f"due of {what}")
    for key in due:
        if key not in ("field", "after", "since"):
            b.problem(due.line_of(key), f"unknown key {key!r} in due of {what} (known: after, field, since)")
    if "field" in due and ("after" in due or "since" in due):
        b.problem(due.line, f"due of {what}: either field: or after:/since:, not both")
    elif "field" in due:
        name = str(due["field"])
        if name not in fields:
            b.problem(due.line_of("field"), f"unknown field {name!r} in due of {what}")
        elif fields[name].type != "date":
            b.problem(due.line_of("field"), f"due of {what}: {name!r} is not a date field (it is {fields[name].type})")
        else:
            deadline.due_field = name
    elif "after" in due:
        deadline.after = build_period(b, due["after"], due.line_of("after"), f"due of {what}")
        deadline.since = check_since(b, due.get("since"), due.line_of("since"), fields, what)
    else:
        b.problem(due.line if due else spec.line, f"{what} needs due: {{field: DATE_FIELD}} or "
                                                  "{after: {workdays: N}, since: entered}")


def _escalation(b: Any, spec: Any, deadline: Deadline) -> None:
    what = f"escalate of deadline {deadline.id!r}"
    raw = b.mapping(spec.get("escalate"), spec.line_of("escalate"), what)
    for key in raw:
        if key not in ("after", "to"):
            b.problem(raw.line_of(key), f"unknown key {key!r} in {what} (known: after, to)")
    if "after" not in raw:
        b.problem(raw.line, f"{what} needs after: (e.g. after: {{workdays: 3}})")
    else:
        deadline.escalate_after = build_period(b, raw["after"], raw.line_of("after"), what)
    deadline.escalate_to = b.str_list(raw.get("to"), raw.line_of("to"), "to")
    if not deadline.escalate_to:
        b.problem(raw.line, f"{what} needs to: (the supervisors' roles)")
    for role in deadline.escalate_to:
        b.check_role(role, raw.line_of("to"))
