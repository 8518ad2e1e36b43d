"""Returned approval forms: reading the supervisor's decision from a .docx, filling one in as a
supervisor would (demo and tests), and `ingest`, which applies it through the engine."""

from workflow._exports import lazy_exports

__all__ = ["decide", "ReturnedForm"]
__getattr__, __dir__ = lazy_exports(__name__, {
    "decide": "read",
    "ReturnedForm": "read",
})
