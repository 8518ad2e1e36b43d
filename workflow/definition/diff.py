"""An event's field changes, field by field, for a reader: `field_changes(fields, changes)` turns
the stored {field: [before, after]} of an event into one Change per scalar field, per record added
to or removed from a list, and per sub-field changed in a record, labelled from the definition:

    督导结论：合格 → 良好
    存在问题及整改要求 第2项 问题描述：校舍屋面渗水 → 校舍屋面渗漏（二楼）
    存在问题及整改要求 第3项（新增）：问题描述：……；整改要求：……

Pure: the values are shown as text (empty → （空）, 是/否, choices joined with 、, a record as its
filled sub-fields), cut to about 60 characters. A field the definition does not know (an event of
an older version) keeps its stored name. The order is the definition's fields, then the unknown
ones by name; in a list, the records' positions; in a record, the sub-fields' order."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from workflow.definition.fields import Field

CHANGED, ADDED, REMOVED = "changed", "added", "removed"
EMPTY = "（空）"
MAX_CHARS = 60  # a value longer than this is cut, ending in …
_KIND_NOTES = {ADDED: "（新增）", REMOVED: "（删除）", CHANGED: ""}
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


@dataclass(frozen=True)
class Change:
    """One change: `field`, `row` (the record's number in its list, from 1, as in `--set
    field.N.sub`: the new position for a changed or added record, the old one for a removed
    record, both in the label when they differ: 第2项（现第1项）; None for a plain field), `sub`
    (the record's field, or None); `labels` the same path in words (字段名, 第N项, 子字段名);
    `before`/`after` as text (（空） for nothing)."""

    field: str
    row: int | None
    sub: str | None
    labels: tuple[str, ...]
    before: str
    after: str
    kind: str = CHANGED  # changed, added (a record), removed (a record)

    @property
    def path(self) -> str:
        """The path as `--set` spells it: conclusion, findings.2, findings.2.description."""
        return ".".join(str(part) for part in (self.field, self.row, self.sub) if part is not None)

    @property
    def label(self) -> str:
        return " ".join(self.labels) + _KIND_NOTES.get(self.kind, "")

    @property
    def text(self) -> str:
        """存在问题及整改要求 第2项 问题描述：旧 → 新; a record added or removed: 第3项（新增）：…"""
        if self.kind == ADDED:
            return f"{self.label}：{self.after}"
        if self.kind == REMOVED:
            return f"{self.label}：{self.before}"
        return f"{self.label}：{self.before} → {self.after}"

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "row": self.row, "sub": self.sub, "path": self.path, "label": self.label,
                "before": self.before, "after": self.after, "kind": self.kind, "text": self.text}


def field_changes(fields: Mapping[str, Field] | None, changes: Any) -> list[Change]:
    """The changes of one event ({field: [before, after]}, as stored), one Change each, in the
    order of `fields` (the definition's, name -> Field); nothing for a value that is not a dict."""
    if not isinstance(changes, Mapping):
        return []
    fields = fields or {}
    names = [n for n in fields if n in changes] + sorted(str(n) for n in changes if n not in fields)
    found: list[Change] = []
    for name in names:
        before, after = _pair(changes[name])
        spec = fields.get(name)
        label = spec.label if spec is not None else name
        if _records(before) and _records(after) and (before or after):
            found.extend(_list_changes(name, label, spec, before or [], after or []))
        elif before != after:
            old, new = display(before, spec), display(after, spec)
            if old != EMPTY or new != EMPTY:  # None and "" alike: nothing to show
                found.append(Change(name, None, None, (label,), old, new))
    return found


def _pair(change: Any) -> tuple[Any, Any]:
    if isinstance(change, (list, tuple)) and len(change) == 2:
        return change[0], change[1]
    return None, change  # not as the engine stores it: shown as the value it holds


def _records(value: Any) -> bool:
    """A list of records (or nothing): diffed record by record."""
    return value is None or (isinstance(value, list) and all(isinstance(r, dict) for r in value))


def _list_changes(name: str, label: str, spec: Field | None, before: list[dict[str, Any]],
                  after: list[dict[str, Any]]) -> list[Change]:
    """Records matched by content (difflib): an edited record is one changed record with its
    changed sub-fields; records with no match are added or removed."""
    subs = spec.record if spec is not None else {}
    keys = [_key(r) for r in before], [_key(r) for r in after]
    found: list[Change] = []
    for op, b1, b2, a1, a2 in SequenceMatcher(None, *keys, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        pairs = _align(before[b1:b2], after[a1:a2])
        b, a = b1, a1
        for pb, pa in [*((b1 + i, a1 + j) for i, j in pairs), (b2, a2)]:
            found.extend(Change(name, index + 1, None, (label, f"第{index + 1}项"), record_text(before[index], subs),
                                EMPTY, REMOVED) for index in range(b, pb))
            found.extend(Change(name, index + 1, None, (label, f"第{index + 1}项"), EMPTY,
                                record_text(after[index], subs), ADDED) for index in range(a, pa))
            if pb < b2:
                found.extend(_record_changes(name, label, subs, pb + 1, pa + 1, before[pb], after[pa]))
            b, a = pb + 1, pa + 1
    return found


def _align(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """Which records of a changed stretch are edits of one another: the pairs (in order) with the
    most sub-fields in common; a record sharing none with any other is removed or added."""
    if len(before) == len(after) == 1:
        return [(0, 0)]
    n, m = len(before), len(after)
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            same = _common(before[i], after[j])
            best[i][j] = max(best[i + 1][j], best[i][j + 1], same + best[i + 1][j + 1] if same else 0)
    pairs, i, j = [], 0, 0
    while i < n and j < m:
        same = _common(before[i], after[j])
        if same and best[i][j] == same + best[i + 1][j + 1]:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            i += 1
        else:
            j += 1
    return pairs


def _common(before: dict[str, Any], after: dict[str, Any]) -> int:
    """How many filled sub-fields two records share."""
    return sum(1 for k, v in before.items() if v not in (None, "", []) and after.get(k) == v)


def _record_changes(name: str, label: str, subs: Mapping[str, Field], old_row: int, row: int,
                    before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """The changed sub-fields of a record; 第2项（现第1项） when records before it were removed
    or added by the same event."""
    where = f"第{row}项" if old_row == row else f"第{old_row}项（现第{row}项）"
    names = [n for n in subs if n in before or n in after]
    names += sorted(str(n) for n in {*before, *after} if n not in subs)
    found = []
    for sub in names:
        old, new = before.get(sub), after.get(sub)
        spec = subs.get(sub)
        shown = display(old, spec), display(new, spec)
        if old != new and shown != (EMPTY, EMPTY):
            found.append(Change(name, row, sub, (label, where, spec.label if spec is not None else sub),
                                *shown))
    return found


def _key(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True, default=str)


def display(value: Any, spec: Field | None = None) -> str:
    """A value as a reader sees it: （空）, 是/否, choices joined with 、, a record as its filled
    sub-fields, a list of records as their count; on one line, at most MAX_CHARS characters."""
    if value is None or value == "" or value == []:
        return EMPTY
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dict):
        return record_text(value, spec.record if spec is not None else {})
    if isinstance(value, list):
        if all(isinstance(v, dict) for v in value):
            return f"{len(value)}项"
        if all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value):
            return cut("、".join(map(str, value)))
        return cut(json.dumps(value, ensure_ascii=False, default=str))
    return cut(str(value))


def record_text(record: Any, subs: Mapping[str, Field] | None = None) -> str:
    """A record in brief: 问题描述：校舍屋面渗水；整改要求：…, its filled sub-fields in the
    definition's order (unknown ones by name), cut to MAX_CHARS."""
    if not isinstance(record, dict):
        return display(record)
    subs = subs or {}
    names = [n for n in subs if n in record] + sorted(str(n) for n in record if n not in subs)
    parts = [f"{subs[n].label if n in subs else n}：{display(record[n], subs.get(n))}" for n in names
             if record[n] not in (None, "", [])]
    return cut("；".join(parts)) if parts else EMPTY


def cut(text: str, limit: int = MAX_CHARS) -> str:
    """One line (line breaks become a space), at most `limit` characters and then …"""
    text = _LINE_BREAKS.sub(" ", text)
    return text if len(text) <= limit else text[:limit] + "…"
