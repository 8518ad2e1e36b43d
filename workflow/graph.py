"""`workflows graph`: mermaid, dot or svg through transitions' diagram support."""

from __future__ import annotations

import shutil

from .definition import Definition
from .errors import BadInput


def _graph_machine(d: Definition, engine: str):
    from transitions.extensions import GraphMachine

    states = [{"name": s, "label": f"{st.title}\\n{s}" if engine != "mermaid" else f"{st.title} ({s})"}
              for s, st in d.states.items()]
    machine = GraphMachine(model=None, states=[s["name"] for s in states], initial=d.initial,
                           auto_transitions=False, graph_engine=engine, title=f"{d.title} ({d.id})",
                           show_state_attributes=False)
    for t in d.transitions.values():
        for source in t.sources:
            machine.add_transition(f"{t.title} {t.id}", source, t.target or source)
    return machine


def draw(d: Definition, fmt: str):
    if fmt == "mermaid":
        return _graph_machine(d, "mermaid").get_graph().draw(None)
    try:
        import graphviz  # noqa: F401
    except ImportError:
        raise BadInput("dot and svg need the Python package graphviz (pip install graphviz)") from None
    graph = _graph_machine(d, "graphviz").get_graph()
    if fmt == "dot":
        return graph.source
    if shutil.which("dot") is None:
        raise BadInput("svg needs Graphviz's `dot` program, which is not installed "
                       "(apt-get install graphviz); use --format dot or mermaid")
    return graph.pipe(format="svg")
