"""Error types with their exit codes (0 done, 1 refused, 2 usage, 3 conflict, 4 bad input)."""

from __future__ import annotations

from typing import Any

REFUSED, USAGE, CONFLICT, BAD_INPUT = 1, 2, 3, 4


class GongwenError(Exception):
    """A user-facing error: one line of message, a typed reason, an exit code."""

    exit_code = BAD_INPUT
    reason = "bad_input"

    def __init__(self, message: str, reason: str | None = None, **details: Any):
        super().__init__(message)
        self.message = message
        if reason:
            self.reason = reason
        self.details = details

    def to_json(self) -> dict[str, Any]:
        body = {"reason": self.reason, "message": self.message}
        body.update({k: v for k, v in self.details.items() if v is not None})
        return body


class BadInput(GongwenError):
    exit_code = BAD_INPUT
    reason = "bad_input"


class DefinitionError(BadInput):
    """One or more problems in definition files, each `file:line: problem`."""

    reason = "bad_definition"

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems), problems=problems)


class Refused(GongwenError):
    """The workflow refuses: not_an_exit, role_missing, separation_of_duties, field_missing,
    expression_false, unknown_user."""

    exit_code = REFUSED
    reason = "refused"


class Conflict(GongwenError):
    """The item changed since it was read (reason `stale`)."""

    exit_code = CONFLICT
    reason = "stale"


class NotFound(BadInput):
    reason = "not_found"


class Usage(GongwenError):
    exit_code = USAGE
    reason = "usage"
