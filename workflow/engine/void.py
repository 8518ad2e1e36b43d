"""作废 (void): an item that never left its drafter's hands (its initial state, or sent back to
them: a state a `return` transition leads to, or one called `returned`) is voided by its creator
or an admin. It moves to the engine-level state `voided` (已作废) through a signed event (transition
`void`, the reason as its comment); no transition leaves that state, it is on no worklist, and it
stays in the history and in `gongwen list`. Anything further along is refused (not_voidable): it
is withdrawn or revoked (撤回/撤销) through its own workflow, where one offers that."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflow import inputs
from workflow.definition.model import SYSTEM_USER, VOID, VOIDED, Definition, Transition
from workflow.engine import views
from workflow.errors import BadInput, Refused

if TYPE_CHECKING:
    from workflow.engine.engine import Engine

RETURNED, RETURN = "returned", "return"
UNDO_WORDS = ("revoke", "withdraw", "撤销", "撤回")  # the exits that undo an item through its workflow


def voidable_states(definition: Definition) -> set[str]:
    """Where an item may be voided: the initial state, a state named `returned`, and the state a
    transition `return` (退回) leads to."""
    found = {definition.initial}
    found |= {RETURNED} & set(definition.states)
    back = definition.transitions.get(RETURN)
    if back is not None and back.target:
        found.add(back.target)
    return found


def undo_exits(definition: Definition, state: str) -> list[Transition]:
    """The exits of `state` that withdraw or revoke the item (撤回, 撤销)."""
    return [t for t in definition.exits(state)
            if not t.automatic and any(w in t.id or w in t.title for w in UNDO_WORDS)]


def void(engine: Engine, login: str, key: str, reason: str, expected_version: int | None = None) -> views.ItemView:
    """`gongwen void ITEM -m REASON`, as `login` (proven by their key on this account)."""
    reason = inputs.check_text(reason or "", "the reason", multiline=True, limit=inputs.MAX_TEXT_BYTES).strip()
    if not reason:
        raise BadInput("voiding (作废) needs a reason: -m REASON", reason="reason_missing")
    if login == SYSTEM_USER:
        raise Refused(f"{SYSTEM_USER} (the system user) voids nothing", reason="role_missing")
    inputs.check_item_key(key)
    signer = engine._signer(login)  # before the lock: a missing key changes nothing
    now = engine.now()
    with engine.db.write() as session:
        item, definition, actor, _ = engine._open(session, key, login, None, signer, now, expected_version)
        where = f"{item.key} is in {item.state} ({definition.state_title(item.state)})"
        if item.state == VOIDED:
            raise Refused(f"{item.key} is already voided (已作废)", reason="item_closed", state=item.state)
        allowed = voidable_states(definition)
        if item.state not in allowed:
            undo = undo_exits(definition, item.state)
            hint = ("; undo it through its workflow: " + ", ".join(f"gongwen do {item.key} {t.id} ({t.title})"
                                                                  for t in undo)) if undo else ""
            titles = "、".join(f"{s} ({definition.state_title(s)})" for s in sorted(allowed))
            raise Refused(f"{where}: only an item in {titles} can be voided{hint}", reason="not_voidable",
                          state=item.state)
        if actor.login != item.creator and "admin" not in actor.roles:
            raise Refused(f"{actor.login} may not void {item.key}: only its creator ({item.creator}) or an admin",
                          reason="role_missing")
        from_state = item.state
        item.state = VOIDED
        item.updated_at, item.updated_by = now.isoformat(), actor.login
        item.revise()  # the new revision, which the event records
        engine._append_event(session, signer, item, definition, VOID, from_state, actor, reason, {}, {}, now)
        return engine._view(session, item, definition, actor, now)
