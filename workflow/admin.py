"""Workspace administration behind the CLI: users, definition files, input files."""

from __future__ import annotations

import json
from pathlib import Path

from . import registry, users
from .definition import BUILTIN_ROLES, load_file
from .errors import BadInput, DefinitionError, NotFound


def known_roles(workspace) -> set:
    roles = set(BUILTIN_ROLES) - {"owner"}
    for definition in registry.load_all(workspace.definitions_dir, None).values():
        roles |= set(definition.roles)
    return roles


def bootstrap_admin(workspace, login: str) -> None:
    from .engine import Engine

    when = Engine(workspace).now().isoformat()
    with workspace.db.write() as session:
        users.add(session, login, login, "", ["admin"], {"admin"}, when)


def manage_users(app, action: str, login: str, roles: list, name: str = "", title: str = "") -> dict:
    from .engine import Engine

    workspace = app.workspace
    roles_known = known_roles(workspace)
    when = Engine(workspace).now().isoformat()
    with workspace.db.write() as session:
        users.require_admin(session, app.login)
        if action == "add":
            user = users.add(session, login, name, title, roles, roles_known, when)
        elif action == "grant":
            user = users.grant(session, login, roles, roles_known)
        else:
            user = users.revoke(session, login, roles)
        session.flush()
        return users.as_dict(user)


def list_users(workspace) -> list[dict]:
    with workspace.db.read() as session:
        return [users.as_dict(u) for u in users.all_users(session)]


def definitions_in_use(app) -> dict:
    """The workspace's definitions, or the shipped ones when not inside a workspace."""
    from .workspace import shipped_dir

    try:
        workspace = app.workspace
        return registry.load_all(workspace.definitions_dir, workspace.templates_dir)
    except NotFound:
        return registry.load_all(shipped_dir("definitions"), shipped_dir("templates_docx"))


def validate_files(app, files) -> list[str]:
    from .workspace import shipped_dir

    if not files:
        try:
            folder, templates = app.workspace.definitions_dir, app.workspace.templates_dir
        except NotFound:
            folder, templates = shipped_dir("definitions"), shipped_dir("templates_docx")
        registry.load_all(folder, templates)
        return [str(p) for p in registry.definition_files(folder)]
    problems, checked = [], []
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


def read_values(source: str) -> dict:
    """Field values from a .yaml or .json file (a mapping of field name to value)."""
    from . import yamlsrc

    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: cannot read: {exc}") from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        elif path.suffix.lower() in (".yaml", ".yml"):
            data = yamlsrc.load_plain(text)
        else:
            raise BadInput(f"{path}: --from takes a .yaml or .json file")
    except (json.JSONDecodeError, ValueError) as exc:
        raise BadInput(f"{path}: not valid {path.suffix[1:]}: {exc}") from None
    except Exception as exc:  # yaml errors
        raise BadInput(f"{path}: not valid YAML: {exc}".splitlines()[0]) from None
    if not isinstance(data, dict):
        raise BadInput(f"{path}: must hold a mapping of field names to values")
    return json.loads(json.dumps(data, default=str))
