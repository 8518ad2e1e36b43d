"""Delegation (委托/代办): a user (the principal) hands some or all of their workflow roles to another
user (the delegate) for a period, as the 局长 on leave hands 签发 to the 副局长.

Giving and ending a delegation are events of the @users stream (`delegate`, `delegation_end`),
signed by whoever made them: the principal themself or an admin gives one; the principal, the
delegate or an admin ends it early. The `delegations` table is their projection; `audit verify`
folds the events and compares (audit/delegations.py).

A delegation is in force from its first day to its last (ISO dates, both included, on the
workspace's clock) unless an event ended it. It confers the roles it names that the principal
still holds: a role revoked from the principal is no longer the delegate's either. When the
delegate fires a transition whose roles they lack and a delegation in force covers one of them,
they act on behalf of the principal: the event's actor is the delegate (signed with their own
key), its `actor_roles` are the delegate's roles and the delegated roles used, and its data
records `{"delegation": {"id": D, "principal": Y, "roles": [...]}}`. Separation of duties holds
for both: neither the delegate nor the principal may do a step that must be distinct from one
they did, and the principal counts as an actor of the step done on their behalf."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import inputs
from workflow.engine import users
from workflow.engine.guards import Actor
from workflow.errors import BadInput, NotFound, Refused
from workflow.identity.keyring import KeyRing
from workflow.identity.keys import Signer
from workflow.store import chain
from workflow.store.orm import Delegation, Event, UserRole

if TYPE_CHECKING:
    from workflow.definition.model import Transition
    from workflow.store.workspace import Workspace

KINDS = ("delegate", "delegation_end")
USERS_STREAM = "@users"
NOT_DELEGABLE = ("admin", "owner")  # managing users is not delegated; owner is the item's creator
_DAY = re.compile(r"^(\d{4})(?:-(\d{1,2})-(\d{1,2})|/(\d{1,2})/(\d{1,2})|年(\d{1,2})月(\d{1,2})日)$")


@dataclass(frozen=True)
class Grant:
    """A delegation in force to the acting user: whose, and the roles it confers now."""

    id: int
    principal: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class DelegationView:
    id: int
    principal: str
    delegate: str
    roles: tuple[str, ...]
    starts: str
    ends: str
    reason: str
    given_event: int | None
    ended_event: int | None
    in_force: bool

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "principal": self.principal, "delegate": self.delegate, "roles": list(self.roles),
                "from": self.starts, "until": self.ends, "reason": self.reason, "given_event": self.given_event,
                "ended_event": self.ended_event, "in_force": self.in_force}


def parse_day(text: str, option: str) -> dt.date:
    """A date as `2025-03-10`, `2025/3/10` or `2025年3月10日`."""
    match = _DAY.match(str(text).strip())
    try:
        if match is None:
            raise ValueError
        year, *rest = match.groups()
        month, day = [int(v) for v in rest if v is not None]
        return dt.date(int(year), month, day)
    except ValueError:
        raise BadInput(f"{option} {text!r} is not a date (e.g. 2025-03-10)", reason="bad_value") from None


# -- acting under a delegation -----------------------------------------------------------------
def in_force(session: Session, login: str, today: dt.date) -> tuple[Grant, ...]:
    """The delegations to `login` in force on `today`, each with the roles its principal still holds."""
    day = today.isoformat()
    rows = session.scalars(select(Delegation).where(
        Delegation.delegate == login, Delegation.ended_event.is_(None), Delegation.starts <= day,
        Delegation.ends >= day).order_by(Delegation.id)).all()
    grants = []
    for row in rows:
        held = set(session.scalars(select(UserRole.role).where(UserRole.login == row.principal)))
        roles = tuple(r for r in row.roles if r in held and r not in NOT_DELEGABLE)
        if roles:
            grants.append(Grant(row.id, row.principal, roles))
    return tuple(grants)


def any_in_force() -> Any:
    """Whether a delegation to the bound `login` is in force on the bound `day` (ISO), as EXISTS."""
    from sqlalchemy import bindparam

    day: Any = bindparam("day")
    return select(Delegation.id).where(Delegation.delegate == bindparam("login"), Delegation.ended_event.is_(None),
                                       Delegation.starts <= day, Delegation.ends >= day).exists()


def with_grants(session: Session, actor: Actor, now: dt.datetime) -> Actor:
    """The actor with the delegations to them in force now (not yet acting under any)."""
    return dataclasses.replace(actor, delegations=in_force(session, actor.login, now.date()))


def acting(tr: Transition, actor: Actor, creator: str) -> Actor:
    """Who fires `tr`: the actor themself when they hold one of its roles (or it names none);
    else, under the first delegation in force that covers one, the actor on behalf of its principal."""
    if not tr.roles or set(tr.roles) & set(actor.roles_on(creator)):
        return actor
    for grant in actor.delegations:
        used = [r for r in grant.roles if r in tr.roles]
        if used:
            return dataclasses.replace(actor, roles=actor.roles + [r for r in grant.roles if r not in actor.roles],
                                       on_behalf_of=grant.principal, delegation=grant.id)
    return actor


def delegated_roles(actor: Actor) -> set[str]:
    """Every role the delegations in force give the actor (what their worklists show)."""
    return {role for grant in actor.delegations for role in grant.roles}


def event_data(actor: Actor) -> dict[str, Any]:
    """What an event fired under a delegation records of it."""
    if actor.on_behalf_of is None:
        return {}
    grant = next(g for g in actor.delegations if g.id == actor.delegation)
    return {"delegation": {"id": actor.delegation, "principal": actor.on_behalf_of, "roles": list(grant.roles)}}


def principal_of(data: Any) -> str | None:
    """The principal an item event was done on behalf of, if any."""
    found = data.get("delegation") if isinstance(data, dict) else None
    return str(found["principal"]) if isinstance(found, dict) and found.get("principal") else None


# -- giving and ending ----------------------------------------------------------------------------
def _event(session: Session, actor: Actor, signer: Signer, kind: str, principal: str, data: dict[str, Any],
           now: dt.datetime) -> Event:
    event = Event(item_id=None, item_key=USERS_STREAM, seq=0, transition=kind, from_state=None, to_state=principal,
                  actor=actor.login, actor_roles=list(actor.roles), comment="", changes={},
                  data={"login": principal, **data}, time=now.isoformat(), definition_hash="")
    return chain.append(session, event, signer)


def give(session: Session, actor: Actor, signer: Signer, principal: str, delegate: str, roles: Sequence[str],
         starts: dt.date, ends: dt.date, reason: str, now: dt.datetime) -> Delegation:
    """A delegation from `principal` to `delegate`, given by the principal or an admin (`actor`).
    No roles: every workflow role the principal holds now."""
    held = users.get(session, principal).role_names
    users.get(session, delegate)
    if actor.login != principal and "admin" not in actor.roles:
        raise Refused(f"{actor.login} may not delegate {principal}'s roles: only {principal} or an admin",
                      reason="role_missing")
    if principal == delegate:
        raise BadInput(f"{principal} cannot delegate to themself", reason="bad_delegation")
    for role in roles:
        if role in NOT_DELEGABLE:
            raise BadInput(f"the role {role!r} cannot be delegated", reason="bad_delegation")
        if role not in held:
            raise BadInput(f"{principal} does not hold the role {role!r} to delegate it", reason="bad_delegation")
    chosen = list(dict.fromkeys(roles)) or [r for r in held if r not in NOT_DELEGABLE]
    if not chosen:
        raise BadInput(f"{principal} holds no workflow role to delegate", reason="bad_delegation")
    if ends < now.date():
        raise BadInput(f"the delegation would end in the past ({ends}; today is {now.date()})",
                       reason="bad_delegation")
    if starts < now.date():
        raise BadInput(f"the delegation would start in the past ({starts}; today is {now.date()})",
                       reason="bad_delegation")
    if ends < starts:
        raise BadInput(f"the delegation would end ({ends}) before it starts ({starts})", reason="bad_delegation")
    row = Delegation(principal=principal, delegate=delegate, roles=chosen, starts=starts.isoformat(),
                     ends=ends.isoformat(), reason=reason, given_event=None, ended_event=None)
    session.add(row)
    session.flush()
    event = _event(session, actor, signer, "delegate", principal,
                   {"id": row.id, "delegate": delegate, "roles": chosen, "from": row.starts, "until": row.ends,
                    "reason": reason}, now)
    row.given_event = event.id
    session.flush()
    return row


def end(session: Session, actor: Actor, signer: Signer, delegation_id: int, reason: str,
        now: dt.datetime) -> Delegation:
    """End a delegation before its last day: by its principal, its delegate or an admin."""
    row = session.get(Delegation, delegation_id) if 0 < delegation_id < 1 << 31 else None
    if row is None:
        raise NotFound(f"no delegation #{delegation_id}")
    if actor.login not in (row.principal, row.delegate) and "admin" not in actor.roles:
        raise Refused(f"{actor.login} may not end delegation #{row.id}: only {row.principal}, {row.delegate} "
                      "or an admin", reason="role_missing")
    if row.ended_event is not None:
        raise BadInput(f"delegation #{row.id} was already ended (event {row.ended_event})", reason="bad_delegation")
    if row.ends < now.date().isoformat():
        raise BadInput(f"delegation #{row.id} already ran out on {row.ends}", reason="bad_delegation")
    event = _event(session, actor, signer, "delegation_end", row.principal,
                   {"id": row.id, "delegate": row.delegate, "reason": reason}, now)
    row.ended_event = event.id
    session.flush()
    return row


def view(row: Delegation, today: dt.date) -> DelegationView:
    day = today.isoformat()
    return DelegationView(row.id, row.principal, row.delegate, tuple(row.roles), row.starts, row.ends, row.reason,
                          row.given_event, row.ended_event,
                          row.ended_event is None and row.starts <= day <= row.ends)


# -- the commands' entry points -----------------------------------------------------------------
def delegate(workspace: Workspace, login: str, principal: str, delegate_to: str, roles: Sequence[str],
             until: str, start: str | None, reason: str, keys: KeyRing | None = None) -> DelegationView:
    """`gongwen users delegate`: as `login`, whose key on this account signs the event."""
    now = workspace.now()
    starts = parse_day(start, "--from") if start else now.date()
    ends = parse_day(until, "--until")
    inputs.check_text(reason, "the reason", multiline=False, limit=1000)
    if not reason.strip():
        raise BadInput("a delegation needs its reason: -m REASON", reason="bad_delegation")
    signer = (keys or KeyRing(workspace.root)).signer(login)
    with workspace.db.write() as session:
        actor = users.authenticate(session, login, signer)
        row = give(session, actor, signer, principal, delegate_to, roles, starts, ends, reason.strip(), now)
        return view(row, now.date())


def undelegate(workspace: Workspace, login: str, delegation_id: int, reason: str = "",
               keys: KeyRing | None = None) -> DelegationView:
    """`gongwen users undelegate`: end a delegation now."""
    now = workspace.now()
    inputs.check_text(reason, "the reason", multiline=False, limit=1000)
    signer = (keys or KeyRing(workspace.root)).signer(login)
    with workspace.db.write() as session:
        actor = users.authenticate(session, login, signer)
        row = end(session, actor, signer, delegation_id, reason.strip(), now)
        return view(row, now.date())


def listing(workspace: Workspace, login: str, everything: bool = False) -> list[DelegationView]:
    """The delegations in force today (every one, `everything`), oldest first."""
    today = workspace.now().date()
    with workspace.db.read() as session:
        users.actor(session, login)
        rows = [view(row, today) for row in session.scalars(select(Delegation).order_by(Delegation.id))]
    return rows if everything else [row for row in rows if row.in_force]
