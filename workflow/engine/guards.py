"""Guard evaluation with typed refusals, in DCWorkflow's order of kinds (AND across kinds)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workflow.definition import expressions
from workflow.definition.fields import is_empty
from workflow.definition.model import CREATE, Definition, Transition
from workflow.errors import Refused
from workflow.i18n import Msg, Named


@dataclass
class Actor:
    login: str
    name: str
    title: str
    roles: list[str]  # global roles held now
    delegations: tuple[Any, ...] = ()  # delegation.Grant: the delegations to this user in force now
    on_behalf_of: str | None = None  # acting under a delegation (engine/delegation.py): its principal
    delegation: int | None = None  # and its id
    unit: str = ""  # the unit they belong to (a school): with a role declared unit_field, they act for it only

    def roles_on(self, creator: str) -> list[str]:
        return self.roles + (["owner"] if self.login == creator else [])


@dataclass
class Subject:
    """What a guard looks at: the item as it would be after this call's field changes."""

    key: str
    state: str
    title: str
    creator: str
    fields: dict[str, Any]
    numbers: dict[str, str]
    past_actors: dict[str, set[str]]  # transition id -> logins who fired it ("create" -> creator)
    body_changed: bool = False  # the signed text (definition.signing) differs from what was signed
    calendar: Any = None  # the workspace's WorkdayCalendar: `workdays(a, b)` in expressions


def expression_context(definition: Definition, subject: Subject, actor: Actor, now: dt.datetime) -> dict[str, Any]:
    """The names a `when:` expression sees; `today` and `now` are ISO strings of the workspace's clock."""
    item = {"key": subject.key, "state": subject.state, "title": subject.title,
            "creator": subject.creator, "fields": subject.fields, "numbers": subject.numbers,
            "body_changed": subject.body_changed}
    user = {"login": actor.login, "name": actor.name, "roles": actor.roles_on(subject.creator), "unit": actor.unit}
    context: dict[str, Any] = {"item": item, "fields": subject.fields, "user": user, "params": definition.params,
               "today": now.date().isoformat(), "now": now.isoformat()}
    if subject.calendar is not None:
        calendar = subject.calendar

        def workdays(start: str, end: str) -> int:
            """Working days from `start` to `end`, both included (a 公示 of 5 working days: 5)."""
            first, last = dt.date.fromisoformat(str(start)), dt.date.fromisoformat(str(end))
            return int(calendar.count(first - dt.timedelta(days=1), last))

        context["workdays"] = workdays
    return context


def unit_refusal(definition: Definition, tr_id: str, actor: Actor, fields: dict[str, Any]) -> Refused | None:
    """A user of a unit (a school) holding a role the definition scopes to a unit acts only on
    items whose unit field is empty or names their unit: the refusal (wrong_unit), else None."""
    if not actor.unit:
        return None
    for role, name in definition.role_units.items():
        value = fields.get(name)
        if role in actor.roles and value not in (None, "") and value != actor.unit:
            label = definition.fields[name].label if name in definition.fields else name
            return Refused(Msg("{transition}: {login} acts for {unit} ({role}) and may not act on an item whose "
                               "{label} is {value!r}", transition=tr_id, login=actor.login, unit=actor.unit,
                               role=definition.role_title(role), label=label, value=value),
                           reason="wrong_unit", transition=tr_id)
    return None


def check(definition: Definition, tr: Transition, subject: Subject, actor: Actor,
          comment: str, now: dt.datetime) -> None:
    """Raise Refused with the first failing kind; return None when the transition may fire."""
    title = Named.of(tr.id, tr.title)
    state_title = Named(definition.state_title(subject.state))
    if subject.state not in tr.sources:
        exits = Named.listing(Named.of(t.id, t.title) for t in definition.exits(subject.state))
        raise Refused(Msg("{transition} is not an exit of {state}; exits: {exits}", transition=title,
                          state=Named.of(subject.state, state_title), exits=exits),
                      reason="not_an_exit", transition=tr.id, state=subject.state)
    roles = actor.roles_on(subject.creator)
    if refusal := unit_refusal(definition, tr.id, actor, subject.fields):
        raise refusal
    if tr.roles and not set(tr.roles) & set(roles):
        wanted = "、".join(f"{r}（{definition.role_title(r)}）" for r in tr.roles)
        raise Refused(Msg("{transition}: {login} lacks the role: needs one of {wanted}", transition=title,
                          login=actor.login, wanted=wanted), reason="role_missing", transition=tr.id, needed=tr.roles)
    if tr.permissions:
        granted = definition.states[subject.state].permissions
        if not any(set(granted.get(p, [])) & set(roles) for p in tr.permissions):
            raise Refused(Msg("{transition}: {login} lacks the permission {permission} in {state}", transition=title,
                              login=actor.login, permission="/".join(tr.permissions), state=state_title),
                          reason="role_missing", transition=tr.id)
    for earlier in tr.distinct_from:
        for who in filter(None, (actor.login, actor.on_behalf_of)):  # a delegate and their principal
            if who in subject.past_actors.get(earlier, ()):
                done = definition.transitions.get(earlier)
                what = Msg("created") if earlier == CREATE else \
                    Msg("did {earlier}", earlier=Named(earlier, Named.of(earlier, done.title if done else None).zh))
                behalf = Msg(" (acting for {principal} under delegation #{delegation})",
                             principal=actor.on_behalf_of, delegation=actor.delegation) if actor.on_behalf_of else ""
                raise Refused(Msg("{transition}: separation of duties: {who} {what} on this item and may not also "
                                  "{tr}{behalf}", transition=title, who=who, what=what, tr=Named(tr.id, tr.title),
                                  behalf=behalf), reason="separation_of_duties", transition=tr.id)
    missing = [name for name in required_fields(definition, tr, subject.state)
               if is_empty(subject.fields.get(name))]
    if missing:
        labels = "、".join(f"{n}（{definition.fields[n].label}）" for n in missing)
        raise Refused(Msg("{transition}: required field missing: {labels}", transition=title, labels=labels),
                      reason="field_missing", transition=tr.id, fields=missing)
    if tr.assign and subject.body_changed:  # a 字号 is drawn only on the text the signer signed
        raise Refused(Msg("{transition}: the text changed after it was signed (签发): it must be signed again "
                          "before a number is drawn", transition=title), reason="body_changed", transition=tr.id)
    if tr.comment_required and not comment.strip():
        raise Refused(Msg("{transition}: a comment (reason) is required: use -m", transition=title),
                      reason="field_missing", transition=tr.id, fields=["comment"])
    if tr.when:
        ok, error = expressions.evaluate(tr.when, expression_context(definition, subject, actor, now))
        if not ok:
            why = tr.when_message or Msg("condition not met: {when}", when=tr.when)
            raise Refused(Msg("{transition}: {why}{error}", transition=title, why=why,
                              error=f" ({error})" if error else ""), reason="expression_false", transition=tr.id)


def required_fields(definition: Definition, tr: Transition, state: str) -> list[str]:
    names = list(tr.require)
    leaving_initial = state == definition.initial and tr.target_from(state) != state
    if leaving_initial:
        names += [n for n, f in definition.fields.items() if f.required and n not in names]
    return names


def allowed(definition: Definition, subject: Subject, actor: Actor, now: dt.datetime,
            acting: Callable[[Transition, Actor, str], Actor] | None = None) -> list[Transition]:
    """The user transitions this actor may fire now (comment and field requirements aside,
    those that fail only for a missing comment are still listed). `acting(tr, actor, creator)`:
    who fires `tr` (a delegate acts for their principal: engine/delegation.py)."""
    result: list[Transition] = []
    for tr in definition.exits(subject.state):
        if tr.automatic or tr.outcome_of or tr.timer:  # fired by the engine (or gongwen tick), not by hand
            continue
        try:
            check(definition, tr, subject, acting(tr, actor, subject.creator) if acting else actor, "(comment)", now)
        except Refused as exc:
            if exc.reason not in ("field_missing",):
                continue
        result.append(tr)
    return result
