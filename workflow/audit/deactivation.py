"""Deactivated users in the audit: the fold of the user_deactivate and user_reactivate events of
the @users stream (made by an admin: identity.fold_users checks that, as for every user event),
the users table's deactivated_event against it, and every event a user signed while deactivated
(identity.EventCheck narrows the ids in which a key may sign for its user to those in which the
user was active)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from workflow.audit.eventlog import Problem
from workflow.audit.eventlog import text as _text

KINDS = ("user_deactivate", "user_reactivate")
FOREVER = 1 << 62


def fold(periods: dict[str, list[list[int]]], kind: str, login: str, event_id: int) -> None:
    """`periods`: login -> [deactivating event id, reactivating event id (FOREVER: not yet)]:
    the user's events with an id strictly between the two are made while deactivated."""
    held = periods.setdefault(login, [])
    if kind == KINDS[0] and not (held and held[-1][1] == FOREVER):
        held.append([event_id, FOREVER])
    elif kind == KINDS[1] and held and held[-1][1] == FOREVER:
        held[-1][1] = event_id


def clip(periods: dict[str, list[list[int]]], login: str, event_id: int, span: tuple[int, int],
         problems: list[Problem], where: tuple[Any, ...]) -> tuple[int, int] | None:
    """The part of `span` (ids in which the key may sign for `login`) around `event_id` in which
    the user was active; None, after recording the problem, if they were deactivated at that event."""
    low, high = span
    for start, end in periods.get(login, ()):
        if start < event_id < end:
            problems.append(Problem("user_inactive", f"{login} acted while deactivated (since event {start})",
                                    *where))
            return None
        if end <= event_id:
            low = max(low, end)
        else:
            high = min(high, start + 1)
    return low, high


def check_table(connection: Connection, periods: dict[str, list[list[int]]], problems: list[Problem]) -> None:
    """users.deactivated_event: the id of the event that deactivated the user, NULL while active."""
    for login, stored in connection.exec_driver_sql("SELECT login, deactivated_event FROM users"):
        held = periods.get(_text(login)) or []
        folded = held[-1][0] if held and held[-1][1] == FOREVER else None
        if stored != folded:
            problems.append(Problem("user_active_altered", f"user {_text(login)} is "
                                    f"{'active' if stored is None else 'deactivated'} in the database, "
                                    f"{'active' if folded is None else 'deactivated'} by the events"
                                    + ("" if (stored is None) != (folded is None) else " (another event)"),
                                    _text(login)))
