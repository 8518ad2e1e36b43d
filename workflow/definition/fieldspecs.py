"""One field of a definition's schema built from its YAML, for loader.Builder: the type, the
keys a field may have, choices, nested record fields, `min` and `max` checked against the type
(numbers of an integer or decimal field; `min <= max`) and the default checked like a value."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from workflow.definition import yamlsrc
from workflow.definition.fields import TYPES, Field

_KEYS = {"type", "label", "required", "choices", "default", "min", "max", "fields"}
_NUMERIC = ("integer", "decimal")


class _Builder(Protocol):
    trusted: bool

    def problem(self, line: int, message: str) -> None: ...

    def mapping(self, value: Any, line: int, what: str) -> yamlsrc.LineDict: ...


def build_field(builder: _Builder, name: str, spec: Any, line: int, nested: bool = False) -> Field | None:
    if not isinstance(spec, yamlsrc.LineDict):
        builder.problem(line, f"field {name!r} must be a mapping with a type")
        return None
    ftype = spec.get("type")
    if ftype not in TYPES or (nested and ftype == "list"):
        allowed = [t for t in TYPES if not (nested and t == "list")]
        builder.problem(spec.line_of("type"), f"field type unknown: {ftype!r} for {name!r} "
                                              f"(one of {', '.join(allowed)})")
        return None
    for key in spec:
        if key not in _KEYS:
            builder.problem(spec.line_of(key), f"unknown key {key!r} in field {name!r}")
    minimum, maximum = (_bound(builder, spec, key, ftype, name) for key in ("min", "max"))
    if minimum is not None and maximum is not None and Decimal(str(minimum)) > Decimal(str(maximum)):
        builder.problem(spec.line_of("max"), f"max {maximum} of {name!r} is below its min {minimum}")
    result = Field(name=name, type=ftype, label=str(spec.get("label") or name),
                   required=bool(spec.get("required")), choices=list(spec.get("choices") or []),
                   minimum=minimum, maximum=maximum)
    if ftype in ("choice", "choices") and not result.choices:
        builder.problem(spec.line, f"field {name!r} of type {ftype} needs choices")
    if ftype == "list":
        subs = builder.mapping(spec.get("fields"), spec.line_of("fields"), f"fields of {name!r}")
        if not subs:
            builder.problem(spec.line, f"field {name!r} of type list needs fields")
        for sub_name, sub_spec in subs.items():
            sub = build_field(builder, sub_name, sub_spec, subs.line_of(sub_name), nested=True)
            if sub:
                result.record[sub_name] = sub
    if spec.get("default") is not None:
        try:
            result.default = result.parse(plain(spec["default"]))
        except Exception as exc:
            builder.problem(spec.line_of("default"), f"bad default for {name!r}: {getattr(exc, 'message', exc)}")
    return result


def _bound(builder: _Builder, spec: yamlsrc.LineDict, key: str, ftype: str, name: str) -> Any:
    """The field's `min` or `max`, or None: a number of the field's type. A definition read back
    from the database (trusted) keeps loading: a bound it could not use is dropped, not refused."""
    value = spec.get(key)
    if value is None:
        return None
    line = spec.line_of(key)
    if ftype not in _NUMERIC:
        if not builder.trusted:
            builder.problem(line, f"{key} applies to integer and decimal fields, not to {name!r} ({ftype})")
        return None
    number = None
    if not isinstance(value, bool) and isinstance(value, (int, float, str)):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            number = None
    if number is None or not number.is_finite() or (ftype == "integer" and number != number.to_integral_value()):
        if not builder.trusted:
            kind = "an integer" if ftype == "integer" else "a number"
            builder.problem(line, f"{key} of {name!r} must be {kind}, not {value!r}")
        return None
    return int(number) if ftype == "integer" else value if isinstance(value, (int, float)) else str(number)


def plain(value: Any) -> Any:
    """Strip the line-tracking containers (for params, defaults and the canonical hash)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
