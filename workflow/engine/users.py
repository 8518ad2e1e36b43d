"""Users and their roles; resolving the acting user (--as, GONGWEN_USER, the OS login)."""

from __future__ import annotations

import getpass
import os

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.engine.guards import Actor
from workflow.errors import BadInput, NotFound, Refused
from workflow.store.orm import User, UserRole


def acting_login(explicit: str | None) -> str:
    if explicit:
        return explicit
    if os.environ.get("GONGWEN_USER"):
        return os.environ["GONGWEN_USER"]
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def actor(session: Session, login: str) -> Actor:
    user = session.get(User, login)
    if user is None:
        raise Refused(f"unknown user {login!r}: ask an admin to run `gongwen users add {login}`",
                      reason="unknown_user")
    return Actor(login=user.login, name=user.name, title=user.title, roles=user.role_names)


def require_admin(session: Session, login: str, allow_bootstrap: bool = False) -> None:
    """Only an admin manages users; while no admin exists (a fresh workspace), anyone may."""
    has_admin = session.scalars(select(UserRole).where(UserRole.role == "admin").limit(1)).first()
    if not has_admin and allow_bootstrap:
        return
    if "admin" not in actor(session, login).roles:
        raise Refused(f"{login} is not an admin: only an admin manages users", reason="role_missing")


def add(session: Session, login: str, name: str, title: str, roles: list[str], known_roles: set[str],
        when: str) -> User:
    if session.get(User, login) is not None:
        raise BadInput(f"user {login!r} already exists")
    check_roles(roles, known_roles)
    user = User(login=login, name=name or login, title=title or "", created_at=when)
    user.roles = [UserRole(role=r) for r in dict.fromkeys(roles)]
    session.add(user)
    return user


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


def grant(session: Session, login: str, roles: list[str], known_roles: set[str]) -> User:
    user = get(session, login)
    check_roles(roles, known_roles)
    for role in roles:
        if role not in user.role_names:
            user.roles.append(UserRole(role=role))
    return user


def revoke(session: Session, login: str, roles: list[str]) -> User:
    user = get(session, login)
    for role in roles:
        if role not in user.role_names:
            raise BadInput(f"{login} does not hold the role {role!r}")
    user.roles = [r for r in user.roles if r.role not in roles]
    return user


def all_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.login)))
