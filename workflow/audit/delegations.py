"""Delegations (委托) in the audit: the `delegate` and `delegation_end` events of the @users stream
folded (who gave each, for which roles and period, who ended it and when), the delegations table
compared with that fold, and every item event that claims to act under a delegation checked
against it: the delegation was given before the event and not ended, the event's date lies in
its period, the actor is its delegate, and the roles the event claims are the actor's own or
delegated ones the principal still held at that moment (engine/delegation.py writes them).

The fold lives in identity.Users (`users.delegations`); these functions are called by
identity.fold_users, identity.check_tables and identity.EventCheck."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from workflow.audit.eventlog import Problem
from workflow.audit.eventlog import text as _text
from workflow.engine import delegation

KINDS = ("delegate", "delegation_end")
NOT_DELEGABLE = frozenset(delegation.NOT_DELEGABLE)  # the engine's rule, checked again from the chain
ADMIN = "admin"
MARK = b'"delegation":{'  # in an event's data (canonical JSON: a quote inside a value is escaped)


@dataclass
class Given:
    principal: str
    delegate: str
    roles: tuple[str, ...]
    starts: str
    ends: str
    reason: str
    given: int  # the event that gave it
    ended: int | None = None  # the event that ended it


def fold(users: Any, kind: str, actor: str, data: dict[str, Any], event_id: int, where: tuple) -> None:
    """One delegation event into `users.delegations`, with a problem when it was not allowed."""
    given: dict[int, Given] = users.delegations
    number = data.get("id")
    admin = ADMIN in users.roles_at(actor, event_id)
    if not isinstance(number, int) or isinstance(number, bool):
        users.problems.append(Problem("delegation_invalid", f"a {kind} event without a delegation id", *where))
        return
    if kind == "delegate":
        principal, delegate = str(data.get("login", "")), str(data.get("delegate", ""))
        roles = tuple(str(r) for r in data.get("roles") or [])
        if number in given:
            users.problems.append(Problem("delegation_invalid", f"delegation #{number} is given twice", *where))
            return
        given[number] = Given(principal, delegate, roles, str(data.get("from", "")), str(data.get("until", "")),
                              str(data.get("reason", "")), event_id)
        if actor != principal and not admin:
            users.problems.append(Problem("delegation_not_allowed", f"{actor} delegated {principal}'s roles "
                                          "(delegation #%d) without being them or an admin" % number, *where))
        held = users.roles_at(principal, event_id)
        why = ("a user delegating to themself" if principal == delegate else
               "an unknown user" if principal not in users.people or delegate not in users.people else
               "no role" if not roles else
               f"roles {principal} did not hold then or that are not delegable" if
               set(roles) - held or set(roles) & NOT_DELEGABLE else
               "a period that ends before it starts" if given[number].ends < given[number].starts else "")
        if why:
            users.problems.append(Problem("delegation_invalid", f"delegation #{number} names {why}", *where))
        return
    found = given.get(number)
    if found is None or found.ended is not None:
        users.problems.append(Problem("delegation_invalid", f"the end of delegation #{number}, which "
                                      + ("no event gave" if found is None else "had already ended"), *where))
        return
    found.ended = event_id
    if actor not in (found.principal, found.delegate) and not admin:
        users.problems.append(Problem("delegation_not_allowed", f"{actor} ended delegation #{number} without "
                                      "being its principal, its delegate or an admin", *where))


def check_table(connection: Connection, users: Any, problems: list[Problem]) -> None:
    """The delegations table against the fold of the events."""
    given: dict[int, Given] = users.delegations
    stored: dict[int, tuple] = {}
    for number, principal, delegate, roles, starts, ends, reason, given_event, ended_event in \
            connection.exec_driver_sql("SELECT id, principal, delegate, roles, starts, ends, reason, given_event, "
                                       "ended_event FROM delegations"):
        try:
            roles = tuple(json.loads(_text(roles)))
        except (TypeError, ValueError):
            roles = ("?",)
        stored[int(number)] = (_text(principal), _text(delegate), roles, _text(starts), _text(ends),
                               _text(reason or ""), given_event, ended_event)
    for number in sorted(set(stored) | set(given)):
        found = given.get(number)
        if found is None:
            problems.append(Problem("delegation_unrecorded", f"delegation #{number} ({stored[number][0]} → "
                                    f"{stored[number][1]}) is in the database but no event gave it",
                                    stored[number][0]))
        elif number not in stored:
            problems.append(Problem("delegation_missing", f"delegation #{number} given by an event is missing "
                                    "from the database", found.principal))
        elif stored[number] != (found.principal, found.delegate, found.roles, found.starts, found.ends,
                                found.reason, found.given, found.ended):
            problems.append(Problem("delegation_altered", f"delegation #{number} ({found.principal} → "
                                    f"{found.delegate}) differs from the events that gave"
                                    + (" and ended" if found.ended else "") + " it", found.principal))


def check_event(users: Any, row: Any, where: tuple) -> list[Problem]:
    """An item event whose data names a delegation (SCAN_COLUMNS row): the delegation was in force
    for its actor then, and the roles it claims were the actor's or delegated by it."""
    actor, event_id, day = _text(row[0]), row[14], _text(row[9])[:10]
    try:
        claim = json.loads(_text(row[3])).get("delegation")
        claimed = frozenset(r for r in json.loads(_text(row[7])) if isinstance(r, str)) - {"owner"}
    except (AttributeError, TypeError, ValueError):
        return []  # not readable as written: the event's hash no longer matches, which the chain scan reports
    if not isinstance(claim, dict):
        return []
    number, principal = claim.get("id"), claim.get("principal")
    found = users.delegations.get(number) if isinstance(number, int) else None
    if found is None:
        return [Problem("delegation_unknown", f"{actor} claims to act for {principal} under delegation #{number}, "
                        "which no event gave", *where)]
    if found.delegate != actor or found.principal != principal:
        return [Problem("delegation_invalid", f"{actor} claims delegation #{number} from {principal}, but it was "
                        f"given by {found.principal} to {found.delegate}", *where)]
    if not (found.given < event_id and (found.ended is None or event_id < found.ended)
            and found.starts <= day <= found.ends):
        return [Problem("delegation_not_in_force", f"{actor} acted for {principal} under delegation #{number}, "
                        "which was not in force at that moment", *where)]
    own = users.roles_at(actor, event_id)
    delegated = (set(found.roles) & users.roles_at(principal, event_id)) - NOT_DELEGABLE
    if not claimed <= own | delegated:
        missing = ", ".join(sorted(claimed - own - delegated))
        return [Problem("role_not_held", f"{actor} acted with the role(s) {missing} without holding them at that "
                        f"moment, by themself or under delegation #{number}", *where)]
    return []
