"""The workflow model: State, Transition, Worklist, FormSpec, NumberSpec and Definition, as
built by loader.py from a checked YAML file."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

BUILTIN_ROLES = {"owner": "创建人", "admin": "管理员"}
CREATE = "create"  # pseudo-transition: the item's creation, for distinct_from
MIGRATE = "migrate"  # the event that moves an item to another definition version (gongwen migrate)

# Names that end up in file paths, database keys and item keys (whole-string matches: `fullmatch`).
ID_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,63}")  # workflow, field, state, transition, worklist, number ids
KEY_PREFIX_PATTERN = re.compile(r"[A-Z][A-Z0-9]{0,15}")  # item keys: JH-2025-0001
NUMBER_SCOPES = ("issuer", "workflow")
TEMPLATE_SUFFIX = ".docx"
_UNSAFE_IN_FILE_NAME = re.compile(r'[/\\:\x00-\x1f\x7f]')


def template_name_problem(name: object) -> str | None:
    """Why `name` is not a plain template file name (one that can only resolve inside
    templates_docx/<workflow>/), or None: a string ending in .docx with no path separator
    (/ or \\), no drive colon, no control character, not starting with a dot (so never . or ..)."""
    if not isinstance(name, str) or not name:
        return "must be a file name"
    if _UNSAFE_IN_FILE_NAME.search(name):
        return "must be a plain file name (no /, \\, : or control characters)"
    if name.startswith("."):
        return "must not start with a dot"
    if not name.endswith(TEMPLATE_SUFFIX) or name == TEMPLATE_SUFFIX:
        return f"must end in {TEMPLATE_SUFFIX}"
    return None


@dataclass
class State:
    id: str
    title: str
    editable: list = field(default_factory=list)
    final: bool = False
    permissions: dict = field(default_factory=dict)


@dataclass
class Transition:
    id: str
    title: str
    sources: list
    target: str | None  # None: stay in the same state
    roles: list = field(default_factory=list)
    permissions: list = field(default_factory=list)
    distinct_from: list = field(default_factory=list)
    require: list = field(default_factory=list)
    fields: list = field(default_factory=list)
    comment_required: bool = False
    when: str | None = None
    when_message: str | None = None
    assign: list = field(default_factory=list)
    templates: list = field(default_factory=list)
    automatic: bool = False
    form: FormSpec | None = None  # the approval form this transition hands out
    signature_required: bool = False  # decided from a form: only the signer's own signature, never 代录

    def target_from(self, state: str) -> str:
        return self.target or state


@dataclass
class FormSpec:
    """An approval form: a template of the transition that a supervisor fills in and returns;
    `gongwen ingest` reads the row `decision_label` and fires decisions[option] as the signer."""

    template: str
    decisions: dict  # option text (同意) -> transition id (approve)
    decision_label: str = "审批意见"
    opinion_label: str = "领导批示"
    signer_label: str = "签批人"
    date_label: str = "日期"

    @property
    def fill_labels(self) -> set:
        return {self.decision_label, self.opinion_label, self.signer_label, self.date_label}


@dataclass
class Worklist:
    id: str
    title: str
    states: list
    roles: list = field(default_factory=list)
    when: str | None = None


@dataclass
class NumberSpec:
    id: str
    title: str
    format: str
    scope: str = "issuer"


@dataclass
class Definition:
    id: str
    title: str
    key_prefix: str
    initial: str
    roles: dict
    params: dict
    fields: dict  # name -> Field
    states: dict  # id -> State
    transitions: dict  # id -> Transition
    worklists: dict
    numbers: dict
    description: str = ""
    item_title: str = ""  # python format over fields, for items without a title field
    source: str = ""
    path: str = ""
    hash: str = ""

    def role_title(self, role: str) -> str:
        return self.roles.get(role) or BUILTIN_ROLES.get(role, role)

    def state_title(self, state: str) -> str:
        return self.states[state].title if state in self.states else state

    def exits(self, state: str) -> list[Transition]:
        return [t for t in self.transitions.values() if state in t.sources]

    def title_for(self, fields: dict) -> str:
        """The item's title: the title field, else item_title filled from the fields."""
        if fields.get("title"):
            return str(fields["title"])
        if self.item_title:
            import string

            names = [n for _, n, _, _ in string.Formatter().parse(self.item_title) if n]
            if all(fields.get(n) not in (None, "") for n in names):
                return self.item_title.format(**{n: fields[n] for n in names})
        return f"{self.title}（未命名）"

    def editable_in(self, state: str, transition: Transition | None) -> set:
        st = self.states.get(state)
        names = set(self.fields) if st and st.editable == "all" else set(st.editable if st else [])
        return names | set(transition.fields if transition else [])
