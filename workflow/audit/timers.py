"""What the audit checks of the system user (`gongwen tick`): it records only timed transitions
(and the automatic ones they set off), 催办 (overdue) and 督办 (escalate) events, and nobody else
records those. `audit verify` checks the marks in the signed events (identity.py, no definition
at hand); `audit replay` checks them against the pinned definition."""

from __future__ import annotations

from typing import Any

from workflow.definition.model import CREATE, ESCALATE, OVERDUE, SYSTEM_USER, Definition

SYSTEM = SYSTEM_USER.encode()
TICK_EVENTS = (OVERDUE.encode(), ESCALATE.encode())


def replay_check(definition: Definition, transition: str, state: Any, from_state: Any, to_state: Any,
                 actor: str) -> str | None:
    """None when the event passes the system-user rules (the definition's own checks follow for
    transitions it declares); else the anomaly. `""` means: a 催办/督办 event that is fine, skip
    the transition checks (the definition declares no such transition)."""
    if transition in (OVERDUE, ESCALATE):
        if actor != SYSTEM_USER:
            return f"a {transition} event by {actor}: only gongwen tick (the system user) records them"
        if from_state != state or to_state != state:
            return f"a {transition} event from {from_state!r} to {to_state!r}: it stays in {state!r}"
        if not any(state in d.states for d in definition.deadlines.values()):
            return f"a {transition} event in {state!r}, where {definition.id} sets no deadline"
        return ""
    tr = definition.transitions.get(transition)
    if actor == SYSTEM_USER and (transition == CREATE or tr is None
                                 or not (tr.timer or tr.automatic or tr.outcome_of)):
        return f"the system user did {transition}: it fires only timers (gongwen tick)"
    if tr is not None and tr.timer and actor != SYSTEM_USER:
        return f"{transition} is a timer: only gongwen tick (the system user) fires it, not {actor}"
    return None


def verify_rows(rows: list[Any], transition_at: int, item_at: int) -> list[int]:
    """Indexes of the rows (EventCheck's raw rows, text as bytes) where the system user acts
    outside items, or where someone else records a 催办/督办 event."""
    from operator import itemgetter

    if SYSTEM not in set(map(itemgetter(0), rows)) and not set(TICK_EVENTS) & set(map(itemgetter(transition_at), rows)):
        return []  # the usual batch: neither the system user nor a 催办/督办 event
    bad = []
    for index, row in enumerate(rows):
        actor, transition, item_id = row[0], row[transition_at], row[item_at]
        if (actor == SYSTEM and item_id is None) or (transition in TICK_EVENTS and actor != SYSTEM):
            bad.append(index)
    return bad
