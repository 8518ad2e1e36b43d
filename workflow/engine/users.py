"""Users and their roles; resolving the acting user (--as, GONGWEN_USER, the OS login)."""

from __future__ import annotations

import dataclasses
import getpass
import os

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from workflow.engine.guards import Actor
from workflow.errors import BadInput, NotFound, Refused
from workflow.i18n import Msg
from workflow.identity.keys import Registered, Signer, parse_public_line
from workflow.store.grants import check_db_login
from workflow.store.orm import User, UserKey, UserRole


def acting_login(explicit: str | None) -> str:
    if explicit:
        return explicit
    if os.environ.get("GONGWEN_USER"):
        return os.environ["GONGWEN_USER"]
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


HELD = "gongwen_users"  # session.info: login -> LoadedUser, read by preload


@dataclasses.dataclass(frozen=True)
class LoadedUser:
    """A user as a unit of work reads them: the row, their roles and their active key's fingerprint
    (plain values from one Core statement: no ORM objects on a transition's path)."""
    login: str
    name: str
    title: str
    unit: str
    deactivated_event: int | None
    role_names: list[str]
    fingerprint: str | None  # the registered key not revoked (one at most)


_ACTIVE_KEY = (select(UserKey.fingerprint).where(UserKey.login == User.login, UserKey.revoked_event.is_(None))
               .limit(1).scalar_subquery())
_LOAD = (select(User.login, User.name, User.title, User.unit, User.deactivated_event, _ACTIVE_KEY, UserRole.role)
         .outerjoin(UserRole, UserRole.login == User.login)
         .where(User.login.in_(bindparam("logins", expanding=True))).order_by(User.login, UserRole.role))


def _load(session: Session, logins: list[str]) -> dict[str, LoadedUser]:
    """The users named, in one statement (a row per role)."""
    found: dict[str, LoadedUser] = {}
    for login, name, title, unit, deactivated, fingerprint, role in session.execute(_LOAD, {"logins": logins}):
        if login not in found:
            found[login] = LoadedUser(login, name, title, unit or "", deactivated, [], fingerprint)
        if role is not None:
            found[login].role_names.append(role)
    return found


def get_loaded(session: Session, login: str) -> LoadedUser | None:
    """A user the unit of work loaded (preload), else read now (and not kept: the session may
    change them)."""
    held = session.info.get(HELD)
    return held[login] if held and login in held else _load(session, [login]).get(login)


def actor(session: Session, login: str) -> Actor:
    user = get_loaded(session, login)
    if user is None:
        raise Refused(Msg("unknown user {login!r}: ask an admin to run `gongwen users add {login}`", login=login),
                      reason="unknown_user")
    return Actor(login=user.login, name=user.name, title=user.title, roles=user.role_names, unit=user.unit or "")


def require_admin(session: Session, login: str, allow_bootstrap: bool = False) -> None:
    """Only an admin manages users; while no admin exists (a fresh workspace), anyone may."""
    has_admin = session.scalars(select(UserRole).where(UserRole.role == "admin").limit(1)).first()
    if not has_admin and allow_bootstrap:
        return
    if "admin" not in actor(session, login).roles:
        raise Refused(Msg("{login} is not an admin: only an admin manages users", login=login), reason="role_missing")


def check_roles(roles: list[str], known_roles: set[str]) -> None:
    for role in roles:
        if role == "owner":
            raise BadInput("owner is a dynamic role (the item's creator); it cannot be granted")
        if role not in known_roles:
            raise BadInput(f"unknown role {role!r} (known: {', '.join(sorted(known_roles))})")


def get(session: Session, login: str) -> User:
    user = session.get(User, login)
    if user is None:
        raise NotFound(f"unknown user {login!r}")
    return user


def preload(session: Session, logins: set[str | None]) -> None:
    """The users named, with their roles and active key, into the session in one query (so
    that reading them later, by get_loaded, costs no statement)."""
    held = session.info.setdefault(HELD, {})
    wanted = sorted(login for login in logins if login and login not in held)
    if wanted:
        held.update(_load(session, wanted))


def all_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.login)))


def authenticate(session: Session, login: str, signer: Signer) -> Actor:
    """The acting user, proven: the key on this account must be the one registered for them (and,
    on PostgreSQL, a login mapped by `gongwen db grant` acts only as its own user)."""
    found = actor(session, login)
    check_db_login(session, login)
    user = get_loaded(session, login)  # loaded with its active key by preload
    require_active(user, login)
    registered = user.fingerprint if user is not None else None
    if registered != signer.fingerprint:
        why = (Msg("has no registered key") if registered is None else
               Msg("is registered with another key ({registered}); this account's is {mine}", registered=registered,
                   mine=signer.fingerprint))
        raise Refused(Msg("{login} {why}: ask an admin to run `gongwen users key {login} LINE` with the line "
                          "`gongwen key show --login {login}` prints", login=login, why=why),
                      reason="not_authenticated", login=login)
    return found


def require_active(user: User | LoadedUser | None, login: str) -> None:
    """A deactivated user (`gongwen users deactivate`) keeps their history and acts no more."""
    if user is not None and user.deactivated_event is not None:
        raise Refused(f"{login} is deactivated and can no longer act: an admin may run "
                      f"`gongwen users reactivate {login}`", reason="user_inactive", login=login)


def registered_keys(session: Session) -> Registered:
    """Every key ever registered, parsed once: fingerprint -> (login, raw public key)."""
    return {fp: (login, parse_public_line(line).raw) for fp, login, line in
            session.execute(select(UserKey.fingerprint, UserKey.login, UserKey.public_key))}


def authenticate_admin(session: Session, login: str, signer: Signer, refusal: Msg | None = None) -> Actor:
    """The acting admin, proven by their key (authenticate); Refused role_missing for anyone else."""
    admin = authenticate(session, login, signer)
    if "admin" not in admin.roles:
        raise Refused(refusal or Msg("{login} is not an admin: only an admin manages users", login=login),
                      reason="role_missing")
    return admin
