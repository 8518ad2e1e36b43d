"""The workflow engine: create items and fire transitions as units of work (guards with typed
refusals, the state machine, gap-free numbers, events), the read side, users and roles, the
definitions in use, and workspace administration. Imports definition/, store/ and documents/."""

from workflow._exports import lazy_exports

__all__ = ["Engine", "Actor", "Subject"]
__getattr__, __dir__ = lazy_exports(__name__, {
    "Engine": "engine",
    "Actor": "guards",
    "Subject": "guards",
})
