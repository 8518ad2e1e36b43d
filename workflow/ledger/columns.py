"""A definition's ledger: its declared `ledger:` block (definition/ledger.py), or the generic one
derived from its fields, and what export and import share about cells."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from typing import Any

from workflow.definition.fields import Field
from workflow.definition.ledger import (
    BUILTINS,
    LedgerColumn,
    LedgerSpec,
    default_label,
    field_of,
    sheet_title_problem,
)
from workflow.definition.model import Definition

DATE_FORMAT = "yyyy-mm-dd"
MIN_WIDTH, MAX_WIDTH = 6, 60  # column widths, in Excel's character units
GENERIC_BUILTINS = ("key", "title", "state", "creator", "created", "updated")


@dataclass(frozen=True)
class Ledger:
    """The ledger of one definition: sheet name, columns in order, the row source."""

    definition: Definition
    spec: LedgerSpec

    @property
    def sheet(self) -> str:
        return self.spec.title

    @property
    def columns(self) -> list[LedgerColumn]:
        return self.spec.columns

    @property
    def rows(self) -> str | None:
        return self.spec.rows

    def field(self, source: str) -> Field | None:
        return field_of(source, self.definition.fields)

    def is_date(self, source: str) -> bool:
        spec = self.field(source)
        return source in ("created", "updated") or source.startswith("date.") or (spec is not None and
                                                                                  spec.type == "date")


def generic_spec(definition: Definition) -> LedgerSpec:
    """编号, 标题, 状态, 创建人, 创建日期, 更新日期, every field that is not a list (by its label), every
    number (by its title); a header met twice gets the field's key added."""
    sources = [*GENERIC_BUILTINS]
    sources += [name for name, spec in definition.fields.items() if spec.type != "list" and name != "title"]
    sources += [f"number.{nid}" for nid in definition.numbers]
    columns: list[LedgerColumn] = []
    used: set[str] = set()
    for source in sources:
        label = default_label(source, definition.fields, definition.numbers, definition.transitions)
        if label in used:
            label = f"{label}（{source}）"
        used.add(label)
        columns.append(LedgerColumn(source, label))
    title = f"{definition.title}台账"
    if sheet_title_problem(title):
        title = "台账"
    return LedgerSpec(title=title, columns=columns)


def ledger_of(definition: Definition) -> Ledger:
    return Ledger(definition, definition.ledger or generic_spec(definition))


def display_width(text: str) -> int:
    """Columns a text takes in a spreadsheet: wide (CJK) characters count 2."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def column_width(header: str, values: list[Any]) -> float:
    widest = display_width(header)
    for value in values:
        text = value.isoformat() if isinstance(value, dt.date) else "" if value is None else str(value)
        widest = max(widest, max((display_width(line) for line in text.splitlines()), default=0))
    return float(min(MAX_WIDTH, max(MIN_WIDTH, widest + 2)))


def is_writable(source: str, ledger: Ledger) -> bool:
    """Whether import sets this column on a new item: the title and the fields (the rest, the key,
    the state, numbers, who and when, is what the workflow assigns)."""
    return source == "title" or ledger.field(source) is not None


BUILTIN_SOURCES = frozenset(BUILTINS)
