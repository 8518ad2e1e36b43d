"""A definition's optional top-level block (`ledger:`, `confidential:` …) read as a mapping whose
unknown keys are problems (`file:line`), for the modules that check one block each."""

from __future__ import annotations

from typing import Any, Protocol


class Builder(Protocol):
    trusted: bool

    def problem(self, line: int, message: str) -> None: ...

    def mapping(self, value: Any, line: int, what: str) -> Any: ...


def checked_block(builder: Builder, raw: Any, line: int, name: str, known: set[str]) -> Any:
    """The block as a line-numbered mapping; each key not in `known` is a problem."""
    spec = builder.mapping(raw, line, name)
    for key in spec:
        if key not in known:
            builder.problem(spec.line_of(key), f"unknown key {key!r} in {name} (known: {', '.join(sorted(known))})")
    return spec
