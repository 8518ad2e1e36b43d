"""Checking a parsed definition document and building the Definition model from it.

Every problem is collected with its line (`file:line: problem`); nothing stops at the first."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from workflow import inputs
from workflow.canonical import canonical_hash
from workflow.definition import confidential, countersign, expressions, ledger, procedure, timers, yamlsrc
from workflow.definition.fields import Field
from workflow.definition.fieldspecs import build_field, plain
from workflow.definition.model import (
    BUILTIN_ROLES,
    CREATE,
    ID_PATTERN,
    KEY_PREFIX_PATTERN,
    NUMBER_SCOPES,
    RESERVED_TRANSITIONS,
    VOIDED,
    Definition,
    FormSpec,
    NumberSpec,
    State,
    Transition,
    Worklist,
    template_name_problem,
)
from workflow.errors import BadInput, DefinitionError


class Builder:
    """Turns the parsed YAML into a Definition, collecting problems with their lines."""

    def __init__(self, doc: Any, filename: str, templates_dir: str | Path | None, trusted: bool = False,
                 file_stem: str | None = None) -> None:
        self.trusted = trusted
        self.file_stem = file_stem
        self.doc = doc
        self.filename = filename
        self.templates_dir = Path(templates_dir) if templates_dir else None
        self.problems: list[str] = []

    def problem(self, line: int, message: str) -> None:
        self.problems.append(f"{self.filename}:{line}: {message}")

    def mapping(self, value: Any, line: int, what: str) -> yamlsrc.LineDict:
        if isinstance(value, yamlsrc.LineDict):
            return value
        if value is not None:
            self.problem(line, f"{what} must be a mapping")
        empty = yamlsrc.LineDict()
        empty.line, empty.key_lines = line, {}
        return empty

    def str_list(self, value: Any, line: int, what: str) -> list[str]:
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        self.problem(line, f"{what} must be a name or a list of names")
        return []

    def build(self) -> Definition:
        doc = self.doc
        if not isinstance(doc, dict):
            self.problem(1, "a definition must be a YAML mapping")
            doc = self.mapping(None, 1, "")
        known = {"id", "title", "key_prefix", "initial", "description", "roles", "params", "item_title", "ledger",
                 "fields", "states", "transitions", "worklists", "numbers", "deadlines", "signing", "creators",
                 "confidential"}
        for key in doc:
            if key not in known:
                self.problem(doc.line_of(key), f"unknown key {key!r}")
        for key in ("id", "title", "key_prefix", "initial", "states", "transitions"):
            if not doc.get(key):
                self.problem(doc.line, f"missing {key!r}")
        wf_id = str(doc.get("id") or "")
        if wf_id and not ID_PATTERN.fullmatch(wf_id):
            self.problem(doc.line_of("id"), f"bad id {wf_id!r} (lowercase letters, digits, _)")
            wf_id = ""  # never a folder name (templates_docx/<id>/)
        elif wf_id and self.file_stem is not None and wf_id != self.file_stem:
            self.problem(doc.line_of("id"), f"id {wf_id!r} does not match the file name {self.file_stem}.yaml "
                                            "(a definition is found by its file name)")
        key_prefix = str(doc.get("key_prefix") or "")
        if key_prefix and not self.trusted and not KEY_PREFIX_PATTERN.fullmatch(key_prefix):
            self.problem(doc.line_of("key_prefix"), f"bad key_prefix {key_prefix!r} (an uppercase letter, "
                                                    "then up to 15 uppercase letters or digits, e.g. JH)")
        roles = self.mapping(doc.get("roles"), doc.line_of("roles"), "roles")
        self.roles, role_units = procedure.build_roles(self, roles)
        self.role_lines = roles
        fields = self.build_fields(self.mapping(doc.get("fields"), doc.line_of("fields"), "fields"))
        procedure.check_units(self, role_units, fields, roles)
        states = self.build_states(self.mapping(doc.get("states"), doc.line_of("states"), "states"), fields)
        numbers = self.build_numbers(self.mapping(doc.get("numbers"), doc.line_of("numbers"), "numbers"))
        transitions = self.build_transitions(
            self.mapping(doc.get("transitions"), doc.line_of("transitions"), "transitions"),
            states, fields, numbers, wf_id)
        countersign.check_outcomes(self, states, transitions, doc.get("states"))
        worklists = self.build_worklists(
            self.mapping(doc.get("worklists"), doc.line_of("worklists"), "worklists"), states)
        deadlines = timers.build_deadlines(self, self.mapping(doc.get("deadlines"), doc.line_of("deadlines"),
                                                              "deadlines"), fields, states, worklists, wf_id)
        initial = str(doc.get("initial") or "")
        if initial and initial not in states:
            self.problem(doc.line_of("initial"), f"unknown state {initial!r} as initial")
        definition = Definition(
            id=wf_id, title=str(doc.get("title") or ""), key_prefix=key_prefix,
            initial=initial, roles=self.roles, params=plain(doc.get("params") or {}),
            fields=fields, states=states, transitions=transitions, worklists=worklists,
            numbers=numbers, deadlines=deadlines, description=str(doc.get("description") or ""),
            item_title=self.check_item_title(doc, fields), role_units=role_units,
            creators=self.role_list(doc.get("creators"), doc.line_of("creators"), "creators"),
            signing=procedure.build_signing(self, doc.get("signing"), doc.line_of("signing"), fields, transitions),
            ledger=ledger.build(self, doc.get("ledger"), doc.line_of("ledger"), fields, numbers, transitions),
            confidential=confidential.build(self, doc.get("confidential"), doc.line_of("confidential"), fields))
        if initial in states:
            procedure.check_graph(self, definition, doc["states"])
        return definition

    def check_item_title(self, doc: yamlsrc.LineDict, fields: dict[str, Field]) -> str:
        fmt = str(doc.get("item_title") or "")
        for name in re.findall(r"{(\w+)}", fmt):
            if name not in fields:
                self.problem(doc.line_of("item_title"), f"unknown field {name!r} in item_title")
        return fmt

    def check_role(self, role: str, line: int) -> None:
        if role not in self.roles and role not in BUILTIN_ROLES:
            self.problem(line, f"unknown role {role!r} (declare it under roles:)")

    def role_list(self, value: Any, line: int, what: str) -> list[str]:
        roles = self.str_list(value, line, what)
        for role in roles:
            self.check_role(role, line)
        return roles

    def check_expression(self, source: Any, line: int) -> str | None:
        if not isinstance(source, str) or not source.strip():
            self.problem(line, "bad guard expression: must be a non-empty string")
            return None
        problem = None if self.trusted else expressions.check(source)
        if problem:
            self.problem(line, problem)
            return None
        return source

    def build_field(self, name: str, spec: Any, line: int, nested: bool = False) -> Field | None:
        return build_field(self, name, spec, line, nested)

    def build_fields(self, raw: Any) -> dict[str, Field]:
        out = {}
        for name, spec in raw.items():
            if not ID_PATTERN.fullmatch(str(name)):
                self.problem(raw.line_of(name), f"bad field name {name!r}")
            built = self.build_field(str(name), spec, raw.line_of(name))
            if built:
                out[str(name)] = built
        return out

    def known_keys(self, spec: Any, known: set[str], what: str) -> None:
        for key in spec:
            if key not in known:
                self.problem(spec.line_of(key), f"unknown key {key!r} in {what} (known: {', '.join(sorted(known))})")

    def build_states(self, raw: Any, fields: dict[str, Field]) -> dict[str, State]:
        out = {}
        for sid, spec in raw.items():
            line = raw.line_of(sid)
            spec = self.mapping(spec, line, f"state {sid!r}")
            self.known_keys(spec, {"title", "editable", "final", "permissions", "countersign"}, f"state {sid!r}")
            if not ID_PATTERN.fullmatch(str(sid)) or sid == VOIDED:
                self.problem(line, f"bad state id {sid!r} (lowercase letters, digits, _; not voided)")
            if not spec.get("title"):
                self.problem(line, f"state {sid!r} needs a title")
            editable = spec.get("editable") or []
            if editable != "all":
                editable = self.str_list(editable, spec.line_of("editable"), "editable")
                for name in editable:
                    if problem := procedure.path_problem(fields, name):
                        self.problem(spec.line_of("editable"), f"{problem} in editable")
            perms = self.mapping(spec.get("permissions"), spec.line_of("permissions"), "permissions")
            permissions = {}
            for perm, roles in perms.items():
                permissions[str(perm)] = self.str_list(roles, perms.line_of(perm), "roles")
                for role in permissions[str(perm)]:
                    self.check_role(role, perms.line_of(perm))
            out[str(sid)] = State(id=str(sid), title=str(spec.get("title") or sid), editable=editable,
                                  final=bool(spec.get("final")), permissions=permissions,
                                  countersign=countersign.build(self, spec.get("countersign"),
                                                                spec.line_of("countersign"), str(sid), fields,
                                                                str(self.doc.get("id") or "")))
        return out

    def build_numbers(self, raw: Any) -> dict[str, NumberSpec]:
        out = {}
        for nid, spec in raw.items():
            spec = self.mapping(spec, raw.line_of(nid), f"number {nid!r}")
            self.known_keys(spec, {"title", "format", "scope", "sequence"}, f"number {nid!r}")
            if not self.trusted and not ID_PATTERN.fullmatch(str(nid)):
                self.problem(raw.line_of(nid), f"bad number id {nid!r} (lowercase letters, digits, _)")
            fmt = str(spec.get("format") or "")
            try:
                fmt.format(code="X", base="X", year=2024, seq=1)
            except (KeyError, IndexError, ValueError, AttributeError, TypeError) as exc:
                self.problem(spec.line_of("format"), f"bad number format {fmt!r}: {exc}")
            if "{seq" not in fmt:
                self.problem(spec.line_of("format") if fmt else spec.line, f"number {nid!r} format needs {{seq}}")
            scope = spec.get("scope", "issuer")
            if scope not in NUMBER_SCOPES:
                self.problem(spec.line_of("scope"), f"number scope must be issuer or workflow, not {scope!r}")
            sequence = str(spec.get("sequence") or "")
            if sequence and not ID_PATTERN.fullmatch(sequence):
                self.problem(spec.line_of("sequence"), f"bad sequence {sequence!r} (lowercase letters, digits, _)")
            out[str(nid)] = NumberSpec(id=str(nid), title=str(spec.get("title") or nid), format=fmt, scope=scope,
                                       sequence=sequence)
        return out

    def build_transitions(self, raw: Any, states: dict[str, State], fields: dict[str, Field],
                          numbers: dict[str, NumberSpec], wf_id: str) -> dict[str, Transition]:
        out = {}
        known = {"title", "from", "to", "roles", "permissions", "distinct_from", "require", "fields",
                 "comment", "when", "when_message", "assign", "templates", "trigger", "form", "signature",
                 "issuer", *timers.TIMER_KEYS}
        for tid, spec in raw.items():
            line = raw.line_of(tid)
            spec = self.mapping(spec, line, f"transition {tid!r}")
            tid = str(tid)
            if not ID_PATTERN.fullmatch(tid) or tid in RESERVED_TRANSITIONS:
                self.problem(line, f"bad transition id {tid!r} (lowercase letters, digits, _; not create, migrate, "
                                   "countersign, overdue, escalate, attach or void)")
            for key in spec:
                if key not in known:
                    self.problem(spec.line_of(key), f"unknown key {key!r} in transition {tid!r}")
            if not spec.get("title"):
                self.problem(line, f"transition {tid!r} needs a title")
            sources = self.str_list(spec.get("from"), spec.line_of("from"), "from")
            if sources == ["*"]:
                sources = [s for s, st in states.items() if not st.final]
            if not sources:
                self.problem(line, f"transition {tid!r} needs from:")
            for state in sources:
                if state not in states:
                    self.problem(spec.line_of("from"), f"unknown state {state!r} in transition {tid!r}")
            target = spec.get("to")
            if target is not None and str(target) not in states:
                self.problem(spec.line_of("to"), f"unknown state {target!r} in transition {tid!r}")
            roles = self.str_list(spec.get("roles"), spec.line_of("roles"), "roles")
            for role in roles:
                self.check_role(role, spec.line_of("roles"))
            distinct = self.str_list(spec.get("distinct_from"), spec.line_of("distinct_from"), "distinct_from")
            for name in distinct:
                if name != CREATE and name not in raw:
                    self.problem(spec.line_of("distinct_from"), f"unknown transition {name!r} in distinct_from")
            require = self.str_list(spec.get("require"), spec.line_of("require"), "require")
            own_fields = self.str_list(spec.get("fields"), spec.line_of("fields"), "fields")
            for name in require:
                if name not in fields:
                    self.problem(spec.line_of("require"), f"unknown field {name!r} in transition {tid!r}")
            for name in own_fields:
                if problem := procedure.path_problem(fields, name):
                    self.problem(spec.line_of("fields"), f"{problem} in transition {tid!r}")
            comment = spec.get("comment", "optional")
            if comment not in ("required", "optional"):
                self.problem(spec.line_of("comment"), "comment must be required or optional")
            when = spec.get("when")
            if when is not None:
                when = self.check_expression(when, spec.line_of("when"))
            assign = self.str_list(spec.get("assign"), spec.line_of("assign"), "assign")
            for name in assign:
                if name not in numbers:
                    self.problem(spec.line_of("assign"), f"unknown number {name!r} (declare it under numbers:)")
            templates = self.str_list(spec.get("templates"), spec.line_of("templates"), "templates")
            self.check_templates(templates, spec, wf_id)
            trigger = spec.get("trigger", "user")
            if trigger not in ("user", "automatic", "timer"):
                self.problem(spec.line_of("trigger"), "trigger must be user, automatic or timer")
            signature = spec.get("signature", "optional")
            if signature not in ("required", "optional"):
                self.problem(spec.line_of("signature"), "signature must be required or optional")
            out[tid] = Transition(
                id=tid, title=str(spec.get("title") or tid), sources=sources,
                target=str(target) if target is not None else None, roles=roles,
                permissions=self.str_list(spec.get("permissions"), spec.line_of("permissions"), "permissions"),
                distinct_from=distinct, require=require, fields=own_fields,
                comment_required=comment == "required", when=when,
                when_message=spec.get("when_message"), assign=assign, templates=templates,
                automatic=trigger == "automatic", signature_required=signature == "required",
                timer=timers.build_timer(self, spec, tid, fields, trigger),
                form=self.build_form(spec, templates, tid),
                issuer=procedure.check_issuer(self, spec.get("issuer"), spec.line_of("issuer"), tid))
        for tid, tr in out.items():  # decisions must be exits of the state(s) the form waits in
            if tr.form:
                for waiting in [tr.target] if tr.target else tr.sources:
                    for option, decided in tr.form.decisions.items():
                        if decided not in out or waiting not in out[decided].sources:
                            self.problem(raw[tid].line_of("form"), f"form decision {option}: {decided!r} "
                                                                   f"is not a transition out of {waiting!r}")
        return out

    def build_form(self, spec: Any, templates: list[str], tid: str) -> FormSpec | None:
        raw = spec.get("form")
        if raw is None:
            return None
        raw = self.mapping(raw, spec.line_of("form"), f"form of {tid!r}")
        line = raw.line
        template = raw.get("template")
        problem = None if self.trusted else template_name_problem(template)
        if problem:
            self.problem(raw.line_of("template"), f"bad form template name {template!r} of {tid!r}: {problem}")
        elif template not in templates:
            self.problem(line, f"form template {template!r} of {tid!r} must be one of its templates")
        decisions = self.mapping(raw.get("decisions"), raw.line_of("decisions"), "decisions")
        if not decisions:
            self.problem(line, f"form of {tid!r} needs decisions (option: transition)")
        labels = {k: str(raw[k]) for k in ("decision_label", "opinion_label", "signer_label", "date_label") if k in raw}
        for key in raw:
            if key not in {"template", "decisions", *labels, "decision_label", "opinion_label",
                           "signer_label", "date_label"}:
                self.problem(raw.line_of(key), f"unknown key {key!r} in form of {tid!r}")
        return FormSpec(template=str(template), decisions={str(k): str(v) for k, v in decisions.items()}, **labels)

    def check_templates(self, templates: list[str], spec: Any, wf_id: str) -> None:
        """Template names must be plain .docx file names (so they resolve inside
        templates_docx/<id>/); with a templates folder, each must exist there."""
        line = spec.line_of("templates")
        raw = spec.get("templates")
        safe = []
        for index, name in enumerate(templates):
            problem = None if self.trusted else template_name_problem(name)
            if problem:
                at = raw.line_of(index) if isinstance(raw, yamlsrc.LineList) else line
                self.problem(at, f"bad template name {name!r}: {problem}")
            else:
                safe.append(name)
        if self.templates_dir is not None and wf_id:
            for name in safe:
                if not (self.templates_dir / wf_id / name).is_file():
                    self.problem(line, f"missing template file {wf_id}/{name} (in {self.templates_dir})")

    def build_worklists(self, raw: Any, states: dict[str, State]) -> dict[str, Worklist]:
        out = {}
        for wid, spec in raw.items():
            spec = self.mapping(spec, raw.line_of(wid), f"worklist {wid!r}")
            self.known_keys(spec, {"title", "states", "roles", "when"}, f"worklist {wid!r}")
            if not self.trusted and not ID_PATTERN.fullmatch(str(wid)):
                self.problem(raw.line_of(wid), f"bad worklist id {wid!r} (lowercase letters, digits, _)")
            wl_states = self.str_list(spec.get("states"), spec.line_of("states"), "states")
            for state in wl_states:
                if state not in states:
                    self.problem(spec.line_of("states"), f"unknown state {state!r} in worklist {wid!r}")
            roles = self.str_list(spec.get("roles"), spec.line_of("roles"), "roles")
            for role in roles:
                self.check_role(role, spec.line_of("roles"))
            when = spec.get("when")
            if when is not None:
                when = self.check_expression(when, spec.line_of("when"))
            out[str(wid)] = Worklist(id=str(wid), title=str(spec.get("title") or wid),
                                     states=wl_states, roles=roles, when=when)
        return out


def load_file(path: str | Path, templates_dir: str | Path | None = None) -> Definition:
    """Read and check a definition file: a regular file of at most MAX_FILE_BYTES, whose id is
    its file name (`plan.yaml` holds `id: plan`), as the workspace finds definitions."""
    path = Path(path)
    try:
        text = inputs.read_regular_file(path, label="").decode("utf-8")
    except BadInput as exc:
        raise DefinitionError([f"{path}:1: {exc.message}"]) from None
    except UnicodeDecodeError as exc:
        raise DefinitionError([f"{path}:1: cannot read: {exc}"]) from None
    return parse(text, str(path), templates_dir, file_stem=path.stem)


def parse(text: str, filename: str, templates_dir: str | Path | None = None,
          trusted: bool = False, file_stem: str | None = None) -> Definition:
    """Parse and check a definition. `trusted` (a version read back from the database, checked
    when it was stored) skips compiling the expressions, which keeps jinja2 off the read path,
    and keeps loading what later checks refuse (keys that are not text, unusable min/max).
    `file_stem`: the id the file name asks for."""
    try:
        doc = yamlsrc.load(text, filename, text_keys=not trusted)
    except ValueError as exc:
        raise DefinitionError([str(exc)]) from None
    builder = Builder(doc, filename, templates_dir, trusted, file_stem)
    definition = builder.build()
    if builder.problems:
        raise DefinitionError(builder.problems)
    definition.source = text
    definition.path = filename
    definition.hash = canonical_hash(doc)
    return definition
