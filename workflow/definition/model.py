"""The workflow model: State, Transition, Worklist, FormSpec, NumberSpec and Definition, as
built by loader.py from a checked YAML file."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workflow.definition.confidential import Confidential
    from workflow.definition.ledger import LedgerSpec
    from workflow.definition.timers import TimerSpec

BUILTIN_ROLES = {"owner": "创建人", "admin": "管理员"}
CREATE = "create"  # pseudo-transition: the item's creation, for distinct_from
MIGRATE = "migrate"  # the event that moves an item to another definition version (gongwen migrate)
OVERDUE = "overdue"  # a deadline passed: the 催办 event `gongwen tick` records (stays in the state)
ESCALATE = "escalate"  # still overdue after the deadline's escalate.after: reported to the supervisors
SYSTEM_USER = "system"  # the actor of `gongwen tick`: fires timers, 催办 and escalations, nothing else
COUNTERSIGN = "countersign"  # the event of one countersigner's opinion (会签意见), staying in the state
AGREE, DISAGREE = "同意", "不同意"  # a countersigner's two answers
VOIDED, VOIDED_TITLE = "voided", "已作废"  # the engine-level state of an item voided (作废): no exit
ATTACH, VOID = "attach", "void"  # the engine's own events adding 附件 and voiding an item (no definition's)
RESERVED_TRANSITIONS = (CREATE, MIGRATE, COUNTERSIGN, OVERDUE, ESCALATE, ATTACH, VOID)  # not for a definition

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
    countersign: CountersignSpec | None = None  # 会签: opinions from several parties decide the exit


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
    timer: TimerSpec | None = None  # trigger: timer (definition/timers.py): fired by `gongwen tick` only
    outcome_of: str | None = None  # the 会签 state whose outcome fires this transition (never by hand)
    issuer: str | None = None  # the issuer (gongwen.yaml issuers:) its documents and numbers are in the name of

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
class CountersignSpec:
    """会签 in a state: who countersigns (fixed roles and users, and the roles the drafter chose in
    a `choices` field, by title), how many must agree, what a 不同意 does, and the transitions the
    engine fires when the step is decided."""

    agreed: str  # fired when the quorum agrees
    vetoed: str  # fired when it no longer can (or, with disagree: veto, at the first 不同意)
    roles: list = field(default_factory=list)
    users: list = field(default_factory=list)
    from_field: str | None = None  # a `choices` field whose values are role titles (股室 the drafter chose)
    quorum: str | int = "all"  # all | majority | N
    disagree: str = "veto"  # veto | count
    distinct_from: list = field(default_factory=list)  # transitions whose actors may not countersign
    form: str | None = None  # a template rendered once per countersigner on entry (会签单), returned by ingest

    def form_spec(self) -> FormSpec:
        return FormSpec(template=self.form or "", decisions={AGREE: COUNTERSIGN, DISAGREE: COUNTERSIGN},
                        decision_label="会签意见", opinion_label="意见", signer_label="会签人", date_label="日期")


@dataclass
class SigningSpec:
    """签发: the transition whose signer signs the text (`body`, a list of fields); the engine records
    the body's hash with it, a guard sees `item.body_changed` once the body differs, no number is
    drawn on a body that differs from the one signed, and `reopen` (an automatic transition) takes
    the item back to 签发."""

    transition: str
    body: list
    reopen: str | None = None


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
    sequence: str = ""  # the counter it draws from (numbers sharing one share the sequence); "" : its id

    @property
    def counter(self) -> str:
        return self.sequence or self.id


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
    deadlines: dict = field(default_factory=dict)  # id -> timers.Deadline (督办)
    role_units: dict = field(default_factory=dict)  # role -> the field naming the unit its holders act for
    creators: list = field(default_factory=list)  # the roles that may create an item (none given: anyone)
    signing: SigningSpec | None = None
    ledger: LedgerSpec | None = None  # the Excel 台账 (definition/ledger.py); None: derived from the fields
    confidential: Confidential | None = None  # who sees an item marked with a 密级 (definition/confidential.py)
    description: str = ""
    item_title: str = ""  # python format over fields, for items without a title field
    source: str = ""
    path: str = ""
    hash: str = ""

    def role_title(self, role: str) -> str:
        return self.roles.get(role) or BUILTIN_ROLES.get(role, role)

    def state_title(self, state: str) -> str:
        if state in self.states:
            return self.states[state].title
        return VOIDED_TITLE if state == VOIDED else state

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

    def template_names(self) -> set[str]:
        """Every template the definition renders: its transitions', its 会签 forms, its 催办 notices."""
        names = {name for tr in self.transitions.values() for name in tr.templates}
        names |= {st.countersign.form for st in self.states.values() if st.countersign and st.countersign.form}
        names |= {d.notice for d in self.deadlines.values() if d.notice}
        return names

    def editable_in(self, state: str, transition: Transition | None) -> set:
        st = self.states.get(state)
        names = set(self.fields) if st and st.editable == "all" else set(st.editable if st else [])
        return names | set(transition.fields if transition else [])
