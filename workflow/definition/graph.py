"""`workflows graph`: mermaid, dot or svg through transitions' diagram support."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Literal

from workflow.definition.model import Definition
from workflow.errors import BadInput


def _graph_machine(d: Definition, engine: Literal["graphviz", "mermaid"]) -> Any:
    from transitions.extensions import GraphMachine

    name = {s: s for s in d.states}
    # The diagram machine keeps a graph per model, so it lives only inside this command.
    machine = GraphMachine(states=list(name.values()), initial=name[d.initial], auto_transitions=False,
                           graph_engine=engine, title=f"{d.title} ({d.id})", show_state_attributes=False)
    for t in d.transitions.values():
        for source in t.sources:
            machine.add_transition(f"{t.title} {t.id}", name[source], name[t.target or source])
    return machine


def draw(d: Definition, fmt: str) -> str | bytes:
    if fmt == "mermaid":
        text = _graph_machine(d, "mermaid").get_graph().draw(None)
        for sid, st in d.states.items():  # the diagram machine has no per-state label
            text = text.replace(f'state "{sid}" as {sid}\n', f'state "{st.title} {sid}" as {sid}\n')
        return text
    try:
        import graphviz  # noqa: F401
    except ImportError:
        raise BadInput("dot and svg need the Python package graphviz (pip install graphviz)") from None
    graph = _graph_machine(d, "graphviz").get_graph()
    for sid, st in d.states.items():
        graph.node(sid, label=f"{st.title}\\n{sid}")
    if fmt == "dot":
        return graph.source
    if shutil.which("dot") is None:
        raise BadInput("svg needs Graphviz's `dot` program, which is not installed "
                       "(apt-get install graphviz); use --format dot or mermaid")
    return graph.pipe(format="svg")


def text_of(drawn: str | bytes) -> str:
    return drawn.decode() if isinstance(drawn, bytes) else drawn


def write(drawn: str | bytes, output: str) -> None:
    """Write a drawing to a file; a path that cannot be written is bad input."""
    try:
        if isinstance(drawn, bytes):
            Path(output).write_bytes(drawn)
        else:
            Path(output).write_text(drawn, encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"cannot write {output}: {exc.strerror or exc}") from None
