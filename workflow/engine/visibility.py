"""Who may see an item marked with a 密级 (a definition's `confidential:` block): its creator,
the holders of the roles the block names (their own or delegated to them), and auditors. Others
do not find it in `list`, `worklist`, the ledger or a bulk selection, and `show`, `history` and
`docs` refuse it (`confidential`), without its title."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select

from workflow.definition.model import Definition
from workflow.engine import delegation, registry
from workflow.errors import Refused
from workflow.store.orm import Item

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement
    from sqlalchemy.orm import Session

    from workflow.engine.guards import Actor


def _roles(actor: Actor) -> set[str]:
    return set(actor.roles) | delegation.delegated_roles(actor)


def may_see(definition: Definition, actor: Actor, creator: str, fields: dict[str, Any]) -> bool:
    rule = definition.confidential
    return rule is None or creator == actor.login or rule.sees_all(_roles(actor)) or not rule.restricts(fields)


def check(definition: Definition, actor: Actor, item: Item) -> None:
    """Refused (confidential) unless the actor may see the item."""
    if not may_see(definition, actor, item.creator, item.fields or {}):
        rule = definition.confidential
        assert rule is not None
        raise Refused(f"{item.key} is marked {item.fields.get(rule.field)} (密级): shown only to its creator, "
                      f"{', '.join(rule.roles) or 'no role'} and auditors", reason="confidential", item=item.key)


def visible(session: Session, actor: Actor, hashes: Iterable[str] | None = None,
            now: dt.datetime | None = None) -> list[ColumnElement[bool]]:
    """SQL conditions that leave out the items the actor may not see (none when every item may be
    seen). `hashes`: the definition versions in use, when the caller has read them already; `now`:
    read the delegations to the actor in force then (only when some version declares a 密级),
    for an actor read without them."""
    if hashes is None:
        hashes = session.scalars(select(Item.definition_hash).distinct())
    rules = [(h, rule) for h in hashes if (rule := registry.pinned(session, h).confidential) is not None]
    if not rules:
        return []
    if now is not None:
        actor = delegation.with_grants(session, actor, now)
    sqlite = session.get_bind().dialect.name == "sqlite"
    roles = _roles(actor)
    conditions: list[ColumnElement[bool]] = []
    for definition_hash, rule in rules:
        if rule.sees_all(roles):
            continue
        level = Item.fields.op("->>")(f'$."{rule.field}"' if sqlite else rule.field)
        conditions.append(or_(Item.definition_hash != definition_hash, Item.creator == actor.login,
                              level.is_(None), level.not_in(rule.levels)))
    return conditions
