"""The jinja2 sandbox with bounds, for templates (documents/renderer.py) and guard expressions.

jinja2's SandboxedEnvironment keeps templates away from Python internals, but not from work
without end: `{{ 9**(9**9) }}` (folded at compile time, so it hangs before any render),
`{{ 'a' * 10**9 }}`, nested `{% for %}` over range(100000), a macro that calls itself, a string
doubled in a loop. BoundedSandbox bounds each of them, deterministically (the same template and
context always pass or always fail, so an auditor's re-render gives the same result):

- `*`, `**`, `+` and `%` are intercepted (`intercepted_binops`, which also stops jinja folding them
  at compile time) and refused when the result would be too large: integers over MAX_INT_BITS,
  strings and lists over MAX_VALUE_CHARS, format widths over MAX_WIDTH;
- calls (`env.call`), filters (each wrapped, which also stops compile-time folding of filters) and
  str methods that pad or replace are checked the same way before they run, and their results
  after; calls nest at most MAX_CALL_DEPTH deep (recursive macros and `loop()`);
- every loop's items, call, filter, operator, attribute and `~` cost work units (one, plus one per
  KB of a string or list they build); a render may spend MAX_STEPS, and MAX_SECONDS of wall-clock
  time as a backstop; `render` caps a part's output at MAX_OUTPUT_CHARS.

The loops and `~` are reached by rewriting the template's tree before code generation
(code_generator_class, a documented hook): `for x in ITER` becomes `for x in ITER|_gw_iter` and
`a ~ b` becomes `(a ~ b)|_gw_sized`. A limit raises LimitExceeded, a jinja2 SecurityError."""

from __future__ import annotations

import contextlib
import contextvars
import re
import string
import time
from collections.abc import Iterable, Iterator
from typing import Any

from jinja2 import nodes, pass_context
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment
from jinja2.visitor import NodeTransformer

MAX_STEPS = 2_000_000  # work units of one render (a one-page document spends a few hundred)
MAX_SECONDS = 60.0  # wall-clock backstop of one render
MAX_VALUE_CHARS = 8_000_000  # one string or list a template builds
MAX_OUTPUT_CHARS = 32_000_000  # one rendered part
MAX_WIDTH = 100_000  # a padding width or a format's width or precision
MAX_INT_BITS = 8_192  # an integer a template computes (about 2,500 digits)
MAX_CALL_DEPTH = 40  # macros and recursive loops calling each other
_CHECK_CLOCK_EVERY = 4096  # steps between two looks at the clock


class LimitExceeded(SecurityError):
    """A template went beyond a bound of the sandbox."""


class Budget:
    """The work units, call depth and deadline of one render."""

    __slots__ = ("steps", "limit", "next_clock", "deadline", "depth")

    def __init__(self, limit: int = MAX_STEPS, seconds: float = MAX_SECONDS) -> None:
        self.steps, self.limit, self.depth = 0, limit, 0
        self.next_clock = _CHECK_CLOCK_EVERY
        self.deadline = time.monotonic() + seconds

    def charge(self, units: int = 1) -> None:
        self.steps += units
        if self.steps > self.next_clock:
            if self.steps > self.limit:
                raise LimitExceeded(f"the template does too much work (over {self.limit:,} steps: "
                                    "a loop or a recursion too large?)")
            self.next_clock = self.steps + _CHECK_CLOCK_EVERY
            if time.monotonic() > self.deadline:
                raise LimitExceeded("the template takes too long to render (a loop or a recursion too large?)")


_BUDGET: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("gongwen_budget", default=None)


@contextlib.contextmanager
def bounded(limit: int = MAX_STEPS, seconds: float = MAX_SECONDS) -> Iterator[Budget]:
    """Run renders and evaluations under one Budget."""
    budget = Budget(limit, seconds)
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def _charge(units: int = 1) -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.charge(units)


def _size(value: Any) -> int:
    """len() of a string, list, tuple, dict or set (0 for anything else), refused beyond
    MAX_VALUE_CHARS."""
    if isinstance(value, (str, list, tuple, dict, set, bytes)):
        size = len(value)
        if size > MAX_VALUE_CHARS:
            raise LimitExceeded(f"the template builds a value of {size:,} characters or items "
                                f"(the limit is {MAX_VALUE_CHARS:,})")
        return size
    return 0


def _charge_result(value: Any) -> Any:
    size = _size(value)
    budget = _BUDGET.get()
    if budget is not None:
        budget.charge(1 + (size >> 10))
    return value


def _too_large(what: str) -> LimitExceeded:
    return LimitExceeded(f"the template asks for {what}, beyond the sandbox's limits")


def _check_count(count: Any, unit: int, what: str) -> None:
    if isinstance(count, int) and count > 0 and unit > 0 and count * unit > MAX_VALUE_CHARS:
        raise _too_large(what)


def _check_width(width: Any) -> None:
    if isinstance(width, int) and width > MAX_WIDTH:
        raise _too_large(f"a width of {width:,}")


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")
_DIGITS = re.compile(r"\d+")


def _check_percent_format(fmt: str) -> None:
    """`'%0999999999d' % 1`, `'%*d' % (10**9, 1)`: widths and precisions of a printf format."""
    if "%" not in fmt:
        return
    for match in _PERCENT_SPEC.finditer(fmt):
        for number in match.groups():
            if number == "*":
                raise _too_large("a width given by an argument (%*)")
            if number:
                _check_width(int(number))


def _check_brace_format(fmt: str) -> None:
    """`'{:>999999999}'.format(1)`: widths and precisions of a str.format format; nested ones
    (`{:{}}`) are refused."""
    try:
        parsed = list(string.Formatter().parse(fmt))
    except ValueError:
        return  # the call itself reports the bad format
    for _, _, spec, _ in parsed:
        if spec:
            if "{" in spec:
                raise _too_large("a format width given by an argument ({:{}})")
            for number in _DIGITS.findall(spec):
                _check_width(int(number))


def _check_replace(text: str, old: Any, new: Any, count: Any = -1) -> None:
    if isinstance(old, str) and isinstance(new, str) and len(new) > len(old):
        times = len(text) + 1 if not isinstance(count, int) or count < 0 else min(count, len(text) + 1)
        if len(text) + times * (len(new) - len(old)) > MAX_VALUE_CHARS:
            raise _too_large("a replacement that grows the text too much")


def _check_str_method(text: str, name: str, args: tuple, kwargs: dict) -> None:
    first = args[0] if args else None
    if name in ("ljust", "rjust", "center", "zfill"):
        _check_width(first if first is not None else kwargs.get("width"))
    elif name == "expandtabs":
        _check_count(first if first is not None else kwargs.get("tabsize", 8), text.count("\t") + 1, "wide tabs")
    elif name == "replace":
        _check_replace(text, *args[:3])
    elif name in ("format", "format_map"):
        _check_brace_format(text)


def _check_call(obj: Any, args: tuple, kwargs: dict) -> None:
    """Before a call: str methods that could build a huge string, list methods that grow a list."""
    target = getattr(obj, "__wrapped__", obj)  # str.format comes wrapped by the sandbox
    owner = getattr(target, "__self__", None)
    name = getattr(target, "__name__", "")
    if isinstance(owner, str):
        _check_str_method(owner, name, args, kwargs)
    elif isinstance(owner, list) and name in ("extend", "append", "insert", "__iadd__") and args:
        grown = len(owner) + (len(args[-1]) if name in ("extend", "__iadd__") and hasattr(args[-1], "__len__") else 1)
        if grown > MAX_VALUE_CHARS:
            raise _too_large(f"a list of {grown:,} items")


def _check_binop(operator: str, left: Any, right: Any) -> None:
    if operator == "**":
        if isinstance(left, int) and isinstance(right, int) and right > 1 and abs(left) > 1 \
                and (abs(left).bit_length() - 1) * right > MAX_INT_BITS:
            raise _too_large(f"a number of more than {MAX_INT_BITS:,} bits ({left} ** {right})")
    elif operator == "*":
        if isinstance(left, int) and isinstance(right, int):
            if left.bit_length() + right.bit_length() > MAX_INT_BITS + 1:
                raise _too_large(f"a number of more than {MAX_INT_BITS:,} bits")
        elif isinstance(right, int) and hasattr(left, "__len__"):
            _check_count(right, len(left), f"a value of {len(left):,} × {right:,}")
        elif isinstance(left, int) and hasattr(right, "__len__"):
            _check_count(left, len(right), f"a value of {left:,} × {len(right):,}")
    elif operator == "+":
        if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)) \
                and len(left) + len(right) > MAX_VALUE_CHARS:
            raise _too_large(f"a value of {len(left) + len(right):,} characters or items")
    elif operator == "%" and isinstance(left, str):
        _check_percent_format(left)


# -- filters: each wrapped (checked, charged, never folded at compile time) ---------------------
def _check_filter(name: str, value: Any, args: tuple, kwargs: dict) -> None:
    first = args[0] if args else None
    if name == "center":
        _check_width(first if first is not None else kwargs.get("width"))
    elif name == "indent" and isinstance(value, str):
        width = first if first is not None else kwargs.get("width", 4)
        if isinstance(width, str):
            width = len(width)
        _check_count(width, value.count("\n") + 1, "a wide indent")
    elif name == "format" and isinstance(value, str):
        _check_percent_format(value)
    elif name == "replace" and isinstance(value, str):
        _check_replace(value, *args[:3])
    elif name in ("batch", "slice"):
        _check_count(first if first is not None else kwargs.get("linecount", kwargs.get("slices")), 1,
                     f"{name} of {first!r}")


def _bounded_filter(name: str, func: Any) -> Any:
    passes = getattr(getattr(func, "jinja_pass_arg", None), "name", None)

    @pass_context
    def checked(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        _charge()
        _check_filter(name, value, args, kwargs)
        if passes == "context":
            result = func(context, value, *args, **kwargs)
        elif passes == "eval_context":
            result = func(context.eval_ctx, value, *args, **kwargs)
        elif passes == "environment":
            result = func(context.environment, value, *args, **kwargs)
        else:
            result = func(value, *args, **kwargs)
        return _charge_result(result)

    checked.__name__ = checked.__qualname__ = getattr(func, "__name__", name)
    checked.__doc__ = func.__doc__
    checked.gongwen_bounded = True  # type: ignore[attr-defined]
    return checked


@pass_context
def _gw_iter(context: Context, iterable: Any) -> Any:
    """Every item of every loop costs a step."""
    budget = _BUDGET.get()
    return iterable if budget is None else _counted(iterable, budget)


def _counted(iterable: Iterable[Any], budget: Budget) -> Iterator[Any]:
    for item in iterable:
        budget.charge()
        yield item


@pass_context
def _gw_sized(context: Context, value: Any) -> Any:
    """The result of `~`."""
    return _charge_result(value)


class _Rewrite(NodeTransformer):
    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, "_gw_iter", [], [], None, None, lineno=node.iter.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return nodes.Filter(node, "_gw_sized", [], [], None, None, lineno=node.lineno)


class _BoundedCodeGenerator(CodeGenerator):
    def visit_Template(self, node: nodes.Template, frame: Any = None) -> None:
        rewritten = _Rewrite().visit(node)
        rewritten.set_environment(self.environment)
        super().visit_Template(rewritten, frame)


class BoundedSandbox(SandboxedEnvironment):
    """SandboxedEnvironment with the bounds of this module (see the module docstring)."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _BoundedCodeGenerator

    def __init__(self, *args: Any, filters: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters.update(filters or {})
        for name, func in list(self.filters.items()):
            if not getattr(func, "gongwen_bounded", False):
                self.filters[name] = _bounded_filter(name, func)
        self.filters["_gw_iter"] = _gw_iter
        self.filters["_gw_sized"] = _gw_sized

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _check_binop(operator, left, right)
        return _charge_result(self.binop_table[operator](left, right))

    def getattr(self, obj: Any, attribute: str) -> Any:
        _charge()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _charge()
        return super().getitem(obj, argument)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _BUDGET.get()
        _check_call(__obj, args, kwargs)
        if budget is None:
            return _charge_result(super().call(__context, __obj, *args, **kwargs))
        budget.charge()
        if budget.depth >= MAX_CALL_DEPTH:
            raise LimitExceeded(f"calls nest more than {MAX_CALL_DEPTH} deep (a macro that calls itself?)")
        budget.depth += 1
        try:
            result = super().call(__context, __obj, *args, **kwargs)
        finally:
            budget.depth -= 1
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, (list, dict, set)):
            _charge_result(owner)  # a list grown by append/extend
        return _charge_result(result)


class BoundedImmutableSandbox(BoundedSandbox, ImmutableSandboxedEnvironment):
    """The bounds with ImmutableSandboxedEnvironment's rule: no list.append, dict.update..."""


def render(template: Any, context: dict) -> str:
    """Template.render, counting the output: a part of more than MAX_OUTPUT_CHARS is refused
    while it is produced, not after."""
    ctx = template.new_context(context)
    try:
        chunks, size = [], 0
        for chunk in template.root_render_func(ctx):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise LimitExceeded(f"the rendered part is over {MAX_OUTPUT_CHARS:,} characters")
            chunks.append(chunk)
        return "".join(chunks)
    except Exception:
        return template.environment.handle_exception()
