"""Workflow definitions: the model (states, transitions, fields, worklists), reading and
checking a YAML file with `file:line` problems, guard expressions, and the describe/graph views.
The bottom layer: it imports nothing of gongwen but errors and canonical."""

from workflow._exports import lazy_exports

__all__ = ["Definition", "Transition", "State", "FormSpec", "Worklist", "NumberSpec", "BUILTIN_ROLES", "CREATE",
           "load_file", "parse", "Field", "apply_sets"]
__getattr__, __dir__ = lazy_exports(__name__, {
    "Definition": "model",
    "Transition": "model",
    "State": "model",
    "FormSpec": "model",
    "Worklist": "model",
    "NumberSpec": "model",
    "BUILTIN_ROLES": "model",
    "CREATE": "model",
    "load_file": "loader",
    "parse": "loader",
    "Field": "fields",
    "apply_sets": "fields",
})
