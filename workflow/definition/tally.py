"""Counting a 会签 round from an item's events: who countersigns (frozen when the item entered the
state), the opinions given since, who has yet to sign and whether the step is decided. Pure
functions of the events, so the engine, the documents and replay count the same way."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from workflow.definition.model import AGREE, COUNTERSIGN, DISAGREE, CountersignSpec, Definition


class EventLike(Protocol):
    seq: int
    transition: str
    from_state: str | None
    to_state: str
    actor: str
    comment: str
    time: str
    data: dict[str, Any]


def required(spec: CountersignSpec, count: int) -> int:
    """How many of `count` countersigners must agree."""
    if spec.quorum == "all":
        return count
    if spec.quorum == "majority":
        return count // 2 + 1 if count else 0
    return int(spec.quorum)


def quorum_text(spec: CountersignSpec, need: int, count: int) -> str:
    """全部同意 / 过半数同意（2/3） / 2/3同意"""
    if spec.quorum == "all":
        return "全部同意"
    if spec.quorum == "majority":
        return f"过半数同意（{need}/{count}）"
    return f"{need}/{count}同意"


@dataclass
class Round:
    """One 会签 round: from the event that moved the item into the state to now."""

    state: str
    entry_seq: int
    parties: list[dict[str, str]]  # {"id", "kind" (role | user), "title"}, in order
    need: int
    disagree: str
    opinions: list[dict[str, Any]] = field(default_factory=list)  # party, party_title, decision, actor, comment, time

    @property
    def signed(self) -> set[str]:
        return {o["party"] for o in self.opinions}

    @property
    def pending(self) -> list[dict[str, str]]:
        signed = self.signed
        return [p for p in self.parties if p["id"] not in signed]

    @property
    def agreed(self) -> int:
        return sum(1 for o in self.opinions if o["decision"] == AGREE)

    @property
    def disagreed(self) -> int:
        return sum(1 for o in self.opinions if o["decision"] == DISAGREE)

    @property
    def outcome(self) -> str | None:
        """agreed, vetoed, or None while it is open."""
        if self.disagree == "veto" and self.disagreed:
            return "vetoed"
        if self.agreed >= self.need:
            return "agreed"
        if self.agreed + len(self.pending) < self.need:
            return "vetoed"
        return None

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state, "parties": self.parties, "need": self.need, "disagree": self.disagree,
                "opinions": self.opinions, "pending": self.pending, "agreed": self.agreed,
                "disagreed": self.disagreed, "outcome": self.outcome}


def latest_round(definition: Definition, events: Iterable[EventLike], state: str | None = None) -> Round | None:
    """The latest 会签 round among `events` (in seq order), in `state` if given: started by the last
    event that entered a 会签 state with its parties recorded, with the opinions given after it."""
    found: Round | None = None
    for event in events:
        data = event.data if isinstance(event.data, dict) else {}
        entry = data.get("countersign")
        if event.transition == COUNTERSIGN:
            if found is not None and event.to_state == found.state and isinstance(entry, dict):
                found.opinions.append({"party": str(entry.get("party")), "party_title": str(entry.get("party_title")),
                                       "decision": str(entry.get("decision")), "actor": event.actor,
                                       "comment": event.comment or "", "time": event.time, "seq": event.seq})
            continue
        if event.from_state == event.to_state:
            continue  # a transition that stays (修改): the round goes on
        spec = _spec(definition, event.to_state)
        if (state is None or event.to_state == state) and spec is not None and isinstance(entry, dict):
            found = Round(state=event.to_state, entry_seq=event.seq, parties=list(entry.get("parties") or []),
                          need=int(entry.get("need") or 0), disagree=str(entry.get("disagree") or spec.disagree))
    return found


def open_round(definition: Definition, item_state: str, events: Iterable[EventLike]) -> Round | None:
    """The round the item is in now (None unless it is in a 会签 state)."""
    if _spec(definition, item_state) is None:
        return None
    found = latest_round(definition, events)
    return found if found is not None and found.state == item_state else None


def _spec(definition: Definition, state: str) -> CountersignSpec | None:
    found = definition.states.get(state)
    return found.countersign if found is not None else None
