"""Field types of an item's schema: parsing values typed by clerks and checking stored ones."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from workflow import inputs
from workflow.errors import BadInput
from workflow.i18n import Msg, Named

TYPES = ("text", "integer", "decimal", "date", "choice", "choices", "boolean", "list")
TYPE_NAMES = {"text": "文本", "integer": "整数", "decimal": "数值", "date": "日期", "choice": "单选项",
              "choices": "多选项", "boolean": "是/否", "list": "列表"}  # the types in Chinese messages
_DATE_FORMS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
)
_CHOICES_SEPARATOR = re.compile(r"[、，,;；\s]+")
_TRUE = {"true", "yes", "1", "是", "y"}
_FALSE = {"false", "no", "0", "否", "n"}


@dataclass
class Field:
    name: str
    type: str
    label: str
    required: bool = False
    choices: list = field(default_factory=list)
    default: object = None
    minimum: object = None
    maximum: object = None
    record: dict = field(default_factory=dict)  # name -> Field, for type list

    def parse(self, value: Any, where: str = "") -> Any:
        """Turn a typed or loaded value into the stored JSON form; BadInput if it does not fit."""
        where = where or self.name
        if value is None or value == "":
            return None
        try:
            parsed = getattr(self, "_parse_" + self.type)(value, where)
        except (ValueError, InvalidOperation, TypeError, RecursionError):
            raise BadInput(Msg("{where} ({label}): {value} is not a valid {type}", where=where, label=self.label,
                               value=_short(value), type=Named(self.type, TYPE_NAMES.get(self.type)))) from None
        self._check_bounds(parsed, where)
        return parsed

    def _check_bounds(self, parsed: Any, where: str) -> None:
        if self.type not in ("integer", "decimal"):
            return
        number = Decimal(str(parsed))
        if self.minimum is not None and number < Decimal(str(self.minimum)):
            raise BadInput(Msg("{where} ({label}): {value} is below the minimum {minimum}", where=where,
                               label=self.label, value=parsed, minimum=self.minimum))
        if self.maximum is not None and number > Decimal(str(self.maximum)):
            raise BadInput(Msg("{where} ({label}): {value} is above the maximum {maximum}", where=where,
                               label=self.label, value=parsed, maximum=self.maximum))

    def _parse_text(self, value: Any, where: str) -> str:
        if isinstance(value, (list, dict)):  # a YAML/JSON structure is not text
            raise ValueError
        text = str(value)
        problem = inputs.text_problem(text)  # refused now, not at every later render
        if problem:
            raise BadInput(f"{where} ({self.label}): {problem}", reason="bad_value")
        return text

    def _parse_integer(self, value: Any, where: str) -> int:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, float) and not value.is_integer():
            raise ValueError
        return int(str(value).strip()) if not isinstance(value, (int, float)) else int(value)

    def _parse_decimal(self, value: Any, where: str) -> str:
        if isinstance(value, bool):
            raise ValueError
        number = Decimal(str(value).strip())
        if not number.is_finite():
            raise ValueError
        return str(number)

    def _parse_date(self, value: Any, where: str) -> str:
        if isinstance(value, dt.date):
            return value.isoformat()
        text = str(value).strip()
        for form in _DATE_FORMS:
            match = form.match(text)
            if match:
                return dt.date(*map(int, match.groups())).isoformat()
        raise ValueError

    def _parse_choice(self, value: Any, where: str) -> str:
        text = str(value)
        if text not in [str(c) for c in self.choices]:
            raise BadInput(Msg("{where} ({label}): {value!r} is not one of {choices}", where=where, label=self.label,
                               value=text, choices="、".join(map(str, self.choices))))
        return text

    def _parse_choices(self, value: Any, where: str) -> list[str]:
        """Several of the choices (会签股室): a list, or text separated by 、，,;； or spaces;
        kept in the order of the choices, each once."""
        if isinstance(value, str):
            value = [part for part in _CHOICES_SEPARATOR.split(value) if part]
        if not isinstance(value, list):
            raise ValueError
        known = [str(c) for c in self.choices]
        for text in map(str, value):
            if text not in known:
                raise BadInput(Msg("{where} ({label}): {value!r} is not one of {choices}", where=where,
                                   label=self.label, value=text, choices="、".join(known)))
        chosen = set(map(str, value))
        return [c for c in known if c in chosen] or None  # type: ignore[return-value]

    def _parse_boolean(self, value: Any, where: str) -> bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError

    def _parse_list(self, value: Any, where: str) -> list[dict[str, Any]]:
        if isinstance(value, str):
            if inputs.bracket_depth(value) > inputs.MAX_DEPTH:
                raise BadInput(f"{where} ({self.label}): nested more than {inputs.MAX_DEPTH} levels deep",
                               reason="bad_value")
            value = json.loads(value) if value.strip().startswith("[") else _yaml_list(value)
        if not isinstance(value, list):
            raise ValueError
        return [self.parse_record(rec, f"{where}.{i}") for i, rec in enumerate(value, 1)]

    def parse_record(self, record: Any, where: str, partial: bool = False) -> dict[str, Any]:
        """Check one record; `partial` (while several --set build it up) skips `required`."""
        if not isinstance(record, dict):
            raise BadInput(f"{where}: a record of {self.label} must be a mapping")
        unknown = set(record) - set(self.record)
        if unknown:
            raise BadInput(Msg("{where}: unknown field {name!r} in {label}", where=where, name=sorted(unknown)[0],
                               label=self.label))
        out = {}
        for name, sub in self.record.items():
            value = sub.parse(record.get(name), f"{where}.{name}")
            if value is None and sub.default is not None:
                value = sub.default
            if value is None and sub.required and not partial:
                raise BadInput(Msg("{where} ({label}) is required", where=f"{where}.{name}", label=sub.label))
            out[name] = value
        return out


def _short(value: Any) -> str:
    """A value for a message: its repr, at most about 80 characters and 3 levels deep."""
    import reprlib

    shortener = reprlib.Repr()
    shortener.maxstring = shortener.maxother = 80
    shortener.maxlevel = 3
    return shortener.repr(value)


def _yaml_list(text: str) -> Any:
    import yaml

    from workflow.definition import yamlsrc

    try:
        return yamlsrc.load_plain(text)
    except (yaml.YAMLError, yamlsrc.DuplicateKey):
        raise ValueError(f"not valid YAML: {text!r}") from None


def set_path(fields: dict, schema: dict[str, Field], path: str, raw: Any) -> tuple[str, Any]:
    """Apply `--set path=value`; path is `name` or `name.N.sub` (N counts from 1, `+` appends).

    Returns (top-level field name, its new value)."""
    name, _, rest = path.partition(".")
    spec = schema.get(name)
    if spec is None:
        raise BadInput(Msg("unknown field {name!r} (fields: {fields})", name=name, fields=", ".join(schema)))
    if not rest:
        return name, spec.parse(raw)
    if spec.type != "list":
        raise BadInput(Msg("{name} ({label}) is not a list: cannot set {path!r}", name=name, label=spec.label,
                           path=path))
    index_text, _, sub_name = rest.partition(".")
    records = [dict(r) for r in (fields.get(name) or [])]
    if index_text == "+":
        records.append({})
        index = len(records)
    elif index_text.isdigit() and 1 <= int(index_text) <= len(records):
        index = int(index_text)
    else:
        raise BadInput(Msg("{path}: {name} has {count} records; use 1..{count} or +", path=path, name=name,
                           count=len(records)))
    record = records[index - 1]
    if sub_name:
        if sub_name not in spec.record:
            raise BadInput(Msg("{where}: unknown field {name!r} in {label}", where=path, name=sub_name,
                               label=spec.label))
        record[sub_name] = raw
    else:
        try:
            record = _yaml_list(raw) if isinstance(raw, str) else raw
        except ValueError:
            raise BadInput(Msg("{path}: {value!r} is not a valid record of {label}", path=path, value=raw,
                               label=spec.label)) from None
    records[index - 1] = record
    return name, [spec.parse_record(r, f"{name}.{i}", partial=True) for i, r in enumerate(records, 1)]


def apply_sets(fields: dict, schema: dict[str, Field], sets: Iterable[tuple[str, Any]]) -> dict:
    """Apply every `--set` in order, then check the records of the lists they touched."""
    fields = dict(fields)
    touched = set()
    for path, raw in sets:
        name, value = set_path(fields, schema, path, raw)
        fields[name] = value
        touched.add(name)
    for name in touched:
        if schema[name].type == "list" and fields[name]:
            fields[name] = [schema[name].parse_record(r, f"{name}.{i}") for i, r in enumerate(fields[name], 1)]
    check_item_size(fields)
    return fields


def check_item_size(fields: dict, limit: int | None = None) -> None:
    """All of an item's fields together: at most `limit` bytes as JSON (UTF-8), by default
    inputs.MAX_ITEM_BYTES as it is when called."""
    limit = inputs.MAX_ITEM_BYTES if limit is None else limit
    size = len(json.dumps(fields, ensure_ascii=False, default=str).encode("utf-8"))
    if size > limit:
        raise BadInput(f"the item's fields are too large ({size / 1048576:.1f} MB as JSON; the limit is "
                       f"{limit / 1048576:.0f} MB)", reason="too_large")


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []
