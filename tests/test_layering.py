"""The shape of the package: imports go one way, from a layer to the same or a lower one, never in
a cycle, and nothing in workflow/ imports the command line (cli.py). Read with `ast` from the
source, so function-level imports (the lazy ones that keep `gongwen --help` fast) count too.

Layers, lowest first:
  0  workflow/__init__.py, errors.py, canonical.py, _exports.py, inputs.py, i18n/
  1  definition/, store/, identity/
  2  documents/
  3  engine/
  4  forms/, audit/, ledger/
  5  demo/
  6  commands/
  7  cli.py (outside the package)

Also: every subpackage's __init__ says what it holds (a docstring) and every name of its
__all__ resolves (the lazy exports of workflow/_exports.py), and no module is over 400 lines
unless its docstring gives the reason on a line starting with "Over 400 lines:"."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
from helpers import REPO

PACKAGE = REPO / "workflow"
CLI = "cli"
LAYERS = {
    "workflow": 0, "workflow.errors": 0, "workflow.canonical": 0, "workflow._exports": 0, "workflow.inputs": 0,
    "workflow.i18n": 0,
    "workflow.definition": 1, "workflow.store": 1, "workflow.identity": 1,
    "workflow.documents": 2,
    "workflow.engine": 3,
    "workflow.forms": 4, "workflow.audit": 4, "workflow.ledger": 4,
    "workflow.demo": 5,
    "workflow.commands": 6,
    CLI: 7,
}
MAX_LINES = 400
LONG_REASON = "Over 400 lines:"


# -- reading the imports -----------------------------------------------------------------------
def module_files() -> dict[str, Path]:
    """{dotted module name: file} for every module of workflow/ and for cli.py."""
    modules = {CLI: REPO / "cli.py"}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def is_type_checking(test: ast.expr) -> bool:
    """`if TYPE_CHECKING:` or `if typing.TYPE_CHECKING:`."""
    return ((isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
            or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def imported_names(module: str, is_package: bool, tree: ast.AST) -> list[tuple[str, str | None, int, bool]]:
    """(module, name or None, line, typing only) of every import anywhere in the module, in
    functions too: `import a.b` gives (a.b, None), `from a import b` gives (a, b), where b is a
    submodule or a name of a; relative imports are made absolute. `typing only`: the import is
    under `if TYPE_CHECKING:`, so it never runs."""
    found: list[tuple[str, str | None, int, bool]] = []
    package = module.split(".") if is_package else module.split(".")[:-1]

    def visit(node: ast.AST, typing_only: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend((alias.name, None, node.lineno, typing_only) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if node.level - 1 >= len(package):
                    raise ValueError(f"{module}:{node.lineno}: relative import beyond the top package")
                base = package[:len(package) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            found.extend((source, None if alias.name == "*" else alias.name, node.lineno, typing_only)
                         for alias in node.names)
        elif isinstance(node, ast.If) and is_type_checking(node.test):
            visit(node.test, typing_only)
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, typing_only)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, typing_only)

    visit(tree, False)
    return found


class Graph(dict):
    """{module: {imported module: line}}; `typing_only` holds the (module, imported module) pairs
    that are imported only under `if TYPE_CHECKING:`."""

    def __init__(self) -> None:
        super().__init__()
        self.typing_only: set[tuple[str, str]] = set()


def import_graph(sources: dict[str, tuple[str, bool]]) -> tuple[Graph, list[str]]:
    """The imports between the given modules ({name: (source, is_package)}), parent packages
    included (importing a.b.c runs a/__init__ and a/b/__init__ first), and the imports of
    workflow.* or cli that name no module at all."""
    graph = Graph()
    runtime: set[tuple[str, str]] = set()
    unknown = []
    for module, (source, is_package) in sources.items():
        edges = graph.setdefault(module, {})
        for name, attribute, line, typing_only in imported_names(module, is_package, ast.parse(source, module)):
            if name not in sources:
                if name.split(".")[0] in ("workflow", CLI):
                    unknown.append(f"{module}:{line} imports {name}, which is no module of gongwen")
                continue
            target = f"{name}.{attribute}" if f"{name}.{attribute}" in sources else name
            parts = target.split(".")
            for end in range(1, len(parts) + 1):
                reached = ".".join(parts[:end])
                if reached in sources and reached != module:
                    edges.setdefault(reached, line)
                    (graph.typing_only if typing_only else runtime).add((module, reached))
    graph.typing_only -= runtime
    return graph, unknown


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        layer = LAYERS.get(".".join(parts[:end]))
        if layer is not None and (end == len(parts) or end > 1):
            return layer
    return None


# -- the rules ---------------------------------------------------------------------------------
def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle (a -> ... -> a) per strongly connected group of more than one module (Tarjan).
    Give it the imports that run: a cycle closed only under `if TYPE_CHECKING:` never executes."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, {})):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [cycle_in(graph, group) for group in groups]


def cycle_in(graph, group: set[str]) -> list[str]:
    """A shortest path from the group's first module back to itself, inside the group."""
    start = min(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph.get(node, {})):
            if target == start:
                return [*paths[node], start]
            if target in group and target not in paths:
                paths[target] = [*paths[node], target]
                queue.append(target)
    raise AssertionError(f"no cycle in {group}")  # pragma: no cover: a group always holds one


def layering_problems(graph: Graph) -> list[str]:
    """Every import of cli from workflow/, every upward import (typing-only ones too: the layers are
    about what a module knows of), every module outside the layers and every cycle of imports that
    run, one readable line each."""
    problems = []
    for module in sorted(graph):
        mine = layer_of(module)
        if mine is None:
            problems.append(f"{module} is in no layer: add its subpackage to LAYERS in tests/test_layering.py")
            continue
        for target, line in sorted(graph[module].items()):
            theirs = layer_of(target)
            if target == CLI and module != CLI:
                problems.append(f"{module}:{line} imports cli: nothing in workflow/ may import the command line")
            elif theirs is not None and theirs > mine:
                problems.append(f"{module}:{line} imports {target}: upward, from layer {mine} to layer {theirs}")
    runtime = {module: {target: line for target, line in edges.items() if (module, target) not in graph.typing_only}
               for module, edges in graph.items()}
    for cycle in cycles(runtime):
        steps = " -> ".join(f"{a} (line {graph[a][b]})" for a, b in zip(cycle, cycle[1:]))
        problems.append(f"import cycle: {steps} -> {cycle[-1]}")
    return problems


# -- the package as it is ----------------------------------------------------------------------
def package_graph():
    sources = {name: (path.read_text(encoding="utf-8"), path.name == "__init__.py")
               for name, path in module_files().items()}
    return import_graph(sources)


def test_imports_go_one_way_by_layer_without_cycles():
    graph, unknown = package_graph()
    assert graph.keys() >= {"workflow.engine.engine", "workflow.store.db", CLI}
    problems = unknown + layering_problems(graph)
    assert not problems, "\n".join(["the import rules are broken:", *problems])


SUBPACKAGES = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_subpackage_init_has_a_docstring_and_its_exports_resolve(name):
    init = PACKAGE / name / "__init__.py"
    assert ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))), f"{init} has no docstring"
    package = importlib.import_module(f"workflow.{name}")
    exported = getattr(package, "__all__", [])
    assert len(set(exported)) == len(exported), f"workflow.{name}.__all__ repeats a name"
    missing = []
    for export in exported:
        try:
            getattr(package, export)
        except (AttributeError, ImportError) as exc:
            missing.append(f"{export} ({type(exc).__name__}: {exc})")
    assert not missing, f"workflow.{name}.__all__ names what is not there: {', '.join(missing)}"
    assert sorted(dir(package)) == sorted(set(dir(package))) and set(exported) <= set(dir(package))


def test_subpackages_are_the_layered_ones():
    assert {f"workflow.{name}" for name in SUBPACKAGES} == {m for m in LAYERS if m.count(".") == 1} - {
        "workflow.errors", "workflow.canonical", "workflow._exports", "workflow.inputs"}


def test_no_module_is_over_400_lines_without_a_reason():
    long = []
    for path in [*module_files().values(), *sorted((REPO / "tools").glob("*.py"))]:
        text = path.read_text(encoding="utf-8")
        lines = len(text.splitlines())
        if lines <= MAX_LINES:
            continue
        doc = ast.get_docstring(ast.parse(text)) or ""
        if not any(line.strip().startswith(LONG_REASON) and len(line.strip()) > len(LONG_REASON) + 3
                   for line in doc.splitlines()):
            long.append(f"{path.relative_to(REPO)}: {lines} lines and no '{LONG_REASON} <reason>' line "
                        "in its docstring")
    assert not long, "\n".join(long)


# -- the checker itself can fail ---------------------------------------------------------------
SYNTHETIC = {
    # a cycle inside layer 1, across its two subpackages
    "workflow.store.db": ("from workflow.definition import model\n", False),
    "workflow.definition.model": ("def later():\n    from ..store.db import Database\n", False),
    # an upward import, function-level and relative, from layer 2 to layer 3
    "workflow.documents.renderer": ("def f():\n    from ..engine import engine\n", False),
    "workflow.engine.engine": ("import workflow.documents.renderer\nfrom workflow.errors import BadInput\n", False),
    # the command line imported from inside the package
    "workflow.audit.report": ("import os\n\n\ndef g():\n    import cli\n", False),
    "workflow.errors": ("", False), "workflow._exports": ("", False), "workflow": ("", True),
    "workflow.store": ("", True), "workflow.definition": ("", True), "workflow.documents": ("", True),
    "workflow.engine": ("", True),
    "workflow.audit": ("from workflow._exports import lazy_exports\n", True),
    "workflow.demo.run": ("from workflow.nothing import here\n", False),
    CLI: ("import workflow.demo.run\n", False),
}


def test_the_checker_finds_cycles_upward_imports_and_cli_imports():
    graph, unknown = import_graph(SYNTHETIC)
    assert graph["workflow.definition.model"] == {"workflow.store.db": 2, "workflow.store": 2, "workflow": 2}
    assert graph["workflow.engine.engine"] == {"workflow.documents.renderer": 1, "workflow.documents": 1,
                                               "workflow": 1, "workflow.errors": 2}
    assert unknown == ["workflow.demo.run:1 imports workflow.nothing, which is no module of gongwen"]
    problems = layering_problems(graph)
    assert "workflow.audit.report:5 imports cli: nothing in workflow/ may import the command line" in problems
    assert "workflow.documents.renderer:2 imports workflow.engine: upward, from layer 2 to layer 3" in problems
    assert "workflow.documents.renderer:2 imports workflow.engine.engine: upward, from layer 2 to layer 3" in problems
    assert ("import cycle: workflow.definition.model (line 2) -> workflow.store.db (line 1) -> "
            "workflow.definition.model") in problems
    assert ("import cycle: workflow.documents.renderer (line 2) -> workflow.engine.engine (line 1) -> "
            "workflow.documents.renderer") in problems
    assert "workflow.audit:1 imports" not in " ".join(problems)  # down to layer 0 is fine
    assert not [p for p in problems if p.startswith("cli:")]  # cli may import anything
    assert len(problems) == 5, problems


def test_the_checker_passes_a_clean_graph_and_names_unlayered_modules():
    clean = {"workflow.engine.engine": ("from workflow.store import db\nfrom . import guards\n", False),
             "workflow.engine.guards": ("from workflow.definition.model import Definition\n", False),
             "workflow.store.db": ("", False), "workflow.definition.model": ("", False),
             "workflow": ("", True), "workflow.engine": ("", True), "workflow.store": ("", True),
             "workflow.definition": ("", True)}
    graph, unknown = import_graph(clean)
    assert graph["workflow.engine.engine"] == {"workflow": 1, "workflow.store": 1, "workflow.store.db": 1,
                                               "workflow.engine": 2, "workflow.engine.guards": 2}
    assert unknown == [] and layering_problems(graph) == []
    graph, _ = import_graph({"workflow.extra.thing": ("", False), "workflow.helpers": ("", False)})
    assert layering_problems(graph) == [
        "workflow.extra.thing is in no layer: add its subpackage to LAYERS in tests/test_layering.py",
        "workflow.helpers is in no layer: add its subpackage to LAYERS in tests/test_layering.py"]


def test_typing_only_imports_close_no_cycle_but_still_go_one_way():
    typed = {
        "workflow.store.db": ("def create():\n    from workflow.store.migrate import create\n", False),
        "workflow.store.migrate": ("from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n"
                                   "    from workflow.store.db import Database\n"
                                   "    from workflow.engine.engine import Engine\n", False),
        "workflow.engine.engine": ("import typing\nif typing.TYPE_CHECKING:\n    pass\n"
                                   "else:\n    from workflow.store import migrate\n", False),
        "workflow.store": ("", True), "workflow.engine": ("", True), "workflow": ("", True),
    }
    graph, unknown = import_graph(typed)
    assert unknown == []
    assert graph.typing_only == {("workflow.store.migrate", target) for target in (
        "workflow", "workflow.store", "workflow.store.db", "workflow.engine", "workflow.engine.engine")}
    assert layering_problems(graph) == [
        "workflow.store.migrate:5 imports workflow.engine: upward, from layer 1 to layer 3",
        "workflow.store.migrate:5 imports workflow.engine.engine: upward, from layer 1 to layer 3"]
    typed["workflow.store.migrate"] = ("from workflow.store.db import Database\n", False)
    graph, _ = import_graph(typed)
    assert layering_problems(graph) == [
        "import cycle: workflow.store.db (line 2) -> workflow.store.migrate (line 1) -> workflow.store.db"]


def test_relative_imports_resolve_from_modules_and_packages():
    tree = ast.parse("from . import a\nfrom .. import b\nfrom ..c import d\nfrom .e import *\nimport f.g\n")
    expected = [("workflow.engine", "a", 1, False), ("workflow", "b", 2, False), ("workflow.c", "d", 3, False),
                ("workflow.engine.e", None, 4, False), ("f.g", None, 5, False)]
    assert imported_names("workflow.engine.engine", False, tree) == expected
    assert imported_names("workflow.engine", True, tree) == expected
    with pytest.raises(ValueError, match="beyond the top package"):
        imported_names("workflow.errors", False, ast.parse("from .. import x\n"))


def test_the_readme_layout_shows_each_subpackage_on_a_line():
    """The README's layout section: one block, one line per subpackage (`  name/  what it holds`)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    blocks = section.split("```")[1::2]
    assert len(blocks) == 1, "the layout section holds one code block"
    described = {line.split()[0].rstrip("/") for line in blocks[0].splitlines()
                 if line.startswith("  ") and line.split()[0].endswith("/") and len(line.split()) > 1}
    assert set(SUBPACKAGES) <= described, f"not in the README's layout: {sorted(set(SUBPACKAGES) - described)}"
