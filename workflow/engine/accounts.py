"""Users, roles and keys as events in the hash chain.

Every change to who may act is an event on the `@users` stream (item_id NULL), signed by the
admin who made it, in the same chain as the items' events: user_add, role_grant, role_revoke,
key_add and key_revoke. The users, user_roles and user_keys tables are their projection, written
in the same transaction; `audit verify` folds the events and compares.

The very first event of a workspace is the bootstrap: the first admin adds themself with their
own key, and that event is signed by the key it registers. A user holds at most one active key:
registering another revokes the one before in the same event."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import inputs
from workflow.definition.model import SYSTEM_USER
from workflow.engine import users
from workflow.engine.guards import Actor
from workflow.errors import BadInput, Refused
from workflow.identity.keyring import KeyRing, check_login
from workflow.identity.keys import PublicKey, Signer, parse_public_line
from workflow.store import chain
from workflow.store.orm import Event, User, UserKey, UserRole

if TYPE_CHECKING:
    from workflow.engine.views import UserView
    from workflow.store.workspace import Workspace

USERS_STREAM = "@users"
KINDS = ("user_add", "role_grant", "role_revoke", "key_add", "key_revoke", "user_deactivate", "user_reactivate")


def _event(session: Session, actor: Actor, signer: Signer, kind: str, login: str, data: dict[str, Any],
           changes: dict[str, Any], now: dt.datetime) -> Event:
    event = Event(item_id=None, item_key=USERS_STREAM, seq=0, transition=kind, from_state=None, to_state=login,
                  actor=actor.login, actor_roles=list(actor.roles), comment="", changes=changes,
                  data={"login": login, **data}, time=now.isoformat(), definition_hash="")
    return chain.append(session, event, signer)


def _register(session: Session, login: str, key: PublicKey, event_id: int) -> None:
    taken = session.get(UserKey, key.fingerprint)
    if taken is not None:
        raise BadInput(f"this key ({key.fingerprint}) is already registered for {taken.login}", reason="key_taken")
    session.add(UserKey(fingerprint=key.fingerprint, login=login, algorithm=key.algorithm, public_key=key.line,
                        added_event=event_id, revoked_event=None))


def no_keys_yet(session: Session) -> bool:
    """True in a workspace upgraded from before signed events, until its first key is registered."""
    return session.scalars(select(UserKey.fingerprint).limit(1)).first() is None


def active_key(session: Session, login: str) -> UserKey | None:
    return session.scalars(select(UserKey).where(UserKey.login == login, UserKey.revoked_event.is_(None))).first()


def bootstrap(session: Session, signer: Signer, login: str, name: str, title: str, now: dt.datetime) -> User:
    """The first admin of an empty workspace, with the key that signs this very event."""
    check_login(login)
    if session.scalars(select(User.login).limit(1)).first() is not None:
        raise Refused("this workspace already has users: an admin adds more with `gongwen users add`",
                      reason="role_missing")
    user = User(login=login, name=name or login, title=title or "", created_at=now.isoformat())
    user.roles = [UserRole(role="admin")]
    session.add(user)
    session.flush()
    actor = Actor(login=login, name=user.name, title=user.title, roles=["admin"])
    event = _event(session, actor, signer, "user_add", login,
                   {"name": user.name, "title": user.title, "roles": ["admin"], "key": signer.public.line,
                    "fingerprint": signer.fingerprint}, {}, now)
    _register(session, login, signer.public, event.id)
    return user


def add_user(session: Session, admin: Actor, signer: Signer, login: str, name: str, title: str,
             roles: list[str], known_roles: set[str], key_line: str | None, now: dt.datetime,
             unit: str = "") -> User:
    check_login(login)
    if session.get(User, login) is not None:
        raise BadInput(f"user {login!r} already exists")
    users.check_roles(roles, known_roles)
    key = parse_public_line(key_line) if key_line else None
    granted = list(dict.fromkeys(roles))
    user = User(login=login, name=name or login, title=title or "", unit=unit, created_at=now.isoformat())
    user.roles = [UserRole(role=r) for r in granted]
    session.add(user)
    session.flush()
    data: dict[str, Any] = {"name": user.name, "title": user.title, "roles": granted}
    if unit:  # recorded only when given: the events of users without one keep their shape
        data["unit"] = unit
    if key is not None:
        data.update(key=key.line, fingerprint=key.fingerprint)
    event = _event(session, admin, signer, "user_add", login, data, {}, now)
    if key is not None:
        _register(session, login, key, event.id)
    return user


def change_roles(session: Session, admin: Actor, signer: Signer, login: str, roles: list[str], grant: bool,
                 known_roles: set[str], now: dt.datetime) -> User:
    user = users.get(session, login)
    before = list(user.role_names)
    if grant:
        users.check_roles(roles, known_roles)
        after = before + [r for r in dict.fromkeys(roles) if r not in before]
    else:
        missing = [r for r in roles if r not in before]
        if missing:
            raise BadInput(f"{login} does not hold the role {missing[0]!r}")
        after = [r for r in before if r not in roles]
    if after == before:
        return user  # nothing to record
    user.roles = [r for r in user.roles if r.role in after] + [UserRole(role=r) for r in after if r not in before]
    session.flush()
    _event(session, admin, signer, "role_grant" if grant else "role_revoke", login,
           {"roles": sorted(set(after) ^ set(before))}, {"roles": [sorted(before), sorted(after)]}, now)
    return user


def register_key(session: Session, admin: Actor, signer: Signer, login: str, key_line: str,
                 now: dt.datetime) -> UserKey:
    users.get(session, login)
    key = parse_public_line(key_line)
    previous = active_key(session, login)
    data: dict[str, Any] = {"key": key.line, "fingerprint": key.fingerprint}
    if previous is not None:
        data["replaces"] = previous.fingerprint
    event = _event(session, admin, signer, "key_add", login, data, {}, now)
    if previous is not None:
        previous.revoked_event = event.id
    _register(session, login, key, event.id)
    session.flush()
    return session.get(UserKey, key.fingerprint)  # type: ignore[return-value]


def revoke_key(session: Session, admin: Actor, signer: Signer, login: str, now: dt.datetime) -> UserKey:
    users.get(session, login)
    previous = active_key(session, login)
    if previous is None:
        raise BadInput(f"{login} has no registered key to revoke")
    event = _event(session, admin, signer, "key_revoke", login, {"fingerprint": previous.fingerprint}, {}, now)
    previous.revoked_event = event.id
    session.flush()
    return previous


def set_active(session: Session, admin: Actor, signer: Signer, login: str, active: bool, reason: str,
               now: dt.datetime) -> User:
    """Deactivate (or reactivate) `login`: a user_deactivate (user_reactivate) event, and the
    users row's deactivated_event. A deactivated user keeps their history, roles and key, and is
    refused every write (users.authenticate: user_inactive)."""
    user = users.get(session, login)
    if login == SYSTEM_USER:
        raise BadInput(f"{SYSTEM_USER} (the system user of gongwen tick) cannot be deactivated", reason="bad_user")
    if not active and login == admin.login:
        raise Refused(f"{login}: an admin cannot deactivate themself; another admin can",
                      reason="self_deactivation")
    if (user.deactivated_event is None) == active:
        raise Refused(f"{login} is already {'active' if active else 'deactivated'}",
                      reason="already_active" if active else "already_inactive")
    event = _event(session, admin, signer, "user_reactivate" if active else "user_deactivate", login,
                   {"reason": reason} if reason else {}, {"active": [not active, active]}, now)
    user.deactivated_event = None if active else event.id
    session.flush()
    return user


def deactivate(workspace: Workspace, admin_login: str, login: str, reason: str = "", keys: KeyRing | None = None,
               active: bool = False) -> UserView:
    """`gongwen users deactivate LOGIN [-m REASON]` (`reactivate` with active=True), as the admin
    `admin_login`, whose key on this account signs the event."""
    from workflow.engine.views import user_view

    reason = inputs.check_text((reason or "").strip(), "the reason", multiline=False, limit=1000)
    signer = (keys or KeyRing(workspace.root)).signer(admin_login)
    now = workspace.now()
    with workspace.db.write() as session:
        admin = users.authenticate_admin(session, admin_login, signer)
        user = set_active(session, admin, signer, login, active, reason, now)
        return user_view(user, active_key(session, login))
