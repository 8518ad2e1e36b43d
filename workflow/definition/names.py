"""Names as a clerk types them: an id (`approve`) or the definitions' Chinese title (`签发`).

Resolution is the same for workflows, states and transitions: the exact id first, then the exact
title. A title that names more than one thing is refused (ambiguous_name, exit 4) with one line
listing the candidates and their ids; a name that is neither is the caller's to refuse (it knows
what to list). Pure functions over Definition objects (engine/names.py loads them)."""

from __future__ import annotations

from collections.abc import Iterable

from workflow.definition.model import ID_PATTERN, Definition, Transition
from workflow.errors import BadInput
from workflow.i18n import Msg, Named

StatePair = tuple[str, str]  # (workflow id, state id)


def looks_like_id(name: str) -> bool:
    """Whether `name` can only be an id (ids are lower-case ASCII; a Chinese title never is)."""
    return ID_PATTERN.fullmatch(name) is not None


def ambiguous(kind: str, name: str, candidates: Iterable[Named]) -> BadInput:
    """The refusal of a title that names several things: `kind` says of what (workflow, state,
    transition); the candidates are listed with their ids."""
    found = sorted(set(candidates))
    return BadInput(Msg("{kind} name {name!r} is ambiguous: it may mean {candidates}; give the id",
                        kind=kind, name=name, candidates=Named.listing(found)), reason="ambiguous_name", name=name,
                    candidates=[str(c) for c in found])


def by_hand(tr: Transition) -> bool:
    """A transition a user fires (not an automatic, timer or 会签-outcome one)."""
    return not (tr.automatic or tr.timer or tr.outcome_of)


def transition(definition: Definition, name: str, state: str | None = None) -> str | None:
    """The id of the transition `name` names in `definition`, or None if none does. Of several
    fired by hand with that title, those leaving `state` (the item's state) are meant."""
    if name in definition.transitions:
        return name
    found = [t for t in definition.transitions.values() if t.title == name and by_hand(t)]
    if len(found) > 1 and state is not None:
        leaving = [t for t in found if state in t.sources]
        found = leaving or found
    if len(found) > 1:
        raise ambiguous("transition", name, (Named.of(t.id, t.title) for t in found))
    return found[0].id if found else None


def workflow(titles: dict[str, str], name: str) -> str | None:
    """The id of the workflow `name` names among `titles` (id -> title), or None."""
    if name in titles:
        return name
    found = sorted(i for i, title in titles.items() if title == name)
    if len(found) > 1:
        raise ambiguous("workflow", name, (Named.of(i, titles[i]) for i in found))
    return found[0] if found else None


def states(definitions: Iterable[Definition], name: str) -> set[StatePair]:
    """Every (workflow, state) that `name` names, as an id or as a title, in these definitions
    (several versions of a workflow may be given: a state keeps its id, its title may change)."""
    found: set[StatePair] = set()
    for definition in definitions:
        found |= {(definition.id, s) for s, st in definition.states.items() if name in (s, st.title)}
    if any(s == name for _, s in found):  # the exact id first
        found = {(w, s) for w, s in found if s == name}
    return found


def state_filter(definitions: Iterable[Definition], name: str, workflow_id: str | None
                 ) -> tuple[str | None, str] | None:
    """(workflow, state): the filter that selects exactly the items in a state named `name` (of
    `workflow_id`, if given; else of the one workflow that has such a state, if only one has).
    None if no state is so named. Refused (ambiguous_name) when the title names states with
    different ids, or names one id in several workflows while others use that id under other
    titles: a filter on the state id alone would then list items in states of other names."""
    pool = [d for d in definitions if workflow_id is None or d.id == workflow_id]
    found = states(pool, name)
    if not found:
        return None
    titles = {(d.id, s): d.states[s].title for d in pool for s in d.states}
    candidate = lambda pair: Named(f"{pair[0]}.{pair[1]} ({titles[pair]})", f"{titles[pair]}（{pair[0]}.{pair[1]}）")
    if len({s for _, s in found}) > 1:
        raise ambiguous("state", name, map(candidate, found))
    workflows = {w for w, _ in found}
    state = next(iter(found))[1]
    if len(workflows) == 1:
        return next(iter(workflows)), state
    others = {pair for pair, title in titles.items() if pair[1] == state and pair[0] not in workflows}
    if others:  # several workflows, and the id means something else in another one
        raise ambiguous("state", name, map(candidate, found | others))
    return workflow_id, state


def state_names(definitions: Iterable[Definition], workflow_id: str | None = None) -> Named:
    """The states one may name (of `workflow_id`, if given), for the refusal of an unknown one."""
    return Named.listing(sorted({Named.of(s, st.title) for d in definitions if workflow_id in (None, d.id)
                              for s, st in d.states.items()}))
