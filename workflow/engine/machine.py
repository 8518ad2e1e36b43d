"""One `transitions.Machine` per definition version (model=None, no auto transitions).

Guards are evaluated by guards.py before firing, so refusals carry typed reasons; the machine
then moves the loaded row's `state` through `Event.trigger` without add_model."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflow.definition.model import Definition
from workflow.errors import Refused
from workflow.i18n import Msg

if TYPE_CHECKING:
    from transitions import Machine

    from workflow.store.orm import Item

_machines: dict[str, Machine] = {}


def build(definition: Definition) -> Machine:
    from transitions import Machine

    machine = Machine(model=None, states=list(definition.states), initial=definition.initial,
                      auto_transitions=False, send_event=True)
    for tr in definition.transitions.values():
        for source in tr.sources:
            machine.add_transition(tr.id, source, tr.target)  # dest None: internal, stays
    return machine


def for_definition(definition: Definition) -> Machine:
    machine = _machines.get(definition.hash)
    if machine is None:
        machine = _machines[definition.hash] = build(definition)
    return machine


def fire(definition: Definition, row: Item, transition_id: str) -> None:
    """Move `row.state` along the transition; the caller has checked the guards."""
    from transitions import MachineError

    machine = for_definition(definition)
    try:
        machine.events[transition_id].trigger(row)
    except (MachineError, KeyError):
        raise Refused(Msg("{transition} is not an exit of {state}", transition=transition_id, state=row.state),
                      reason="not_an_exit") from None
