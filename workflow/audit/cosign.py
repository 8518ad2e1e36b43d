"""Replaying 会签: each opinion against the round the item is in (a countersigner the entering
event named, yet to sign, signing with a role or login that may sign for it), and each outcome
transition against the round's count (agreed only once the quorum agreed, vetoed only once it
could not)."""

from __future__ import annotations

import json
from typing import Any

from workflow.definition import tally
from workflow.definition.model import AGREE, DISAGREE, Definition


def _data(text: Any) -> dict[str, Any]:
    try:
        found = json.loads(text) if isinstance(text, (str, bytes)) else text
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def entry_principal(data_text: Any) -> str | None:
    """The principal of a delegation (委托) the event was signed under, if any."""
    found = _data(data_text).get("delegation")
    return str(found.get("principal")) if isinstance(found, dict) and found.get("principal") else None


def opinion(definition: Definition, track: dict[str, Any], from_state: str | None, to_state: str, actor: str,
            roles: list[str], data_text: Any) -> str | None:
    """A countersign event: what the round would have refused, or None (the opinion is counted)."""
    round_: tally.Round | None = track.get("countersign")
    if round_ is None or track["state"] != round_.state or from_state != round_.state or to_state != round_.state:
        return f"a 会签 opinion while the item was in {track['state']!r}, where no 会签 was open"
    entry = _data(data_text).get("countersign")
    entry = entry if isinstance(entry, dict) else {}
    party = next((p for p in round_.parties if p.get("id") == entry.get("party")), None)
    if party is None:
        return f"a 会签 opinion for {entry.get('party')!r}, who was not asked to countersign"
    if party["id"] in round_.signed:
        return f"a second 会签 opinion for {party['title']}"
    behalf = entry_principal(data_text)
    allowed = (party["id"] in (actor, behalf)) if party.get("kind") == "user" else party["id"] in roles
    if not allowed:
        return f"{actor} gave the 会签 opinion of {party['title']} without holding it"
    if entry.get("decision") not in (AGREE, DISAGREE):
        return f"a 会签 opinion that is neither 同意 nor 不同意: {entry.get('decision')!r}"
    round_.opinions.append({"party": party["id"], "party_title": party.get("title"), "decision": entry["decision"],
                            "actor": actor, "comment": "", "time": "", "seq": 0})
    return None


def step(definition: Definition, track: dict[str, Any], transition: str, from_state: str | None, to_state: str,
         data_text: Any, seq: int) -> str | None:
    """Any other event: an outcome must match the round's count; entering a 会签 state opens a
    round with the countersigners the event records."""
    tr = definition.transitions.get(transition)
    if from_state == to_state and (tr is None or not tr.outcome_of):
        return None  # most events of a 会签 definition: no outcome, no state entered
    round_: tally.Round | None = track.get("countersign")
    problem = None
    if tr is not None and tr.outcome_of:
        if round_ is None or round_.state != from_state:
            problem = f"{transition} decides a 会签 that was not open"
        else:
            spec = definition.states[round_.state].countersign
            expected = {"agreed": spec.agreed, "vetoed": spec.vetoed}.get(round_.outcome or "") if spec else None
            if expected != transition:
                problem = (f"{transition} fired with {round_.agreed} agreed and {round_.disagreed} disagreed of "
                           f"{len(round_.parties)}, which does not decide it so")
    if from_state != to_state:
        track["countersign"] = None
        state = definition.states.get(to_state)
        if state is not None and state.countersign is not None:
            entry = _data(data_text).get("countersign")
            if not isinstance(entry, dict):
                return problem or f"entered the 会签 state {to_state!r} without naming its countersigners"
            track["countersign"] = tally.Round(state=to_state, entry_seq=seq, parties=list(entry.get("parties") or []),
                                               need=int(entry.get("need") or 0),
                                               disagree=str(entry.get("disagree") or state.countersign.disagree))
    return problem
