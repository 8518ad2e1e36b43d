"""`workflows show`: a definition as data and as text, with Chinese titles."""

from __future__ import annotations

import unicodedata

from workflow.definition.fields import TYPE_NAMES, Field
from workflow.definition.model import CountersignSpec, Definition
from workflow.i18n import Named, say


def describe(d: Definition) -> dict:
    return {
        "id": d.id, "title": d.title, "version": d.hash, "initial": d.initial, "key_prefix": d.key_prefix,
        "roles": {r: d.role_title(r) for r in d.roles},
        "fields": {n: {"type": f.type, "label": f.label, "required": f.required,
                       **({"choices": f.choices} if f.choices else {}),
                       "set": f"{n}.N" if f.record else n,
                       **({"fields": {s: {"type": x.type, "label": x.label, "set": f"{n}.N.{s}",
                                          **({"choices": x.choices} if x.choices else {})}
                                      for s, x in f.record.items()}} if f.record else {})}
                   for n, f in d.fields.items()},
        "states": {s: {"title": st.title, "final": st.final,
                       "editable": st.editable if st.editable == "all" else list(st.editable),
                       **({"countersign": _countersign(st.countersign)} if st.countersign else {})}
                   for s, st in d.states.items()},
        "transitions": {t.id: {"title": t.title, "from": t.sources, "to": t.target, "roles": t.roles,
                               "permissions": t.permissions, "distinct_from": t.distinct_from,
                               "require": t.require, "fields": t.fields,
                               "comment": "required" if t.comment_required else "optional",
                               "when": t.when, "when_message": t.when_message, "assign": t.assign,
                               "templates": t.templates,
                               "trigger": "timer" if t.timer else "automatic" if t.automatic else "user",
                               **({"issuer": t.issuer} if t.issuer else {}),
                               **({"after": {t.timer.after.kind: t.timer.after.amount}, "since": t.timer.since}
                                  if t.timer else {})}
                        for t in d.transitions.values()},
        "worklists": {w.id: {"title": w.title, "states": w.states, "roles": w.roles, "when": w.when}
                      for w in d.worklists.values()},
        "numbers": {n.id: {"title": n.title, "format": n.format, "scope": n.scope, "sequence": n.counter}
                    for n in d.numbers.values()},
        **({"role_units": dict(d.role_units)} if d.role_units else {}),
        **({"signing": {"transition": d.signing.transition, "body": d.signing.body, "reopen": d.signing.reopen}}
           if d.signing else {}),
        "deadlines": {x.id: {"title": x.title, "states": x.states, "due_field": x.due_field,
                             "after": {x.after.kind: x.after.amount} if x.after else None, "since": x.since,
                             "met_by": x.met_by, "notice": x.notice, "notify": x.notify,
                             "escalate": {"after": {x.escalate_after.kind: x.escalate_after.amount},
                                          "to": x.escalate_to} if x.escalate_after else None}
                      for x in d.deadlines.values()},
    }


def _countersign(spec: CountersignSpec) -> dict:
    return {"roles": spec.roles, "users": spec.users, "field": spec.from_field, "quorum": spec.quorum,
            "disagree": spec.disagree, "distinct_from": spec.distinct_from, "agreed": spec.agreed,
            "vetoed": spec.vetoed, "form": spec.form}


def _countersign_text(d: Definition, spec: CountersignSpec) -> str:
    """会签 by 计划财务股… chosen in 会签股室; all must agree; 不同意 vetoes → countersigned / countersign_return"""
    who = [d.role_title(r) for r in spec.roles] + list(spec.users)
    if spec.from_field:
        who.append(f"the 股室 chosen in {d.fields[spec.from_field].label} ({spec.from_field})")
    quorum = {"all": "all must agree", "majority": "a majority must agree"}.get(str(spec.quorum),
                                                                                f"{spec.quorum} must agree")
    veto = "不同意 vetoes" if spec.disagree == "veto" else "不同意 counts against"
    return f"会签 by {'、'.join(who)}; {quorum}; {veto}; then {spec.agreed}, or {spec.vetoed}"


def field_lines(d: Definition) -> list[str]:
    """Each field as `--set` takes it: its key, type and label; a list's records by sub-field
    (`sections.N.lead_dept`: N the record's number from 1, or + for a new one)."""
    rows: list[tuple[str, Field, bool]] = []
    for name, spec in d.fields.items():
        rows.append((f"{name}.N" if spec.record else name, spec, spec.required))
        rows += [(f"{name}.N.{sub}", x, x.required) for sub, x in spec.record.items()]
    size = max([len(key) for key, _, _ in rows] + [12])
    lines = []
    for key, spec, required in rows:
        kind = Named(spec.type, TYPE_NAMES.get(spec.type))
        extra = ("  " + say("(required)")) if required else ""
        if spec.choices:
            extra += "  " + "、".join(map(str, spec.choices))
        lines.append(f"  {key:<{size}}  {_pad(say('{type}', type=kind), 8)} {spec.label}{extra}")
    return lines


def _pad(text: str, size: int) -> str:
    """`text` padded to `size` columns (a Chinese character takes two)."""
    shown = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, size - shown)


def describe_text(d: Definition) -> str:
    roles = lambda names: "、".join(f"{r}（{d.role_title(r)}）" for r in names) or say("anyone")
    lines = [say("{id}  {title}   version {version}   keys {prefix}-YYYY-NNNN", id=d.id, title=d.title,
                 version=d.hash[:12], prefix=d.key_prefix), "",
             say("fields (--set KEY=VALUE; N: a record's number, or + for a new one):"), *field_lines(d), "",
             say("states:")]
    for s, st in d.states.items():
        mark = say(" (initial)") if s == d.initial else say(" (final)") if st.final else ""
        lines.append(f"  {s:<12} {st.title}{mark}")
        if st.countersign:
            lines.append(f"  {'':<12} {_countersign_text(d, st.countersign)}")
    lines += ["", say("transitions:")]
    for t in d.transitions.values():
        target = t.target or say("(stays)")
        lines.append(f"  {t.id:<14} {t.title}: {', '.join(t.sources)} → {target}")
        guard = [] if t.timer else [f"roles {roles(t.roles)}"]  # a timer: the system user
        if t.distinct_from:
            guard.append(f"not by whoever did {', '.join(t.distinct_from)}")
        if t.require:
            guard.append("requires " + "、".join(d.fields[n].label for n in t.require))
        if t.comment_required:
            guard.append("comment required")
        if t.when:
            guard.append(f"when {t.when_message or t.when}")
        if t.automatic:
            guard.append("automatic")
        if t.timer:  # fired by `gongwen tick`
            guard.append(f"timer: {t.timer.after.describe()} after {t.timer.since}")
        lines.append(f"  {'':<14} guard: {'; '.join(guard)}")
        extras = [f"in the name of issuer {t.issuer}"] if t.issuer else []
        if t.assign:
            extras.append("assigns " + "、".join(d.numbers[n].title for n in t.assign))
        if t.templates:
            extras.append("documents " + "、".join(t.templates))
        if extras:
            lines.append(f"  {'':<14} {'; '.join(extras)}")
    for role, name in d.role_units.items():
        lines += ["", f"role {role}（{d.role_title(role)}）acts only for the unit in {d.fields[name].label} ({name})"]
    if d.signing:
        lines += ["", f"签发: {d.signing.transition} signs {'、'.join(d.fields[n].label for n in d.signing.body)}; "
                      f"a change afterwards fires {d.signing.reopen or '(nothing)'}, and no number is drawn on it"]
    if d.worklists:
        lines += ["", say("worklists:")]
        for w in d.worklists.values():
            lines.append(f"  {w.id:<14} {w.title}: states {', '.join(w.states)}; for {roles(w.roles)}")
    if d.deadlines:  # 督办: `gongwen tick` puts late items on overdue_<id> / escalated_<id>
        lines += ["", say("deadlines:")]
        for x in d.deadlines.values():
            due = f"end of {x.due_field}" if x.due_field else f"{x.after.describe() if x.after else ''} after {x.since}"
            then = f"; after {x.escalate_after.describe()} more to {roles(x.escalate_to)}" if x.escalate_after else ""
            lines.append(f"  {x.id:<14} {x.title}: in {', '.join(x.states)}, due {due}; 催办 {roles(x.notify)}{then}")
    return "\n".join(lines)
