"""Explicit migration of running items to another version of their workflow's definition
(`gongwen migrate`). Items never move silently: each move is an event (`migrate`) in the item's
history, signed by the admin who made it, naming both versions and the state mapping; replay
follows it. A state the new version does not have needs a mapping (--map old=new), or the whole
migration is refused and nothing changes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from workflow.definition.model import MIGRATE, Definition
from workflow.engine import registry, users
from workflow.errors import BadInput, NotFound, Refused
from workflow.i18n import Msg
from workflow.identity.keyring import KeyRing
from workflow.store import chain
from workflow.store.orm import Event, Item

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from workflow.store.workspace import Workspace

TITLE = "迁移定义版本"


@dataclass(frozen=True)
class Moved:
    key: str
    from_version: str
    to_version: str
    from_state: str
    to_state: str

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "from_version": self.from_version, "to_version": self.to_version,
                "from": self.from_state, "to": self.to_state}


def parse_map(pairs: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise BadInput(f"--map {pair!r}: give OLD_STATE=NEW_STATE", reason="bad_value")
        found[old.strip()] = new.strip()
    return found


def _target(workspace: Workspace, session: Session, workflow_id: str, to: str) -> Definition:
    if to == "current":
        definition = registry.current(workspace, workflow_id)
        registry.store(session, definition, workspace.now().isoformat())
        return definition
    found = [v for v in registry.versions(session, workflow_id) if v.hash.startswith(to.lower())]
    if len(to) < 8 or len(found) != 1:
        known = ", ".join(v.hash[:12] for v in registry.versions(session, workflow_id)) or "none"
        raise NotFound(f"no version {to!r} of {workflow_id} (give `current` or 8 or more hex digits of one of: "
                       f"{known})")
    return registry.pinned(session, found[0].hash)


def migrate(workspace: Workspace, admin_login: str, workflow_id: str, to: str = "current",
            keys: Sequence[str] = (), mapping: Mapping[str, str] | None = None, dry_run: bool = False,
            keyring: KeyRing | None = None) -> list[Moved]:
    """Move the running items of `workflow_id` (or those named by `keys`) to version `to`, as the
    admin `admin_login`; all or none."""
    mapping = dict(mapping or {})
    signer = (keyring or KeyRing(workspace.root)).signer(admin_login)
    now = workspace.now()
    with workspace.db.write() as session:
        admin = users.authenticate_admin(session, admin_login, signer, Msg(
            "{login} is not an admin: only an admin migrates items", login=admin_login))
        target = _target(workspace, session, workflow_id, to)
        for source, new in mapping.items():
            if new not in target.states:
                raise BadInput(f"--map {source}={new}: version {target.hash[:12]} has no state {new!r}",
                               reason="bad_value")
        stmt = select(Item).where(Item.workflow_id == workflow_id).order_by(Item.id)
        if keys:
            stmt = stmt.where(Item.key.in_(list(keys)))
        found = list(session.scalars(stmt))
        missing = sorted(set(keys) - {i.key for i in found})
        if missing:
            raise NotFound(f"no item {missing[0]!r} of {workflow_id}")
        moves: list[tuple[Item, Definition, str]] = []
        for item in found:
            old = registry.pinned(session, item.definition_hash)
            if item.definition_hash == target.hash or item.state not in old.states or old.states[item.state].final:
                continue  # already there, or done with: finished items keep the version they ended under
            state = mapping.get(item.state, item.state)
            if state not in target.states:
                raise Refused(f"{item.key} is in {item.state!r}, which version {target.hash[:12]} does not have: "
                              f"give --map {item.state}=STATE", reason="state_unmapped", item=item.key)
            moves.append((item, old, state))
        moved = [Moved(i.key, i.definition_hash, target.hash, i.state, s) for i, _, s in moves]
        if dry_run:
            session.rollback()
            return moved
        for item, old, state in moves:
            _record(session, signer, admin.login, admin.roles_on(item.creator), item, old, target, state,
                    mapping, now.isoformat())
    return moved


def _record(session: Session, signer: Any, login: str, roles: list[str], item: Item, old: Definition,
            target: Definition, state: str, mapping: Mapping[str, str], when: str) -> None:
    from_state = item.state
    item.definition_hash, item.state, item.updated_at, item.updated_by = target.hash, state, when, login
    item.revise()  # the new revision
    data = {"migration": {"from": old.hash, "to": target.hash, "map": {k: v for k, v in mapping.items()
                                                                        if k == from_state}},
            "version": item.version, "title": item.title}
    event = Event(item_id=item.id, item_key=item.key, seq=0, transition=MIGRATE, from_state=from_state,
                  to_state=state, actor=login, actor_roles=roles,
                  comment=f"{TITLE}：{old.hash[:12]} → {target.hash[:12]}", changes={}, data=data, time=when,
                  definition_hash=target.hash)
    chain.append(session, event, signer)
