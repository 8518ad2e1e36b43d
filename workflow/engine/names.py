"""Names typed at the command line, resolved against the workspace's definitions (the rules are in
definition/names.py): a transition of an item, a workflow, a state to list; and item keys in any
case. An id passes through untouched, without reading anything: only a title costs a read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from sqlalchemy import select

from workflow import inputs
from workflow.definition import names
from workflow.definition.loader import load_file
from workflow.definition.model import Definition
from workflow.engine import prepare, registry
from workflow.errors import DefinitionError, NotFound
from workflow.i18n import Msg, Named
from workflow.store.orm import DefinitionVersion

if TYPE_CHECKING:
    from workflow.store.workspace import Workspace


def item_key(key: str) -> str:
    """An item key as stored, however it was typed: keys are PREFIX-YYYY-NNNN with an upper-case
    prefix (definition/model.py KEY_PREFIX_PATTERN), so `jh-2025-0001` is JH-2025-0001."""
    inputs.check_item_key(key)
    return key if key.isdigit() else key.upper()


def transition_id(workspace: Workspace, key: str, name: str) -> str:
    """The id of the transition `name` names for the item `key` (its pinned definition; of
    several with one title, those leaving its state). A name that names none is returned as it
    is: the engine refuses it (not_an_exit) listing the exits."""
    if names.looks_like_id(name):
        return name
    with workspace.db.read() as session:
        item = prepare.get_item(session, key)
        definition = registry.pinned(session, item.definition_hash)
        return names.transition(definition, name, item.state) or name


def transition_title(definition_hash: str, tr_id: str) -> str:
    """The title of a transition of a definition version this process has loaded (the id if not)."""
    definition = registry.cached(definition_hash)
    tr = definition.transitions.get(tr_id) if definition is not None else None
    return tr.title if tr is not None else tr_id


def workflow_id(workspace: Workspace, name: str, stored: bool = False) -> str | None:
    """The id of the workflow `name` names among the workspace's definition files (and, with
    `stored`, the versions items are pinned to); None if none."""
    if names.looks_like_id(name):
        return name
    titles = {d.id: d.title for d in _current(workspace)}
    if stored:
        with workspace.db.read() as session:
            for wf, title in session.execute(select(DefinitionVersion.workflow_id, DefinitionVersion.title)):
                titles.setdefault(wf, title)
    return names.workflow(titles, name)


def list_filter(workspace: Workspace, workflow: str | None, state: str | None) -> tuple[str | None, str | None]:
    """`list --workflow W --state S` as ids: each as an id or a title (definition/names.py
    state_filter); an unknown title is refused (not_found) listing the names one may give."""
    if workflow is not None and not names.looks_like_id(workflow):
        found = workflow_id(workspace, workflow, stored=True)
        if found is None:
            known = Named.listing(sorted({Named.of(d.id, d.title) for d in _definitions(workspace)}))
            raise NotFound(Msg("unknown workflow {name!r} (known: {known})", name=workflow, known=known))
        workflow = found
    if state is not None and not names.looks_like_id(state):
        everything = list(_definitions(workspace))
        pair = names.state_filter(everything, state, workflow)
        if pair is None:
            raise NotFound(Msg("no state is named {name!r} (states: {known})", name=state,
                               known=names.state_names(everything, workflow)))
        workflow, state = pair
    return workflow, state


def _current(workspace: Workspace) -> Iterator[Definition]:
    """The workspace's definition files that load (a broken one is reported where it is used)."""
    for path in registry.definition_files(workspace.definitions_dir):
        try:
            yield load_file(path, workspace.templates_dir)
        except DefinitionError:
            continue


def _definitions(workspace: Workspace) -> Iterator[Definition]:
    """The definition files and every version stored (items are pinned to them)."""
    yield from _current(workspace)
    with workspace.db.read() as session:
        hashes = list(session.scalars(select(DefinitionVersion.hash)))
        for found in hashes:
            yield registry.pinned(session, found)
