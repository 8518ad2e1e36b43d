"""The `countersign:` block of a state (会签), checked and built for loader.Builder, and the check
of its outcome transitions once the transitions are built. Every problem carries its line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Protocol

from workflow.definition import yamlsrc
from workflow.definition.model import CREATE, CountersignSpec, State, Transition, template_name_problem

KEYS = {"roles", "users", "field", "quorum", "disagree", "agreed", "vetoed", "distinct_from", "form"}
QUORUMS = ("all", "majority")
DISAGREE_POLICIES = ("veto", "count")
_LOGIN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


class _Builder(Protocol):
    trusted: bool
    roles: dict[str, str]
    templates_dir: Path | None

    def problem(self, line: int, message: str) -> None: ...

    def mapping(self, value: Any, line: int, what: str) -> yamlsrc.LineDict: ...

    def str_list(self, value: Any, line: int, what: str) -> list[str]: ...

    def check_role(self, role: str, line: int) -> None: ...


def role_of_choice(roles: dict[str, str], choice: str) -> str | None:
    """The role a choice of a 会签 field names: by its title (计划财务股) or its id (finance)."""
    if choice in roles:
        return choice
    return next((role for role, title in roles.items() if title == choice), None)


def build(builder: _Builder, raw: Any, line: int, state: str, fields: dict[str, Any],
          wf_id: str) -> CountersignSpec | None:
    if raw is None:
        return None
    spec = builder.mapping(raw, line, f"countersign of {state!r}")
    where = f"countersign of {state!r}"
    for key in spec:
        if key not in KEYS:
            builder.problem(spec.line_of(key), f"unknown key {key!r} in {where} (known: {', '.join(sorted(KEYS))})")
    roles = builder.str_list(spec.get("roles"), spec.line_of("roles"), "roles")
    for role in roles:
        builder.check_role(role, spec.line_of("roles"))
    users = builder.str_list(spec.get("users"), spec.line_of("users"), "users")
    for login in users:
        if not _LOGIN.fullmatch(login):
            builder.problem(spec.line_of("users"), f"bad login {login!r} in {where}")
    from_field = spec.get("field")
    if from_field is not None:
        from_field = str(from_field)
        _check_field(builder, fields.get(from_field), from_field, spec.line_of("field"), where)
    if not roles and not users and from_field is None:
        builder.problem(spec.line, f"{where} needs countersigners: roles, users or a field the drafter fills")
    fixed = len(set(roles)) + len(set(users))
    quorum = spec.get("quorum", "all")
    if isinstance(quorum, bool) or not (quorum in QUORUMS or isinstance(quorum, int)):
        builder.problem(spec.line_of("quorum"), f"quorum of {state!r} must be all, majority or a number, "
                                                f"not {quorum!r}")
        quorum = "all"
    elif isinstance(quorum, int) and quorum < 1:
        builder.problem(spec.line_of("quorum"), f"quorum of {state!r} must be at least 1, not {quorum}")
    elif isinstance(quorum, int) and from_field is None and quorum > fixed:
        builder.problem(spec.line_of("quorum"), f"quorum {quorum} of {state!r} is more than its {fixed} "
                                                "countersigners")
    disagree = spec.get("disagree", "veto")
    if disagree not in DISAGREE_POLICIES:
        builder.problem(spec.line_of("disagree"), f"disagree of {state!r} must be veto or count, not {disagree!r}")
    outcomes = {}
    for key in ("agreed", "vetoed"):
        value = spec.get(key)
        if not isinstance(value, str) or not value:
            builder.problem(spec.line_of(key) if key in spec else spec.line,
                            f"{where} needs {key}: the transition fired when the 会签 is {key}")
        outcomes[key] = str(value or "")
    if outcomes["agreed"] and outcomes["agreed"] == outcomes["vetoed"]:
        builder.problem(spec.line_of("vetoed"), f"{where}: agreed and vetoed must be different transitions")
    distinct = builder.str_list(spec.get("distinct_from"), spec.line_of("distinct_from"), "distinct_from")
    form = spec.get("form")
    if form is not None:
        problem = None if builder.trusted else template_name_problem(form)
        if problem:
            builder.problem(spec.line_of("form"), f"bad form template name {form!r} in {where}: {problem}")
        elif builder.templates_dir is not None and wf_id and not (builder.templates_dir / wf_id / form).is_file():
            builder.problem(spec.line_of("form"), f"missing template file {wf_id}/{form} (in {builder.templates_dir})")
    return CountersignSpec(agreed=outcomes["agreed"], vetoed=outcomes["vetoed"], roles=roles, users=users,
                           from_field=from_field, quorum=quorum, disagree=str(disagree), distinct_from=distinct,
                           form=str(form) if form is not None else None)


def _check_field(builder: _Builder, found: Any, name: str, line: int, where: str) -> None:
    if found is None:
        builder.problem(line, f"unknown field {name!r} in {where}")
    elif found.type != "choices":
        builder.problem(line, f"field {name!r} of {where} must be of type choices (the offices to choose), "
                              f"not {found.type}")
    else:
        for choice in found.choices:
            if role_of_choice(builder.roles, str(choice)) is None:
                builder.problem(line, f"choice {choice!r} of field {name!r} names no role: each choice must be "
                                      "the title (or id) of a role under roles:")


def check_outcomes(builder: _Builder, states: dict[str, State], transitions: dict[str, Transition],
                   raw_states: Any) -> None:
    """The agreed and vetoed transitions: exits of their state that the engine fires, so nothing
    a person must supply (roles, a comment, a guard) and never fired by hand; and every
    name in distinct_from a transition."""
    for sid, state in states.items():
        spec = state.countersign
        if spec is None:
            continue
        raw = raw_states[sid]["countersign"]
        for name in spec.distinct_from:
            if name != CREATE and name not in transitions:
                builder.problem(raw.line_of("distinct_from"), f"unknown transition {name!r} in distinct_from")
        for key in ("agreed", "vetoed"):
            tid = getattr(spec, key)
            tr = transitions.get(tid)
            line = raw.line_of(key)
            if not tid:
                continue
            if tr is None:
                builder.problem(line, f"unknown transition {tid!r} as {key} of {sid!r}")
                continue
            if sid not in tr.sources:
                builder.problem(line, f"{key} transition {tid!r} is not an exit of {sid!r}")
            needs = [what for what, given in (("roles", tr.roles), ("permissions", tr.permissions),
                                              ("when", tr.when), ("require", tr.require),
                                              ("distinct_from", tr.distinct_from),
                                              ("comment: required", tr.comment_required),
                                              ("trigger: automatic", tr.automatic)) if given]
            if needs:
                builder.problem(line, f"{key} transition {tid!r} is fired by the engine when the 会签 is decided: "
                                      f"it cannot have {', '.join(needs)}")
            if tr.outcome_of not in (None, sid):
                builder.problem(line, f"transition {tid!r} already decides the 会签 of {tr.outcome_of!r}")
            tr.outcome_of = sid
