"""Error types with their exit codes (0 done, 1 refused, 2 usage, 3 conflict, 4 bad input)."""

from __future__ import annotations

from typing import Any

from workflow.i18n import Msg

REFUSED, USAGE, CONFLICT, BAD_INPUT = 1, 2, 3, 4


class GongwenError(Exception):
    """A user-facing error: one line of message, a typed reason, an exit code. A message given as
    an i18n.Msg keeps its template and parameters (`template`, `params`), so that the command line
    can say it in the user's language; `message` is always the English text."""

    exit_code = BAD_INPUT
    reason = "bad_input"
    template: str | None = None
    params: dict[str, Any] | None = None

    def __init__(self, message: str, reason: str | None = None, **details: Any):
        super().__init__(str(message))
        if isinstance(message, Msg):
            self.template, self.params = message.template, message.params
        self.message = str(message)
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


class EnvironmentFault(BadInput):
    """The machine stands in the way, not the user's input: a read-only or full disk, a damaged,
    locked or unreachable database, a bad database URL or workspace setting (exit 4). The
    reason names which; the message says what to do."""

    reason = "environment"


def os_fault(error: OSError) -> EnvironmentFault:
    """An OSError (reading or writing a file or folder) as one true line: the path, the system's
    words for what went wrong, and what to look at."""
    import errno

    number = error.errno or 0
    path = error.filename if error.filename is not None else "a file"
    words = " ".join((error.strerror or str(error) or type(error).__name__).split())
    if number in (errno.ENOSPC, errno.EDQUOT):
        reason, hint = "disk_full", "the disk is full: free some space and try again"
    elif number == errno.EFBIG:
        reason, hint = "disk_full", "a file size limit was reached"
    elif number == errno.EROFS:
        reason, hint = "read_only", "the file system is read-only"
    elif number in (errno.EACCES, errno.EPERM):
        reason, hint = "read_only", "gongwen may not read or write there: check the permissions of the file and " \
                                    "its folder"
    elif number in (errno.ENOTDIR, errno.EEXIST):
        reason, hint = "not_a_folder", "a file stands where gongwen needs a folder"
    elif number == errno.ENOENT:
        reason, hint = "not_found", "it does not exist"
    else:
        reason, hint = "io_error", "the disk or file system refused"
    return EnvironmentFault(f"{path}: {words} ({hint})", reason=reason, path=str(path))
