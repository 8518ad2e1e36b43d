"""Guard and worklist expressions: jinja2 expressions compiled once in the bounded sandbox
(sandbox.py: `9**(9**9)` is refused, not folded at compile time, and an evaluation has a budget)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

from functools import lru_cache

# workdays(a, b): the working days from date a to date b, both counted (engine/guards.py)
KNOWN_NAMES = frozenset({"item", "fields", "user", "params", "today", "now", "workdays"})


@lru_cache(maxsize=1)
def _environment() -> SandboxedEnvironment:
    from workflow.definition.sandbox import BoundedImmutableSandbox

    return BoundedImmutableSandbox()


def check(source: str) -> str | None:
    """Return a problem with the expression, or None when it compiles and uses known names."""
    from jinja2 import TemplateSyntaxError, meta

    env = _environment()
    try:
        ast = env.parse("{{ (" + source + ") }}")
    except TemplateSyntaxError as exc:
        return f"bad guard expression {source!r}: {exc.message}"
    unknown = meta.find_undeclared_variables(ast) - KNOWN_NAMES
    if unknown:
        return (f"bad guard expression {source!r}: unknown name {sorted(unknown)[0]!r} "
                f"(known: {', '.join(sorted(KNOWN_NAMES))})")
    return None


@lru_cache(maxsize=512)
def compile_expression(source: str) -> Any:
    return _environment().compile_expression(source, undefined_to_none=True)


def evaluate(source: str, context: dict) -> tuple[bool, str | None]:
    """Evaluate to (truthy, error message or None); an error counts as false."""
    from workflow.definition.sandbox import bounded

    try:
        with bounded():
            return bool(compile_expression(source)(**context)), None
    except Exception as exc:  # the sandbox raises SecurityError, TypeError, ... on bad data
        return False, f"{type(exc).__name__}: {exc}"
