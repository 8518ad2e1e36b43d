"""The declarations that follow a bureau's procedure, checked for loader.Builder: roles whose
holders act for one unit only (`unit_field`), the `signing:` block (签发 of a body that may not
change unnoticed), a transition's `issuer`, and field paths that name one sub-field of a list
(`findings.status`: that sub-field of the existing rows, nothing else). Problems carry lines."""

from __future__ import annotations

from typing import Any, Protocol

from workflow.definition import yamlsrc
from workflow.definition.model import ID_PATTERN, Definition, SigningSpec, Transition

ROLE_KEYS = {"title", "unit_field"}
SIGNING_KEYS = {"transition", "body", "reopen"}


class _Builder(Protocol):
    def problem(self, line: int, message: str) -> None: ...

    def mapping(self, value: Any, line: int, what: str) -> yamlsrc.LineDict: ...

    def str_list(self, value: Any, line: int, what: str) -> list[str]: ...


def build_roles(builder: _Builder, raw: yamlsrc.LineDict) -> tuple[dict[str, str], dict[str, str]]:
    """`role: 标题`, or `role: {title: 标题, unit_field: field}` for a role whose holders act only on
    items whose `field` names their own unit (a school's users for their school): (titles, units)."""
    titles, units = {}, {}
    for role, spec in raw.items():
        if isinstance(spec, dict):
            spec = builder.mapping(spec, raw.line_of(role), f"role {role!r}")
            for key in spec:
                if key not in ROLE_KEYS:
                    builder.problem(spec.line_of(key),
                                    f"unknown key {key!r} in role {role!r} (known: title, unit_field)")
            titles[str(role)] = str(spec.get("title") or role)
            if spec.get("unit_field") is not None:
                units[str(role)] = str(spec["unit_field"])
        else:
            titles[str(role)] = str(spec)
    return titles, units


def check_units(builder: _Builder, units: dict[str, str], fields: dict[str, Any], raw: yamlsrc.LineDict) -> None:
    for role, name in units.items():
        spec = fields.get(name)
        if spec is None or spec.type not in ("text", "choice"):
            builder.problem(raw.line_of(role), f"unit_field of role {role!r} must name a text or choice field, "
                                               f"not {name!r}")


def path_problem(fields: dict[str, Any], name: str) -> str | None:
    """Why `name` is neither a field nor `list.sub` (one sub-field of a list field), or None."""
    top, _, sub = name.partition(".")
    spec = fields.get(top)
    if spec is None:
        return f"unknown field {top!r}"
    if sub and (spec.type != "list" or sub not in (spec.record or {})):
        return f"unknown sub-field {name!r} (a list field's sub-field: list.sub)"
    return None


def check_issuer(builder: _Builder, value: Any, line: int, tid: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        builder.problem(line, f"issuer of {tid!r} must be an issuer id of gongwen.yaml's issuers: (lowercase letters, "
                              "digits, _)")
        return None
    return value


def build_signing(builder: _Builder, raw: Any, line: int, fields: dict[str, Any],
                  transitions: dict[str, Transition]) -> SigningSpec | None:
    if raw is None:
        return None
    spec = builder.mapping(raw, line, "signing")
    for key in spec:
        if key not in SIGNING_KEYS:
            builder.problem(spec.line_of(key),
                            f"unknown key {key!r} in signing (known: {', '.join(sorted(SIGNING_KEYS))})")
    signer = str(spec.get("transition") or "")
    if signer not in transitions:
        builder.problem(spec.line_of("transition"), f"signing: unknown transition {signer!r}")
    body = builder.str_list(spec.get("body"), spec.line_of("body"), "body")
    if not body:
        builder.problem(spec.line, "signing needs body: the fields that make the signed text")
    for name in body:
        if name not in fields:
            builder.problem(spec.line_of("body"), f"signing: unknown field {name!r} in body")
    reopen = spec.get("reopen")
    if reopen is not None:
        reopen = str(reopen)
        tr = transitions.get(reopen)
        if tr is None or not tr.automatic:
            builder.problem(spec.line_of("reopen"), f"signing: reopen must name a transition with trigger: automatic, "
                                                    f"not {reopen!r}")
    return SigningSpec(transition=signer, body=body, reopen=reopen)


def changed_outside(old: Any, new: Any, allowed: set[str]) -> str | None:
    """For a list field editable only in some sub-fields (`allowed`): what changed besides them
    (rows added or removed, another sub-field), or None."""
    old_rows, new_rows = old or [], new or []
    if len(old_rows) != len(new_rows):
        return "rows added or removed"
    for index, (before, after) in enumerate(zip(old_rows, new_rows, strict=True)):
        for sub in sorted(set(before or {}) | set(after or {})):
            if sub not in allowed and (before or {}).get(sub) != (after or {}).get(sub):
                return f"row {index + 1}: {sub}"
    return None


def check_graph(builder: _Builder, definition: Definition, raw_states: Any) -> None:
    """Every state is reached from the initial one, and every state but a final one has a way out."""
    reached, frontier = {definition.initial}, [definition.initial]
    while frontier:
        state = frontier.pop()
        for tr in definition.exits(state):
            target = tr.target_from(state)
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    for sid, state in definition.states.items():
        line = raw_states.line_of(sid)
        if sid not in reached:
            builder.problem(line, f"unreachable state {sid!r} (no path from {definition.initial!r})")
        elif not state.final and not any(t.target_from(sid) != sid for t in definition.exits(sid)):
            builder.problem(line, f"state {sid!r} has no exit (mark it final: true if intended)")
