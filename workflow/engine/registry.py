"""Definitions in use: the workspace's current files, and the stored versions items are pinned to."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.definition.loader import load_file, parse
from workflow.definition.model import Definition
from workflow.errors import DefinitionError, NotFound
from workflow.i18n import Msg
from workflow.store.orm import DefinitionVersion

if TYPE_CHECKING:
    from workflow.store.workspace import Workspace

_parsed_by_hash: dict[str, Definition] = {}


def definition_files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).glob("*.yaml") if p.is_file())


def load_all(folder: Path, templates_dir: Path | None) -> dict[str, Definition]:
    """Load and check every definition of a folder; all problems of all files are reported."""
    problems: list[str] = []
    found: dict[str, Definition] = {}
    for path in definition_files(folder):
        try:
            definition = load_file(path, templates_dir)
        except DefinitionError as exc:
            problems.extend(exc.problems)
            continue
        if path.stem != definition.id:
            problems.append(f"{path}:1: id {definition.id!r} does not match the file name {path.name}")
        elif definition.id in found:
            problems.append(f"{path}:1: duplicate id {definition.id!r}")
        found[definition.id] = definition
    if problems:
        raise DefinitionError(problems)
    return found


def current(workspace: Workspace, workflow_id: str) -> Definition:
    path = workspace.definitions_dir / f"{workflow_id}.yaml"
    if not path.is_file():
        known = ", ".join(p.stem for p in definition_files(workspace.definitions_dir))
        raise NotFound(Msg("unknown workflow {name!r} (known: {known})", name=workflow_id, known=known))
    definition = load_file(path, workspace.templates_dir)
    _parsed_by_hash.setdefault(definition.hash, definition)
    return definition


def store(session: Session, definition: Definition, when: str) -> None:
    if session.get(DefinitionVersion, definition.hash) is None:
        session.add(DefinitionVersion(hash=definition.hash, workflow_id=definition.id,
                                      title=definition.title, source=definition.source,
                                      filename=Path(definition.path).name, stored_at=when))


def cached(definition_hash: str) -> Definition | None:
    """A version this process has parsed already, or None."""
    return _parsed_by_hash.get(definition_hash)


def pinned(session: Session, definition_hash: str) -> Definition:
    """The definition version an item is pinned to, parsed from the database (cached)."""
    cached = _parsed_by_hash.get(definition_hash)
    if cached is not None:
        return cached
    row = session.get(DefinitionVersion, definition_hash)
    if row is None:
        raise NotFound(f"definition version {definition_hash[:12]} is missing from the database")
    definition = parse(row.source, row.filename, trusted=True)
    _parsed_by_hash[definition_hash] = definition
    return definition


def versions(session: Session, workflow_id: str) -> list[DefinitionVersion]:
    stmt = select(DefinitionVersion).where(DefinitionVersion.workflow_id == workflow_id)
    return list(session.scalars(stmt.order_by(DefinitionVersion.stored_at)))
