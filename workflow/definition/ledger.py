"""A definition's optional `ledger:` block: the Excel 台账 `gongwen export ledger` writes and
`gongwen import` reads, and the column sources both understand.

    ledger:
      title: 整改台账                 # the sheet's name (at most 31 characters, none of []:*?/\\)
      rows: findings                  # optional: one row per record of this list field
      columns:                        # in order; a source, or {source: header}
        - key                         # 编号 (also: title, state, creator, created, updated)
        - school                      # a field that is not a list
        - findings.deadline           # a field of the `rows` records
        - number.rectify_letter       # a number the item was given
        - actor.approve: 签发人       # who last fired a transition (or create), by name
        - date.approve                # when (a date)
      overdue:                        # optional: rows to highlight
        date: findings.deadline       # a date source: before today ...
        unless: {findings.status: 已销号}   # ... and none of these values

Without the block, workflow/ledger/columns.py derives a ledger from the fields (generic_columns)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from workflow.definition import yamlsrc
from workflow.definition.blocks import checked_block
from workflow.definition.fields import Field
from workflow.definition.model import CREATE, NumberSpec, Transition

BUILTINS = {"key": "编号", "title": "标题", "state": "状态", "creator": "创建人", "created": "创建日期",
            "updated": "更新日期"}
EVENT_KINDS = ("actor", "date")  # actor.<transition>, date.<transition>
MAX_SHEET_TITLE = 31  # Excel's limit
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
_KEYS = {"title", "rows", "columns", "overdue"}


@dataclass(frozen=True)
class LedgerColumn:
    source: str  # see the module docstring
    label: str  # the header (Chinese)


@dataclass
class LedgerSpec:
    title: str
    columns: list[LedgerColumn]
    rows: str | None = None  # a list field: one row per record
    overdue_date: str | None = None  # a date source
    overdue_unless: dict[str, list[str]] = field(default_factory=dict)  # source -> values that end it


class _Builder(Protocol):
    trusted: bool

    def problem(self, line: int, message: str) -> None: ...

    def mapping(self, value: Any, line: int, what: str) -> yamlsrc.LineDict: ...


def sheet_title_problem(title: str) -> str | None:
    if not title:
        return "must not be empty"
    if len(title) > MAX_SHEET_TITLE:
        return f"is longer than {MAX_SHEET_TITLE} characters (Excel's limit for a sheet name)"
    if _BAD_SHEET_CHARS.search(title) or title.startswith("'") or title.endswith("'"):
        return "holds a character a sheet name cannot (one of []:*?/\\, a control character, or ' at an end)"
    return None


def source_problem(source: str, rows: str | None, fields: dict[str, Field], numbers: dict[str, NumberSpec],
                   transitions: dict[str, Transition]) -> str | None:
    """Why `source` names no column of this definition, or None."""
    if source in BUILTINS:
        return None
    head, _, rest = source.partition(".")
    if head == "number" and rest:
        return None if rest in numbers else f"unknown number {rest!r}"
    if head in EVENT_KINDS and rest:
        return None if rest == CREATE or rest in transitions else f"unknown transition {rest!r}"
    spec = fields.get(head)
    if spec is None:
        return f"unknown column source {source!r} (a field, {', '.join(BUILTINS)}, number.N, actor.T or date.T)"
    if not rest:
        return None if spec.type != "list" else f"{head!r} is a list: use rows: {head} and {head}.<field>"
    if spec.type != "list" or rest not in spec.record:
        return f"unknown field {source!r}"
    if head != rows:
        return f"{source!r} needs rows: {head}"
    return None


def field_of(source: str, fields: dict[str, Field]) -> Field | None:
    """The field a source names (a top-level field or a field of a list's records), or None."""
    head, _, rest = source.partition(".")
    spec = fields.get(head)
    if spec is None:
        return None
    if not rest:
        return spec if spec.type != "list" else None
    return spec.record.get(rest) if spec.type == "list" else None


def default_label(source: str, fields: dict[str, Field], numbers: dict[str, NumberSpec],
                  transitions: dict[str, Transition]) -> str:
    if source in BUILTINS:
        return BUILTINS[source]
    head, _, rest = source.partition(".")
    if head == "number" and rest in numbers:
        return numbers[rest].title
    if head in EVENT_KINDS and (rest == CREATE or rest in transitions):
        title = "创建" if rest == CREATE else transitions[rest].title
        return title + ("人" if head == "actor" else "日期")
    spec = field_of(source, fields)
    return spec.label if spec else source


def build(builder: _Builder, raw: Any, line: int, fields: dict[str, Field], numbers: dict[str, NumberSpec],
          transitions: dict[str, Transition]) -> LedgerSpec | None:
    """The checked `ledger:` block, or None when there is none (problems go to the builder)."""
    if raw is None:
        return None
    spec = checked_block(builder, raw, line, "ledger", _KEYS)
    title = str(spec.get("title") or "")
    if (problem := sheet_title_problem(title)) and not builder.trusted:
        builder.problem(spec.line_of("title"), f"ledger title {title!r} {problem}")
    rows = spec.get("rows")
    if rows is not None and (not isinstance(rows, str) or getattr(fields.get(rows), "type", None) != "list"):
        builder.problem(spec.line_of("rows"), f"ledger rows: {rows!r} is not a list field")
        rows = None

    def check(source: Any, at: int) -> str | None:
        if not isinstance(source, str):
            builder.problem(at, f"a ledger column source must be a name, not {source!r}")
            return None
        if problem := source_problem(source, rows, fields, numbers, transitions):
            builder.problem(at, f"ledger: {problem}")
            return None
        return source

    columns: list[LedgerColumn] = []
    raw_columns = spec.get("columns")
    if not isinstance(raw_columns, list) or not raw_columns:
        builder.problem(spec.line_of("columns"), "ledger needs columns: a list of sources")
        raw_columns = []
    for index, entry in enumerate(raw_columns):
        at = raw_columns.line_of(index) if isinstance(raw_columns, yamlsrc.LineList) else spec.line
        label = None
        if isinstance(entry, dict):
            if len(entry) != 1:
                builder.problem(at, "a ledger column is a source or {source: header}")
                continue
            entry, label = next(iter(entry.items()))
        source = check(entry, at)
        if source is None:
            continue
        header = str(label) if label else default_label(source, fields, numbers, transitions)
        if header in {c.label for c in columns}:
            builder.problem(at, f"ledger: two columns headed {header!r} (give one another header)")
        columns.append(LedgerColumn(source, header))
    overdue = builder.mapping(spec.get("overdue"), spec.line_of("overdue"), "ledger overdue")
    date_source = overdue.get("date")
    unless: dict[str, list[str]] = {}
    if overdue:
        if not isinstance(date_source, str) or getattr(field_of(date_source, fields), "type", None) != "date" \
                or source_problem(date_source, rows, fields, numbers, transitions):
            builder.problem(overdue.line_of("date"), f"ledger overdue date: {date_source!r} is not a date field")
            date_source = None
        ends = builder.mapping(overdue.get("unless"), overdue.line_of("unless"), "ledger overdue unless")
        for source, values in ends.items():
            if check(source, ends.line_of(source)):
                unless[str(source)] = [str(v) for v in (values if isinstance(values, list) else [values])]
    return LedgerSpec(title=title, columns=columns, rows=rows, overdue_date=date_source or None,
                      overdue_unless=unless)
