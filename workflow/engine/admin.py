"""Workspace administration behind the CLI: users, definition files, input files."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workflow import inputs
from workflow.definition.loader import load_file
from workflow.definition.model import BUILTIN_ROLES, Definition
from workflow.engine import accounts, registry, users
from workflow.engine.views import UserView, user_view
from workflow.errors import BadInput, DefinitionError, NotFound, Refused
from workflow.i18n import Msg
from workflow.identity.keyring import KeyRing
from workflow.identity.keys import parse_public_line
from workflow.store.workspace import Workspace, shipped_dir


def known_roles(workspace: Workspace) -> set[str]:
    roles = set(BUILTIN_ROLES) - {"owner"}
    for definition in registry.load_all(workspace.definitions_dir, None).values():
        roles |= set(definition.roles)
    return roles


def bootstrap_admin(workspace: Workspace, login: str, keys: KeyRing | None = None, demo: bool = False) -> str:
    """The first admin of a new workspace, with a key made now if this account holds none for
    them (a demo key inside a demo workspace). Returns the admin's public key line."""
    keys = keys or KeyRing(workspace.root)
    if keys.path(login) is None:
        keys.create(login, os.environ.get("GONGWEN_PASSPHRASE") or None, demo=demo)
    signer = keys.signer(login)
    with workspace.db.write() as session:
        accounts.bootstrap(session, signer, login, login, "", workspace.now())
    return signer.public.line


def manage_users(workspace: Workspace, admin_login: str, action: str, login: str, roles: Sequence[str] = (),
                 name: str = "", title: str = "", key_line: str | None = None,
                 keys: KeyRing | None = None, unit: str = "") -> UserView:
    """add, grant, revoke, key (register a key) or revoke-key, as the admin `admin_login`,
    whose key on this account signs the event."""
    roles_known = known_roles(workspace)
    for label, text in (("name", name), ("title", title), ("unit", unit)):  # one line each, as a form prints them
        inputs.check_text(text, f"the user's {label}", multiline=False, limit=1000)
    now = workspace.now()
    signer = (keys or KeyRing(workspace.root)).signer(admin_login)
    with workspace.db.write() as session:
        if action == "key" and login == admin_login and accounts.no_keys_yet(session):
            # an upgraded workspace: its first key is an admin's own, registered by itself
            admin = users.actor(session, admin_login)
            if key_line is None or parse_public_line(key_line).fingerprint != signer.fingerprint:
                raise BadInput("the first key of an upgraded workspace is an admin's own: give the line "
                               f"`gongwen key show --login {admin_login}` prints", reason="bad_key")
        else:
            admin = users.authenticate(session, admin_login, signer)
        if "admin" not in admin.roles:
            raise Refused(Msg("{login} is not an admin: only an admin manages users", login=admin_login),
                          reason="role_missing")
        if action == "add":
            user = accounts.add_user(session, admin, signer, login, name, title, list(roles), roles_known,
                                     key_line, now, unit)
        elif action in ("grant", "revoke"):
            user = accounts.change_roles(session, admin, signer, login, list(roles), action == "grant",
                                         roles_known, now)
        elif action == "key":
            accounts.register_key(session, admin, signer, login, key_line or "", now)
            user = users.get(session, login)
        else:
            accounts.revoke_key(session, admin, signer, login, now)
            user = users.get(session, login)
        session.flush()
        return user_view(user, accounts.active_key(session, login))


def list_users(workspace: Workspace) -> list[UserView]:
    with workspace.db.read() as session:
        return [user_view(u, accounts.active_key(session, u.login)) for u in users.all_users(session)]


def definition_folders(workspace: Workspace | None) -> tuple[Path, Path]:
    """(definitions, templates) of the workspace, or the shipped ones when there is none."""
    if workspace is None:
        return shipped_dir("definitions"), shipped_dir("templates_docx")
    return workspace.definitions_dir, workspace.templates_dir


def definitions_in_use(workspace: Workspace | None) -> dict[str, Definition]:
    """The workspace's definitions, or the shipped ones when not inside a workspace."""
    return registry.load_all(*definition_folders(workspace))


def pick_definition(definitions: dict[str, Definition], workflow_id: str) -> Definition:
    if workflow_id not in definitions:
        raise NotFound(Msg("unknown workflow {name!r} (known: {known})", name=workflow_id,
                           known=", ".join(definitions)))
    return definitions[workflow_id]


def validate_files(workspace: Workspace | None, files: Sequence[str]) -> list[str]:
    """Check the given definition files, or (none given) the workspace's or the shipped ones."""
    if not files:
        folder, templates = definition_folders(workspace)
        registry.load_all(folder, templates)
        return [str(p) for p in registry.definition_files(folder)]
    problems: list[str] = []
    checked: list[str] = []
    for name in files:
        path = Path(name)
        templates = path.resolve().parent.parent / "templates_docx"
        try:
            load_file(path, templates if templates.is_dir() else None)
            checked.append(str(path))
        except DefinitionError as exc:
            problems.extend(exc.problems)
    if problems:
        raise DefinitionError(problems)
    return checked


def check_templates(workspace: Workspace | None, directory: str | None = None) -> list[dict[str, Any]]:
    """Compile the templates of a folder (default: the workspace's, else the shipped ones)
    against the definitions in use; raise BadInput, with the report, when any has a problem."""
    from workflow.documents.check import template_report

    folder = Path(directory) if directory else definition_folders(workspace)[1]
    report = template_report(definitions_in_use(workspace), folder)
    bad = [r for r in report if r["error"] or r["unknown"]]
    if bad:
        raise BadInput(f"{len(bad)} of {len(report)} templates have problems", report=report)
    return report

