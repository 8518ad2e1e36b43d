"""`gongwen templates check`: compile every template of every workflow and name the variables
that neither the workflow's fields nor the render context provide."""

from __future__ import annotations

from pathlib import Path

from workflow.documents.produce import CONTEXT_NAMES
from workflow.documents.renderer import compile_template
from workflow.errors import BadInput


def template_report(definitions: dict, folder: Path) -> list[dict]:
    """Compile every template of every workflow; list the variables each one uses that neither
    the workflow's fields nor the render context provide, and every template that fails."""
    report = []
    for definition in definitions.values():
        declared = definition.template_names()  # transitions', 会签单, 催办通知 (gongwen tick)
        present = {p.name for p in (folder / definition.id).glob("*.docx")}
        known = set(definition.fields) | CONTEXT_NAMES
        for name in sorted(declared | present):
            entry = {"workflow": definition.id, "template": name, "declared": name in declared,
                     "unknown": [], "error": None}
            path = folder / definition.id / name
            if not path.is_file():
                entry["error"] = "missing file"
            else:
                try:
                    entry["unknown"] = sorted(compile_template(path, f"{definition.id}/{name}").variables() - known)
                except BadInput as exc:
                    entry["error"] = exc.message
            report.append(entry)
    return report
