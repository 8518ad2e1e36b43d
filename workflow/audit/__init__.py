"""The auditor's side: the event log read in order, Merkle checkpoints (RFC 9162), verify, replay
and the exported report. Reads what engine/ and store/ wrote; writes only checkpoints."""

from workflow._exports import lazy_exports

__all__ = ["make_checkpoint", "VerifyReport", "ReplayReport"]
__getattr__, __dir__ = lazy_exports(__name__, {
    "make_checkpoint": "verify",
    "VerifyReport": "verify",
    "ReplayReport": "replay",
})
