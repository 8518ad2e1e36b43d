"""A definition's optional `confidential:` block: items marked with a 密级 are shown only to the
users the definition allows, and to auditors.

    confidential:
      field: secrecy            # a choice field holding the item's 密级
      levels: [秘密, 机密]       # the values that restrict it (others, e.g. 无 or 内部, do not)
      roles: [supervisor, office]   # who may see such an item, besides its creator and the auditors

An item whose field holds one of `levels` is left out of `list`, `worklist`, the ledger and the
bulk selections of any other user, and `show`, `history` and `docs` refuse it (`confidential`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from workflow.definition.blocks import checked_block
from workflow.definition.fields import Field

AUDITOR = "auditor"  # the role that sees everything (纪检、审计)
_KEYS = {"field", "levels", "roles"}


@dataclass(frozen=True)
class Confidential:
    field: str
    levels: tuple[str, ...]
    roles: tuple[str, ...]

    def restricts(self, fields: dict[str, Any]) -> bool:
        """Whether an item with these fields is confidential."""
        return fields.get(self.field) in self.levels

    def sees_all(self, roles: set[str] | frozenset[str] | list[str] | tuple[str, ...]) -> bool:
        """Whether holders of `roles` see every item of the definition, confidential or not."""
        return bool(set(roles) & ({AUDITOR} | set(self.roles)))


class _Builder(Protocol):
    trusted: bool

    def problem(self, line: int, message: str) -> None: ...

    def mapping(self, value: Any, line: int, what: str) -> Any: ...

    def role_list(self, value: Any, line: int, what: str) -> list[str]: ...

    def str_list(self, value: Any, line: int, what: str) -> list[str]: ...


def build(builder: _Builder, raw: Any, line: int, fields: dict[str, Field]) -> Confidential | None:
    """The block checked (each problem `file:line`), or None when the definition has none."""
    if raw is None:
        return None
    spec = checked_block(builder, raw, line, "confidential", _KEYS)
    name = str(spec.get("field") or "")
    found = fields.get(name)
    if found is None or found.type != "choice":
        builder.problem(spec.line_of("field") if "field" in spec else line,
                        f"confidential field: {name!r} is not a choice field of this workflow")
    levels = builder.str_list(spec.get("levels"), spec.line_of("levels") if "levels" in spec else line,
                              "confidential levels")
    if not levels:
        builder.problem(line, "confidential needs levels: the 密级 values that restrict an item")
    elif found is not None and found.choices:
        for level in levels:
            if level not in found.choices:
                builder.problem(spec.line_of("levels"), f"confidential level {level!r} is not a choice of {name!r}")
    roles = builder.role_list(spec.get("roles") or [], spec.line_of("roles") if "roles" in spec else line,
                              "confidential roles")
    return Confidential(field=name, levels=tuple(levels), roles=tuple(roles))
