"""The audit of the events the engine records outside the definitions' transitions: attachments
(`attach`, engine/attachments.py) and 作废 (`void`, engine/void.py).

verify: the blobs an attach event names are the history's like documents (each must be present
and hash to its sha256); a damaged or missing one is named as the attachment it is, with its file
name, item and event. replay: an attach event stays in its state, on an item not closed, by its
creator or a holder of a role acting there; a void event leaves a voidable state for `voided`, by
the creator or an admin."""

from __future__ import annotations

import dataclasses
from typing import Any

from workflow.audit.eventlog import Problem
from workflow.definition.model import VOIDED, Definition
from workflow.engine.attachments import ATTACH
from workflow.engine.void import VOID, voidable_states

ENGINE_EVENTS = (ATTACH, VOID)


def files(data: Any) -> list[dict[str, Any]]:
    """The file records of an event's data (an attach event's), well formed or not."""
    found = data.get("attachments") if isinstance(data, dict) else None
    return [f for f in found if isinstance(f, dict)] if isinstance(found, list) else []


def digests(data: Any) -> set[str]:
    """The blobs an event's data names as attachments."""
    return {f["sha256"] for f in files(data) if isinstance(f.get("sha256"), str) and f["sha256"]}


def named(problem: Problem, digest: str, data: Any) -> Problem:
    """A document problem about `digest`, said of the attachment it is (when it is one)."""
    record = next((f for f in files(data) if f.get("sha256") == digest), None)
    if record is None:
        return problem
    name = str(record.get("name", ""))
    if problem.kind == "document_missing":
        return dataclasses.replace(problem, kind="attachment_missing",
                                   message=f"the attachment {name} ({digest[:16]}) is missing from the database")
    return dataclasses.replace(problem, kind="attachment_altered", message=f"the stored bytes of the attachment "
                               f"{name} ({digest[:16]}) no longer match the sha256 its event recorded")


def replay_check(definition: Definition, state: Any, transition: str, from_state: Any, to_state: Any, actor: str,
                 roles: list[str]) -> str | None:
    """What the engine would have refused in an attach or void event, or None."""
    if from_state != state:
        return f"the event starts from {from_state!r} but the item was in {state!r}"
    if transition == VOID:
        if to_state != VOIDED:
            return f"a void event that leads to {to_state!r}, not {VOIDED!r}"
        if state not in voidable_states(definition):
            return f"voided in {state!r}: only an item in its initial or a returned state can be voided"
        return None if {"owner", "admin"} & set(roles) else f"{actor} voided it, neither its creator nor an admin"
    spec = definition.states.get(state)
    if to_state != state:
        return f"an attach event from {from_state!r} to {to_state!r}: it stays in {state!r}"
    if spec is None or spec.final:
        return f"files attached in {state!r}, where the item is closed"
    exits = [t for t in definition.exits(state) if not (t.automatic or t.outcome_of or t.timer)]
    if "owner" in roles or spec.countersign or any(not t.roles or set(t.roles) & set(roles) for t in exits):
        return None
    return f"{actor} attached files holding {roles}, none of the roles that act in {state!r}"
