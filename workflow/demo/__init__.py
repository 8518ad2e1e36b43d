"""`gongwen demo`: a rehearsal workspace with users and sample items taken through every
workflow. Uses everything below it; only the command line imports it."""

from workflow._exports import lazy_exports

__all__ = ["run_demo", "USERS"]
__getattr__, __dir__ = lazy_exports(__name__, {
    "run_demo": "run",
    "USERS": "run",
})
