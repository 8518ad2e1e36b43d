"""`workflows show`: a definition as data and as text, with Chinese titles."""

from __future__ import annotations

from workflow.definition.model import Definition


def describe(d: Definition) -> dict:
    return {
        "id": d.id, "title": d.title, "version": d.hash, "initial": d.initial, "key_prefix": d.key_prefix,
        "roles": {r: d.role_title(r) for r in d.roles},
        "fields": {n: {"type": f.type, "label": f.label, "required": f.required,
                       **({"choices": f.choices} if f.choices else {}),
                       **({"fields": {s: {"type": x.type, "label": x.label} for s, x in f.record.items()}}
                          if f.record else {})} for n, f in d.fields.items()},
        "states": {s: {"title": st.title, "final": st.final,
                       "editable": st.editable if st.editable == "all" else list(st.editable)}
                   for s, st in d.states.items()},
        "transitions": {t.id: {"title": t.title, "from": t.sources, "to": t.target, "roles": t.roles,
                               "permissions": t.permissions, "distinct_from": t.distinct_from,
                               "require": t.require, "fields": t.fields,
                               "comment": "required" if t.comment_required else "optional",
                               "when": t.when, "when_message": t.when_message, "assign": t.assign,
                               "templates": t.templates, "trigger": "automatic" if t.automatic else "user"}
                        for t in d.transitions.values()},
        "worklists": {w.id: {"title": w.title, "states": w.states, "roles": w.roles, "when": w.when}
                      for w in d.worklists.values()},
        "numbers": {n.id: {"title": n.title, "format": n.format, "scope": n.scope} for n in d.numbers.values()},
    }


def describe_text(d: Definition) -> str:
    roles = lambda names: "、".join(f"{r}（{d.role_title(r)}）" for r in names) or "anyone"
    lines = [f"{d.id}  {d.title}   version {d.hash[:12]}   keys {d.key_prefix}-YYYY-NNNN", "", "states:"]
    for s, st in d.states.items():
        mark = " (initial)" if s == d.initial else " (final)" if st.final else ""
        lines.append(f"  {s:<12} {st.title}{mark}")
    lines += ["", "transitions:"]
    for t in d.transitions.values():
        target = t.target or "(stays)"
        lines.append(f"  {t.id:<14} {t.title}: {', '.join(t.sources)} → {target}")
        guard = [f"roles {roles(t.roles)}"]
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
        lines.append(f"  {'':<14} guard: {'; '.join(guard)}")
        extras = []
        if t.assign:
            extras.append("assigns " + "、".join(d.numbers[n].title for n in t.assign))
        if t.templates:
            extras.append("documents " + "、".join(t.templates))
        if extras:
            lines.append(f"  {'':<14} {'; '.join(extras)}")
    if d.worklists:
        lines += ["", "worklists:"]
        for w in d.worklists.values():
            lines.append(f"  {w.id:<14} {w.title}: states {', '.join(w.states)}; for {roles(w.roles)}")
    return "\n".join(lines)
